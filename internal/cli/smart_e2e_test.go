package cli

import (
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
	ehr, caFile := smartEHR(t, files, fhirtest.WithPublicJWKS(publicJWKS))
	clientIDFile := filepath.Join(tmp, "client-id")
	os.WriteFile(clientIDFile, []byte("\n"+fhirtest.ClientID+"\n"), 0o600)

	out := filepath.Join(tmp, "out")
	code, stdout, stderr := runCLI(t, ehr.BaseURL+"Group/G1", out, filepath.Join(tmp, "phi"),
		"--smart-client-id", clientIDFile, "--smart-key", priv, "--ca-file", caFile, "--quiet", "--output-format", "ndjson")
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
