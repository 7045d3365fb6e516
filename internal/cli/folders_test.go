package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealPath_Item4_ResolvesLinksAlsoForPathsNotMadeYet: issue 10 item 4 compares folders by
// real path; realPath follows links anywhere in a path, including a link to a place that does not
// exist yet and "link/..", and reports a loop instead of hanging.
func TestRealPath_Item4_ResolvesLinksAlsoForPathsNotMadeYet(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(tmp, "x", "o"), 0o755))
	must(os.WriteFile(filepath.Join(tmp, "file"), nil, 0o600))
	must(os.Symlink(filepath.Join(tmp, "x", "o"), filepath.Join(tmp, "olink")))
	must(os.Symlink("x/o/not-yet", filepath.Join(tmp, "dangling")))
	must(os.Symlink("olink", filepath.Join(tmp, "chain")))
	must(os.Symlink("loop2", filepath.Join(tmp, "loop1")))
	must(os.Symlink("loop1", filepath.Join(tmp, "loop2")))
	cases := []struct{ path, want, wantErr string }{
		{tmp + "/x/o", tmp + "/x/o", ""},
		{tmp + "/olink/phi", tmp + "/x/o/phi", ""},
		{tmp + "/chain/a/b", tmp + "/x/o/a/b", ""},
		{tmp + "/dangling/phi", tmp + "/x/o/not-yet/phi", ""},
		{tmp + "/olink/../o/phi", tmp + "/x/o/phi", ""},
		{tmp + "/new/../x/./o//", tmp + "/x/o", ""},
		{tmp + "/loop1/phi", "", "too many levels of symbolic links"},
		{tmp + "/file/phi", "", "not a directory"},
	}
	for _, tc := range cases {
		got, err := realPath(tc.path)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("realPath(%s) = %q, %v; want an error containing %q", tc.path, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("realPath(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	t.Chdir(tmp)
	if got, err := realPath("olink/phi"); err != nil || got != tmp+"/x/o/phi" {
		t.Errorf("relative path: %q, %v", got, err)
	}
}

// TestConfig_Item15_AuthFlagsWithFolderInputOnlyWithFHIRURL: issue 10 item 15. Authentication
// flags with a folder INPUT serve nothing and are refused (22), unless --fhir-url names a server
// for them (to fetch what the folder's resources point at).
func TestConfig_Item15_AuthFlagsWithFolderInputOnlyWithFHIRURL(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	if err := os.Mkdir(in, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{in, filepath.Join(tmp, "out"), filepath.Join(tmp, "phi")}
	f := etlFlags{inputFormat: "ndjson", outputFormat: "ndjson", batchSize: 10}
	f.export.auth.BearerTokenFile = "token.txt"
	if _, err := f.config(args, false); exitCode(err) != ExitArgsConflict {
		t.Errorf("without --fhir-url: %v, want exit %d", err, ExitArgsConflict)
	}
	if _, err := f.config(args, true); err != nil {
		t.Errorf("with --fhir-url: %v", err)
	}
}

func exitCode(err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		return ExitGeneric
	}
	return ExitOK
}
