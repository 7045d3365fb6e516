package bulk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestIssue12JournalChecksumsOfEveryVersionAreVerified: downloads are journaled with CRC-32C,
// and a journal written by an earlier version (SHA-256) still verifies its files, so a rerun
// over an old folder downloads nothing again; an entry whose checksum does not match its file,
// or that names no checksum this version knows, has its file downloaded again.
func TestIssue12JournalChecksumsOfEveryVersionAreVerified(t *testing.T) {
	const damaged = "Condition.001.ndjson" // file 2 of sampleFiles
	cases := []struct {
		name    string
		rewrite func(e map[string]any, body []byte) // applied to damaged's entry
		again   int                                 // how many times file 2 is sent whole, in all
	}{
		{name: "CRC-32C, as downloads record it", rewrite: func(map[string]any, []byte) {}, again: 1},
		{name: "SHA-256, as earlier versions recorded it", again: 1, rewrite: func(e map[string]any, body []byte) {
			sum := sha256.Sum256(body)
			delete(e, "crc32c")
			e["sha256"] = hex.EncodeToString(sum[:])
		}},
		{name: "SHA-256 that does not match", again: 2, rewrite: func(e map[string]any, _ []byte) {
			delete(e, "crc32c")
			e["sha256"] = hex.EncodeToString(make([]byte, 32))
		}},
		{name: "CRC-32C that does not match", again: 2, rewrite: func(e map[string]any, _ []byte) { e["crc32c"] = "00000000" }},
		{name: "no checksum this version knows", again: 2, rewrite: func(e map[string]any, _ []byte) {
			delete(e, "crc32c")
			e["xxh3"] = "0123456789abcdef"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, opts := exportedSample(t)
			path := filepath.Join(stateDir(opts.Dir), "journal.jsonl")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			for _, line := range bytes.SplitAfter(b, []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				var e map[string]any
				if err := json.Unmarshal(line, &e); err != nil {
					t.Fatal(err)
				}
				if e["sha256"] != nil || len(e["crc32c"].(string)) != 8 {
					t.Fatalf("journal entry %s: want a CRC-32C of 8 hex digits and no SHA-256", line)
				}
				if e["file"] == damaged {
					tc.rewrite(e, sampleFiles()[2].Body)
				}
				line, _ = json.Marshal(e)
				out = append(append(out, line...), '\n')
			}
			if err := os.WriteFile(path, out, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Export(context.Background(), http.DefaultClient, opts); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			assertFiles(t, opts.Dir, sampleFiles())
			if srv.FullDownloads(2) != tc.again || srv.FullDownloads(0) != 1 {
				t.Errorf("file 2 sent %d times, file 0 %d times; want %d and 1", srv.FullDownloads(2), srv.FullDownloads(0), tc.again)
			}
		})
	}
}
