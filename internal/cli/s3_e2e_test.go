package cli

import (
	"context"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/cli/clitest"
	"cumulus-etl/internal/etl"
	"cumulus-etl/internal/input/inputtest"
	"cumulus-etl/internal/store"
	"cumulus-etl/internal/store/s3test"
	"cumulus-etl/internal/synth"
)

// Issue 8: the ETL on a real S3 server (versitygw), run as the built binary.

func openStore(t *testing.T, location string) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), location, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// upload copies the local folder dir into s.
func upload(t *testing.T, dir string, s store.Store) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return store.WriteFile(context.Background(), s, filepath.ToSlash(rel), data, store.CreateOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// download copies every object of s into the local folder dir.
func download(t *testing.T, s store.Store, dir string) {
	t.Helper()
	ctx := context.Background()
	err := s.List(ctx, "", func(i store.Info) error {
		r, err := s.Open(ctx, i.Name)
		if err != nil {
			return err
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(i.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tablesOf reads every table of OUTPUT (local or S3) as ReadRows sees it: sorted rows by table.
// etl__completion rows carry the run's time, so only their table names are kept.
func tablesOf(t *testing.T, s store.Store) map[string][]string { return tablesAs(t, "ndjson", s) }

// tablesAs is tablesOf for OUTPUT written in the named output format.
func tablesAs(t *testing.T, format string, s store.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	names := map[string]bool{}
	s.List(ctx, "", func(i store.Info) error {
		if dir, _, ok := strings.Cut(i.Name, "/"); ok && !strings.HasPrefix(dir, ".") && dir != "JobConfig" {
			names[dir] = true
		}
		return nil
	})
	return rowsOf(t, formatFor(t, format, s), slices.Sorted(maps.Keys(names)))
}

func sameTables(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d tables, want %d", what, len(got), len(want))
	}
	for name, rows := range want {
		if !slices.Equal(got[name], rows) {
			t.Errorf("%s: table %s differs (%d rows, want %d)", what, name, len(got[name]), len(rows))
		}
	}
}

// TestS3_ETLFromS3InputEqualsLocalRun_RerunReusesCodebook_NoPlantedPHI: INPUT, OUTPUT and PHI all
// on S3. The tables equal a local run's with the same codebook; a rerun keeps the S3 codebook and
// gives the same tables; no planted PHI string reaches the S3 OUTPUT.
func TestS3_ETLFromS3InputEqualsLocalRun_RerunReusesCodebook_NoPlantedPHI(t *testing.T) {
	srv := s3test.Shared(t)
	srv.Setenv(t)
	bucket := "s3://" + srv.Bucket(t)
	sample := inputtest.SampleExport(t)
	upload(t, sample, openStore(t, bucket+"/in"))

	r := clitest.Run(t, "", bucket+"/in", bucket+"/out", bucket+"/phi", "--output-format", "ndjson")
	if r.Code != 0 {
		t.Fatalf("ETL on S3 exited %d:\n%s", r.Code, r.Stderr)
	}
	s3out, s3phi := openStore(t, bucket+"/out"), openStore(t, bucket+"/phi")
	onS3 := tablesOf(t, s3out)
	if len(onS3["patient"]) == 0 || len(onS3["etl__completion"]) == 0 {
		t.Fatalf("tables missing on S3: %d tables", len(onS3))
	}

	local := t.TempDir()
	download(t, s3phi, filepath.Join(local, "phi"))
	if r := clitest.Run(t, "", sample, filepath.Join(local, "out"), filepath.Join(local, "phi"), "--output-format", "ndjson"); r.Code != 0 {
		t.Fatalf("local run exited %d:\n%s", r.Code, r.Stderr)
	}
	sameTables(t, "S3 run vs local run", onS3, tablesOf(t, store.NewLocal(filepath.Join(local, "out"), store.Options{})))

	codebook, err := store.ReadFile(context.Background(), s3phi, "codebook.json", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r := clitest.Run(t, "", bucket+"/in", bucket+"/out", bucket+"/phi", "--output-format", "ndjson"); r.Code != 0 {
		t.Fatalf("rerun exited %d:\n%s", r.Code, r.Stderr)
	}
	again, _ := store.ReadFile(context.Background(), s3phi, "codebook.json", 1<<20)
	if string(again) != string(codebook) {
		t.Error("the rerun changed the S3 codebook")
	}
	rerun := tablesOf(t, s3out)
	if got := len(rerun["etl__completion"]); got != 2*len(onS3["etl__completion"]) {
		t.Errorf("etl__completion has %d rows after two runs, want %d", got, 2*len(onS3["etl__completion"]))
	}
	delete(rerun, "etl__completion")
	delete(onS3, "etl__completion")
	sameTables(t, "rerun vs first run", rerun, onS3)

	downloaded := filepath.Join(local, "s3-out")
	download(t, s3out, downloaded)
	assertNoHits(t, downloaded, readLines(t, filepath.Join(inputtest.RepoRoot(t), "sample", "planted-phi.txt")))
}

// TestS3_ServerStoppedMidRun_TablesStayReadable_RerunCompletes: the S3 server dies in the middle
// of a run and comes back: the run fails, every table still reads as a whole (the previous
// version), and the next run takes over the dead run's locks and completes.
func TestS3_ServerStoppedMidRun_TablesStayReadable_RerunCompletes(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	if _, err := synth.Scale(inputtest.SampleExport(t), in, 6, synth.ScaleOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, format := range etl.OutputFormats {
		t.Run(format, func(t *testing.T) { serverStoppedMidRun(t, in, format) })
	}
}

func serverStoppedMidRun(t *testing.T, in, format string) {
	srv := s3test.Start(t)
	srv.Setenv(t)
	t.Setenv("AWS_MAX_ATTEMPTS", "2") // fail fast while the server is down
	bucket := "s3://" + srv.Bucket(t)
	args := []string{in, bucket + "/out", bucket + "/phi", "--output-format", format}
	began := time.Now()
	if r := clitest.Run(t, "", args...); r.Code != 0 {
		t.Fatalf("first run exited %d:\n%s", r.Code, r.Stderr)
	}
	took := time.Since(began)
	out := openStore(t, bucket+"/out")
	before := tablesAs(t, format, out)
	if len(before["observation"]) == 0 {
		t.Fatal("no observation rows after the first run")
	}

	jobs := countObjects(t, out, "JobConfig")
	cmd := exec.Command(clitest.Binary(t), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stop the server once the run has started its job (its tables come next), a little later.
	for deadline := time.Now().Add(took); countObjects(t, out, "JobConfig") == jobs && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(took / 8)
	srv.Stop()
	if err := cmd.Wait(); err == nil {
		t.Log("the run finished before the server stopped; the rest still checks recovery")
	}
	srv.Restart(t)
	during := tablesAs(t, format, out)
	for name, rows := range before {
		if name == "etl__completion" {
			continue // a log: it may hold the failed run's rows for the tables it finished
		}
		if !slices.Equal(during[name], rows) {
			t.Errorf("after the outage table %s reads %d rows, want the whole previous %d", name, len(during[name]), len(rows))
		}
	}
	if r := clitest.Run(t, "", args...); r.Code != 0 {
		t.Fatalf("rerun after the outage exited %d:\n%s", r.Code, r.Stderr)
	}
	after := tablesAs(t, format, out)
	delete(after, "etl__completion")
	delete(before, "etl__completion")
	sameTables(t, "after the rerun", after, before)
}

// countObjects counts the objects under dir of s.
func countObjects(t *testing.T, s store.Store, dir string) int {
	t.Helper()
	n := 0
	if err := s.List(context.Background(), dir, func(store.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestS3_TwoRunsCannotBothWrite: a run whose S3 table another live run holds exits 60 naming it;
// two runs started together with --lock-wait take turns and both finish, with one codebook.
func TestS3_TwoRunsCannotBothWrite(t *testing.T) {
	srv := s3test.Shared(t)
	srv.Setenv(t)
	bucket := "s3://" + srv.Bucket(t)
	sample := inputtest.SampleExport(t)
	ctx := context.Background()
	held, err := store.Acquire(ctx, openStore(t, bucket+"/out"), "table-patient", store.LockOptions{Purpose: "etl: writing table patient"})
	if err != nil {
		t.Fatal(err)
	}
	r := clitest.Run(t, "", sample, bucket+"/out", bucket+"/phi", "--task", "patient")
	held.Release(ctx)
	if r.Code != ExitLocked || !strings.Contains(r.Stderr, "table patient") || !strings.Contains(r.Stderr, bucket+"/out/.cumulus-etl/locks/table-patient") {
		t.Fatalf("exit %d, want %d naming the holder and the lock:\n%s", r.Code, ExitLocked, r.Stderr)
	}

	done := make(chan clitest.Result, 2)
	for range 2 {
		go func() {
			done <- clitest.Run(t, "", sample, bucket+"/out", bucket+"/phi", "--task", "patient,condition", "--lock-wait", "5m")
		}()
	}
	for range 2 {
		if r := <-done; r.Code != 0 {
			t.Errorf("a run exited %d:\n%s", r.Code, r.Stderr)
		}
	}
	jobs := map[string]bool{}
	openStore(t, bucket+"/out").List(ctx, "JobConfig", func(i store.Info) error {
		if strings.HasSuffix(i.Name, "/job_config.json") {
			data, _ := store.ReadFile(ctx, openStore(t, bucket+"/out"), i.Name, 1<<20)
			id := strings.Split(strings.Split(string(data), `"codebook_id": "`)[1], `"`)[0]
			jobs[id] = true
		}
		return nil
	})
	if len(jobs) != 1 {
		t.Errorf("jobs used %d codebooks, want 1", len(jobs))
	}
}

// TestS3_RefusedCredentials_Exit63WithoutTheSecret: a wrong secret key is refused by the server;
// the run exits 63 and prints neither the secret nor a signature.
func TestS3_RefusedCredentials_Exit63WithoutTheSecret(t *testing.T) {
	srv := s3test.Shared(t)
	srv.Setenv(t)
	bucket := "s3://" + srv.Bucket(t)
	const secret = "not-the-secret-Zq81vK"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	r := clitest.Run(t, "", inputtest.SampleExport(t), bucket+"/out", bucket+"/phi", "--task", "patient")
	if r.Code != ExitStorageFailed {
		t.Fatalf("exit %d, want %d:\n%s", r.Code, ExitStorageFailed, r.Stderr)
	}
	for _, leak := range []string{secret, "Signature=", "X-Amz-Signature", "Credential="} {
		if strings.Contains(r.Stdout+r.Stderr, leak) {
			t.Errorf("the output holds %q:\n%s", leak, r.Stderr)
		}
	}
	if !strings.Contains(r.Stderr, bucket+"/phi") {
		t.Errorf("the message does not name the location:\n%s", r.Stderr)
	}
}
