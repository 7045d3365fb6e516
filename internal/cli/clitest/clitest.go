// Package clitest builds the cumulus-etl binary once per test process and runs it as a user
// would, for end-to-end tests of exit codes, messages and files.
package clitest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"cumulus-etl/internal/input/inputtest"
)

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Binary returns the path of a cumulus-etl binary built from this module's ./cmd/cumulus-etl,
// building it on first use. The binary outlives the test (it sits in a temporary folder of its
// own), so every test in the process shares one build.
func Binary(tb testing.TB) string {
	tb.Helper()
	root := inputtest.RepoRoot(tb)
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "cumulus-etl-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "cumulus-etl")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/cumulus-etl")
		cmd.Dir = root
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		tb.Fatalf("building cumulus-etl: %v\n%s", build.err, build.out)
	}
	return build.path
}

// Result is what one run of the binary did.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs the binary with args in dir ("" for the test's working folder) and returns its exit
// code and output. It fails the test only when the binary cannot be started.
func Run(tb testing.TB, dir string, args ...string) Result {
	tb.Helper()
	cmd := exec.Command(Binary(tb), args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		tb.Fatalf("running cumulus-etl: %v", err)
	}
	return Result{Code: cmd.ProcessState.ExitCode(), Stdout: out.String(), Stderr: errOut.String()}
}
