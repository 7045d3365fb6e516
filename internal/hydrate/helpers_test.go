package hydrate_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
	"cumulus-etl/internal/hydrate"
)

// setup starts a fake FHIR server and connects a client to it.
func setup(t *testing.T) (*fhirtest.Server, *fhir.Client) {
	t.Helper()
	s := fhirtest.NewServer(t)
	c, err := fhir.New(context.Background(), s.Options("Binary", "Medication"))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// writeFile writes lines as an ndjson file in dir.
func writeFile(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// docRef is a DocumentReference line with one attachment.
func docRef(id, status, attachment string) string {
	return `{"resourceType":"DocumentReference","id":"` + id + `","status":"` + status +
		`","content":[{"attachment":` + attachment + `}]}`
}

// run inlines dir with default options against the server.
func run(t *testing.T, s *fhirtest.Server, c hydrate.Doer, dir string, mod func(*hydrate.Options), tasks ...string) *hydrate.Report {
	t.Helper()
	opts := hydrate.Options{Dir: dir, Client: c, Base: s.BaseURL, MaxConcurrency: 4}
	if mod != nil {
		mod(&opts)
	}
	rep, err := hydrate.Run(context.Background(), opts, tasks)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// lines returns the lines of an ndjson file.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// attachmentOf returns the first attachment of a DocumentReference line.
func attachmentOf(line string) gjson.Result { return gjson.Get(line, "content.0.attachment") }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
