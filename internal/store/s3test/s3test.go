// Package s3test gives tests a real S3-compatible server: versitygw (posix backend) on a free
// 127.0.0.1 port. .ci/run builds it, starts one and exports where it is; a developer's machine
// without it skips these tests with a message saying how to get it.
//
// Environment:
//   - CUMULUS_TEST_S3_ENDPOINT: a running server (http://127.0.0.1:PORT) whose keys are
//     AccessKey and SecretKey (as .ci/run starts it); Shared uses it.
//   - CUMULUS_TEST_VERSITYGW: the versitygw binary, for tests that start servers of their own
//     (Start) and, without CUMULUS_TEST_S3_ENDPOINT, for Shared. Else versitygw on PATH or in
//     $(go env GOPATH)/bin is used.
package s3test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"cumulus-etl/internal/scratch"
)

// The keys of the test servers.
const (
	AccessKey = "cumulustest"
	SecretKey = "cumulustestsecret"
)

// Server is a running S3-compatible server.
type Server struct {
	URL  string
	bin  string // "" for the server .ci/run started
	dir  string
	addr string
	cmd  *exec.Cmd
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the server of this test process (started once), skipping the test when there is
// none; in CI (CI set) a missing server fails the test instead.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		if url := os.Getenv("CUMULUS_TEST_S3_ENDPOINT"); url != "" {
			shared.srv = &Server{URL: url}
			return
		}
		bin := binary()
		if bin == "" {
			return
		}
		// A scratch folder: outlives this test process (nothing ends it), so the next test process
		// on the machine removes it once this one is gone.
		dir, err := scratch.New("")
		if err != nil {
			shared.err = err
			return
		}
		shared.srv, shared.err = start(bin, dir.Path())
	})
	if shared.err != nil {
		t.Fatalf("starting versitygw: %v", shared.err)
	}
	if shared.srv == nil {
		skip(t)
	}
	return shared.srv
}

// Start starts a server of the test's own, stopped at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary()
	if bin == "" {
		skip(t)
	}
	srv, err := start(bin, t.TempDir())
	if err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func skip(t testing.TB) {
	t.Helper()
	msg := "no S3 server for this test: set CUMULUS_TEST_S3_ENDPOINT or CUMULUS_TEST_VERSITYGW, or install versitygw " +
		"(go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; .ci/run does)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// binary finds the versitygw binary, or "".
func binary() string {
	if b := os.Getenv("CUMULUS_TEST_VERSITYGW"); b != "" {
		return b
	}
	if b, err := exec.LookPath("versitygw"); err == nil {
		return b
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	if b := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "versitygw"); fileExists(b) {
		return b
	}
	return ""
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

func start(bin, dir string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{URL: "http://" + addr, bin: bin, dir: dir, addr: addr}
	return s, s.run()
}

// run starts the server process and waits until it answers.
func (s *Server) run() error {
	cmd := exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--port", s.addr, "--quiet", "posix", s.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test binary
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return nil
		}
	}
	s.Stop()
	return fmt.Errorf("versitygw did not answer on %s", s.addr)
}

// Stop kills the server (as a crash or an outage would); its data stays for Restart.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts a stopped server again on the same port, with the same data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatalf("restarting versitygw: %v", err)
	}
}

var buckets atomic.Int64

// Bucket creates a new empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, buckets.Add(1))
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	return name
}

// Env returns the variables that point the AWS SDK (in this process or a child) at the server,
// and away from any real AWS configuration of the machine.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.URL,
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Setenv sets Env for the rest of the test (not for parallel tests).
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
