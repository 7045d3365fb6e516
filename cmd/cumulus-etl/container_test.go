package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"cumulus-etl/internal/input/inputtest"
)

// Issue 8 item 5: the container. No Docker engine runs here, so these tests check what can be
// checked without one: the files' shape, and that the Dockerfile's build command makes a static
// binary that runs on an empty base image (no dynamic loader, no libc).

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(inputtest.RepoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestDockerfile_MultiStageStaticNonRoot(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 || froms[len(froms)-1][1] != "scratch" {
		t.Errorf("want a multi-stage build ending on an empty base (scratch), got %v", froms)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1][1], "0") || strings.HasPrefix(users[len(users)-1][1], "root") {
		t.Errorf("the final stage must run as a non-root user, got %v", users)
	}
	for _, want := range []string{"CGO_ENABLED=0 go build", "./cmd/cumulus-etl", `ENTRYPOINT ["/usr/local/bin/cumulus-etl"]`, "ca-certificates.crt", "chmod 1777 /out/tmp"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestCompose_ServiceRunsTheImageWithAWSCredentialsPassedThrough(t *testing.T) {
	c := readRepoFile(t, "compose.yaml")
	for _, want := range []string{"services:\n  cumulus-etl:\n", "    build: .\n", "      - AWS_ACCESS_KEY_ID\n",
		"      - AWS_SECRET_ACCESS_KEY\n", "      - AWS_SESSION_TOKEN\n", "      - AWS_PROFILE\n", "      - AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\n"} {
		if !strings.Contains(c, want) {
			t.Errorf("compose.yaml lacks %q", want)
		}
	}
	if strings.Contains(c, "\t") {
		t.Error("compose.yaml holds a tab, which YAML does not allow for indentation")
	}
}

// TestDockerfileBuild_MakesAStaticBinary runs the Dockerfile's build command here (without its
// -trimpath, which only changes file names in the binary and would rebuild every dependency).
func TestDockerfileBuild_MakesAStaticBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cumulus-etl")
	cmd := exec.Command("go", "build", "-ldflags", "-s -w -X cumulus-etl/internal/cli.Version=container", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF system: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: it would not run on an empty base image")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v", libs)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "container") {
		t.Errorf("--version: %v, %s", err, out)
	}
}
