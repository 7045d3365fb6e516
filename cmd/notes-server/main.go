// Command notes-server is a local FHIR server for benchmarks of note downloads: it writes an
// export folder whose DocumentReferences link to synthetic notes, serves those notes at
// /fhir/Binary/{id} over plain HTTP on loopback (which cumulus-etl accepts there), and runs until
// it is killed. The first line it prints is the FHIR base URL.
//
//	go run ./cmd/notes-server -dir /tmp/notes -notes 10000 -size 5120
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "notes-server:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("notes-server", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder to write DocumentReference.000.ndjson into (created)")
	n := fs.Int("notes", 10000, "number of notes")
	size := fs.Int("size", 5120, "bytes per note")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := writeExport(*dir, *n); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "http://%s/fhir/\n", ln.Addr())
	return http.Serve(ln, handler(*n, *size))
}

// writeExport writes n DocumentReferences, each linking to Binary/n<i>.
func writeExport(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "DocumentReference.000.ndjson"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"resourceType":"DocumentReference","id":"d%d","status":"current","subject":{"reference":"Patient/p%d"},`+
			`"type":{"text":"Progress note"},"content":[{"attachment":{"contentType":"text/plain","url":"Binary/n%d"}}]}`+"\n", i, i%500, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// handler serves note i as size bytes of text that name it, and a minimal CapabilityStatement.
func handler(n, size int) http.Handler {
	line := "Patient seen for follow-up. Vitals stable. Plan: continue current medications. "
	body := []byte(strings.Repeat(line, size/len(line)+1)[:size])
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/metadata", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","software":{"name":"notes-server"}}`)
	})
	mux.HandleFunc("GET /fhir/Binary/{id}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.PathValue("id"), "n"))
		if err != nil || i < 0 || i >= n {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	return mux
}
