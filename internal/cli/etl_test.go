package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/phitest"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestETL_Synthea60_NoPHIInOutput(t *testing.T) {
	in := inputtest.Synthea60(t)
	tmp := t.TempDir()
	out, phiDir := filepath.Join(tmp, "out"), filepath.Join(tmp, "phi")
	code, stdout, stderr := runCLI(t, in, out, phiDir, "--export-group", "synthea", "--export-timestamp", "2024-01-01T00:00:00Z", "--output-format", "ndjson")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, table := range []string{"patient", "encounter", "observation", "condition", "etl__completion"} {
		if files, _ := filepath.Glob(filepath.Join(out, table, table+".000.ndjson")); len(files) != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	if !strings.Contains(stdout, "Claim") || !strings.Contains(stdout, "ExplanationOfBenefit") {
		t.Errorf("types without a task are not reported:\n%s", stdout)
	}

	phi := phitest.NewCollection()
	files, _ := filepath.Glob(filepath.Join(in, "*.ndjson.gz"))
	for _, f := range files {
		if err := phi.AddFile(f); err != nil {
			t.Fatal(err)
		}
	}
	needles := phi.Needles()
	if len(needles) < 500 {
		t.Fatalf("only %d PHI strings found in the input: the collector is broken", len(needles))
	}
	assertNoHits(t, out, needles)
	t.Logf("checked %d PHI strings from the input", len(needles))
}

func TestETL_GeneratedSample_NoPlantedPHIInOutput(t *testing.T) {
	root := inputtest.RepoRoot(t)
	tmp := t.TempDir()
	out, phi := filepath.Join(tmp, "out"), filepath.Join(tmp, "phi")
	code, stdout, stderr := runCLI(t, inputtest.SampleExport(t), out, phi, "--output-format", "ndjson")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	needles := readLines(t, filepath.Join(root, "sample", "planted-phi.txt"))
	if len(needles) < 50 {
		t.Fatalf("only %d planted PHI strings", len(needles))
	}
	assertNoHits(t, out, needles)
	for _, table := range []string{"patient", "documentreference", "condition"} {
		if files, _ := filepath.Glob(filepath.Join(out, table, "*.ndjson")); len(files) == 0 {
			t.Errorf("table %s missing", table)
		}
	}
}

func assertNoHits(t *testing.T, dir string, needles []string) {
	t.Helper()
	hits, err := phitest.Scan(dir, needles)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hits {
		if i == 20 {
			t.Errorf("... and %d more", len(hits)-20)
			break
		}
		t.Errorf("PHI %q found in %s", h.Needle, h.File)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func TestETL_ExitCodes(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "Condition.ndjson"), []byte(`{"resourceType":"Condition","id":"1"}`+"\n"+`not json`+"\n"), 0o644)
	withTime := []string{"--export-group", "g", "--export-timestamp", "2024-01-01"}
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"rejected rows exit 19", append([]string{in, tmp + "/o1", tmp + "/p1"}, withTime...), ExitTaskFailed},
		{"unknown task exit 17", append([]string{in, tmp + "/o2", tmp + "/p2", "--task", "nope"}, withTime...), ExitTaskUnknown},
		{"no export group or time exit 34", []string{in, tmp + "/o3", tmp + "/p3"}, ExitCompletionArgsMissing},
		{"requested resource missing exit 36", append([]string{in, tmp + "/o4", tmp + "/p4", "--task", "patient"}, withTime...), ExitMissingRequestedResource},
		{"bad batch size exit 23", append([]string{in, tmp + "/o5", tmp + "/p5", "--batch-size", "0"}, withTime...), ExitArgsInvalid},
		{"PHI folder inside OUTPUT exit 22", append([]string{in, tmp + "/o7", tmp + "/o7/phi"}, withTime...), ExitArgsConflict},
		{"PHI folder is OUTPUT exit 22", append([]string{in, tmp + "/o8", tmp + "/o8"}, withTime...), ExitArgsConflict},
		{"--errors-to inside OUTPUT exit 22", append([]string{in, tmp + "/o9", tmp + "/p9", "--errors-to", tmp + "/o9/err"}, withTime...), ExitArgsConflict},
		{"gs OUTPUT is not supported exit 23", append([]string{in, "gs://bucket/out", tmp + "/p10"}, withTime...), ExitArgsInvalid},
		{"PHI inside an s3 OUTPUT exit 22", append([]string{in, "s3://bucket/out", "s3://bucket/out/phi"}, withTime...), ExitArgsConflict},
		{"task help exit 0", []string{in, tmp + "/o6", tmp + "/p6", "--task", "help"}, ExitOK},
		{"wrong argument count exit 2", []string{in}, ExitUsage},
		{"no arguments exit 2", nil, ExitUsage},
		{"--task help alone exit 0", []string{"--task", "help"}, ExitOK},
		{"export --task help alone exit 0", []string{"export", "--task", "help"}, ExitOK},
		{"OUTPUT inside INPUT exit 22", append([]string{in, in + "/out", tmp + "/p11"}, withTime...), ExitArgsConflict},
		{"negative --workers exit 23", append([]string{in, tmp + "/o12", tmp + "/p12", "--workers", "-3"}, withTime...), ExitArgsInvalid},
		{"unknown flag exit 2", []string{in, "o", "p", "--nope"}, ExitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, stdout, stderr := runCLI(t, tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
		})
	}
}

func TestETL_DefaultSubcommand(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"in", "out", "phi"}, "etl in out phi"},
		{[]string{"--task", "patient", "in", "out", "phi"}, "etl --task patient in out phi"},
		{[]string{"etl", "in", "out", "phi"}, "etl in out phi"},
		{[]string{"--help"}, "--help"},
		{[]string{"help"}, "help"},
		{[]string{"--task", "help"}, "etl --task help"},
	}
	for _, tc := range cases {
		if got := strings.Join(withDefaultSubcommand(newRoot(nil, nil), tc.args), " "); got != tc.want {
			t.Errorf("withDefaultSubcommand(%v) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestHelp_ListsEveryFlagInItsSection(t *testing.T) {
	for _, sub := range []string{"etl", "export"} {
		code, stdout, _ := runCLI(t, sub, "--help")
		if code != ExitOK {
			t.Fatalf("%s --help: exit %d", sub, code)
		}
		for _, want := range []string{"Authentication with the FHIR server:", "--smart-client-id", "--since", "--ca-file"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s --help lacks %q", sub, want)
			}
		}
		if strings.Contains(stdout, "[flags]") {
			t.Errorf("%s --help usage line says [flags] besides [OPTION]...", sub)
		}
	}
}
