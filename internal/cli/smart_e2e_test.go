package cli

import (
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestETL_SMARTBackendServicesEndToEnd runs the whole product as a user would: keygen makes a key,
// the public half is registered with a fake EHR (TLS with its own CA, SMART token endpoint that
// verifies every assertion), and `cumulus-etl URL OUTPUT PHI` with --smart-client-id,
// --smart-key and --ca-file exports and de-identifies. The EHR's FHIR routes (kick-off, status)
// demand a valid token; the files sit on another host, as signed storage URLs do (AU-10, AU-30,
// KO-09, DL-04, GO-08).
func TestETL_SMARTBackendServicesEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	priv, pub := filepath.Join(tmp, "private.jwks"), filepath.Join(tmp, "public.jwks")
	if code, out, errOut := runCLI(t, "keygen", "--out-private", priv, "--out-public", pub); code != ExitOK {
		t.Fatalf("keygen: exit %d\n%s\n%s", code, out, errOut)
	}
	publicJWKS, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	files := bulktest.New(bulktest.Script{Files: sampleFiles(t)})
	defer files.Close()
	ehr := fhirtest.NewServer(t, fhirtest.WithPublicJWKS(publicJWKS))
	// The EHR's bulk endpoints relay to the file host's export, whose manifest lists its own URLs.
	ehr.Handle("GET Group/G1/$export", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(files.GroupURL() + "/$export?" + r.URL.RawQuery)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		w.Header().Set("Content-Location", ehr.BaseURL+"export-status")
		w.WriteHeader(http.StatusAccepted)
	})
	ehr.Handle("GET export-status", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(files.URL + "/status")
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	ehr.Handle("DELETE export-status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	caFile := filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ehr.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	clientIDFile := filepath.Join(tmp, "client-id")
	os.WriteFile(clientIDFile, []byte("\n"+fhirtest.ClientID+"\n"), 0o600)

	out := filepath.Join(tmp, "out")
	code, stdout, stderr := runCLI(t, ehr.BaseURL+"Group/G1", out, filepath.Join(tmp, "phi"),
		"--smart-client-id", clientIDFile, "--smart-key", priv, "--ca-file", caFile, "--quiet")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if ehr.TokenRequests() == 0 || ehr.Requests("export-status") == 0 {
		t.Errorf("token requests %d, status polls %d", ehr.TokenRequests(), ehr.Requests("export-status"))
	}
	if rows := readLines(t, filepath.Join(out, "patient", "patient.000.ndjson")); len(rows) != 20 {
		t.Errorf("patient table has %d rows, want 20", len(rows))
	}
	keyBytes, _ := os.ReadFile(priv)
	for _, secret := range []string{string(keyBytes), `"d":`} {
		if strings.Contains(stdout+stderr, secret) {
			t.Error("key material in the output")
		}
	}
}
