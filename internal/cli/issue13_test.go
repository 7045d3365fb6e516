package cli

import (
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cumulus-etl/internal/bulk/bulktest"
	"cumulus-etl/internal/fhir/fhirtest"
)

// referenceTypes are the resource types the SMART reference Bulk Data server has.
var referenceTypes = []string{"AllergyIntolerance", "CarePlan", "CareTeam", "Condition", "DiagnosticReport", "DocumentReference",
	"Encounter", "Group", "MedicationRequest", "Observation", "Organization", "Patient", "Practitioner", "Procedure"}

// referenceServer serves the sample export's files of the types the reference server has, and
// refuses a kick-off _type it lacks, as that server does.
func referenceServer(t *testing.T) *bulktest.Server {
	t.Helper()
	var files []bulktest.File
	for _, f := range sampleFiles(t) {
		if slices.Contains(referenceTypes, f.Type) || f.Kind != "output" {
			files = append(files, f)
		}
	}
	srv := bulktest.New(bulktest.Script{Files: files, ResourceTypes: referenceTypes})
	t.Cleanup(srv.Close)
	return srv
}

// TestIssue13Item3DefaultTypesTheServerLacksAreLeftOut: with default types, `export` and
// `cumulus-etl URL OUTPUT PHI` against a server lacking some of them export the others, name the
// left-out ones once, and exit 0.
func TestIssue13Item3DefaultTypesTheServerLacksAreLeftOut(t *testing.T) {
	srv := referenceServer(t)
	tmp := t.TempDir()
	code, _, stderr := runCLI(t, "export", srv.GroupURL(), filepath.Join(tmp, "export"))
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "The server does not have these resource types, so they are not exported: Device, EpisodeOfCare,"); n != 1 {
		t.Errorf("left-out types named %d times, want once:\n%s", n, stderr)
	}
	if kick := srv.KickoffBodies()[0]; strings.Contains(kick, "Device") || !strings.Contains(kick, "Patient") {
		t.Errorf("kick-off asked %s", kick)
	}
	out := filepath.Join(tmp, "out")
	if code, stdout, stderr := runCLI(t, srv.GroupURL(), out, filepath.Join(tmp, "phi"), "--quiet", "--output-format", "ndjson"); code != ExitOK {
		t.Fatalf("etl URL: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if rows := readLines(t, filepath.Join(out, "patient", "patient.000.ndjson")); len(rows) != 20 {
		t.Errorf("patient table has %d rows, want 20", len(rows))
	}
}

// TestIssue13Item3ExplicitTypeTheServerLacksIsAClearError: a type named with --type or --task
// that the server lacks stops the command before the kick-off (exit 36, as for a task without
// input), unless etl's --allow-missing-resources says to go on without it.
func TestIssue13Item3ExplicitTypeTheServerLacksIsAClearError(t *testing.T) {
	srv := referenceServer(t)
	tmp := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"export --type Device", []string{"export", srv.GroupURL(), filepath.Join(tmp, "e1"), "--type", "Device,Patient"}, ExitMissingRequestedResource},
		{"etl --task device", []string{srv.GroupURL(), filepath.Join(tmp, "o2"), filepath.Join(tmp, "p2"), "--task", "device,patient"}, ExitMissingRequestedResource},
		{"etl --task device --allow-missing-resources", []string{srv.GroupURL(), filepath.Join(tmp, "o3"), filepath.Join(tmp, "p3"), "--task", "device,patient", "--allow-missing-resources"}, ExitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Requests("kickoff")
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if tc.code != ExitOK && (srv.Requests("kickoff") != before || !strings.Contains(stderr, "the FHIR server has no Device")) {
				t.Errorf("kick-offs %d -> %d; message:\n%s", before, srv.Requests("kickoff"), stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(tmp, "e1")); !os.IsNotExist(err) {
		t.Errorf("the refused export left DIR behind: %v", err)
	}
}

// smartEHR is a fake EHR (TLS, a SMART token endpoint that verifies every assertion) whose bulk
// endpoints relay to files, the way an EHR's own export hands out files from a storage host; it
// returns the EHR and a --ca-file for it.
func smartEHR(t *testing.T, files *bulktest.Server, opts ...fhirtest.Option) (*fhirtest.Server, string) {
	t.Helper()
	ehr := fhirtest.NewServer(t, opts...)
	ehr.Handle("GET Group/G1/$export", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(files.GroupURL() + "/$export?" + r.URL.RawQuery)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			return
		}
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
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ehr.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return ehr, caFile
}

// TestIssue13Item3ReferenceLikeSMARTServerRunsWithDefaultTypes: the case the reference server
// showed: a SMART server that refuses a scope for any type it lacks (Binary first of all, which
// DocumentReference used to bring along) and lists its scopes in scopes_supported. `cumulus-etl
// URL OUTPUT PHI` with default tasks asks only for scopes it can grant and exits 0.
func TestIssue13Item3ReferenceLikeSMARTServerRunsWithDefaultTypes(t *testing.T) {
	var supported []string
	for _, form := range []string{".rs", ".read"} {
		supported = append(supported, "system/*"+form)
		for _, typ := range referenceTypes {
			supported = append(supported, "system/"+typ+form)
		}
	}
	ehr, caFile := smartEHR(t, referenceServer(t), fhirtest.WithResourceTypes(referenceTypes...),
		fhirtest.WithScopesSupported(supported...), fhirtest.WithStrictScopes())
	tmp := t.TempDir()
	code, stdout, stderr := runCLI(t, ehr.BaseURL+"Group/G1", filepath.Join(tmp, "out"), filepath.Join(tmp, "phi"),
		"--smart-client-id", fhirtest.ClientID, "--smart-key", ehr.KeyPath, "--ca-file", caFile)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	scopes := ehr.Scopes()
	if len(scopes) != 1 || strings.Contains(scopes[0], "Binary") || strings.Contains(scopes[0], "Device") || !strings.Contains(scopes[0], "system/Patient.read") {
		t.Errorf("scopes asked %q", scopes)
	}
}

// TestIssue13Item7RefusedTokenLeavesNoEmptyDir: when the token endpoint refuses the credentials,
// export exits 32 and leaves no DIR behind.
func TestIssue13Item7RefusedTokenLeavesNoEmptyDir(t *testing.T) {
	ehr, caFile := smartEHR(t, referenceServer(t))
	ehr.Fail("/auth/token", fhirtest.OAuthError(401, "invalid_client", "Client authentication failed", ""))
	dir := filepath.Join(t.TempDir(), "export")
	code, _, stderr := runCLI(t, "export", ehr.BaseURL+"Group/G1", dir, "--smart-client-id", fhirtest.ClientID, "--smart-key", ehr.KeyPath, "--ca-file", caFile)
	if code != ExitFHIRAuthFailed {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFHIRAuthFailed, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("DIR left behind: %v", err)
	}
}

// TestIssue13Item7ExpiredTokenGetsOneFreshTokenAndOneRetry: a kick-off answered 401 "Token
// expired" (the reference server's request_expired_token) is sent once more with a fresh token
// and the export finishes; when every token is refused, the export fails after that one retry
// with the server's reason (exit 32).
func TestIssue13Item7ExpiredTokenGetsOneFreshTokenAndOneRetry(t *testing.T) {
	for _, tc := range []struct {
		refused, code, tokens int
	}{{1, ExitOK, 2}, {-1, ExitFHIRAuthFailed, 2}} {
		ehr, caFile := smartEHR(t, referenceServer(t), fhirtest.WithRefusedTokens(tc.refused))
		dir := filepath.Join(t.TempDir(), "export")
		code, _, stderr := runCLI(t, "export", ehr.BaseURL+"Group/G1", dir, "--type", "Patient",
			"--smart-client-id", fhirtest.ClientID, "--smart-key", ehr.KeyPath, "--ca-file", caFile)
		if code != tc.code || ehr.TokenRequests() != tc.tokens || ehr.Requests("Group/G1/$export") != 2 {
			t.Errorf("refused %d: exit %d with %d tokens and %d kick-offs, want %d with %d and 2\n%s",
				tc.refused, code, ehr.TokenRequests(), ehr.Requests("Group/G1/$export"), tc.code, tc.tokens, stderr)
		}
		if tc.code != ExitOK && !strings.Contains(stderr, "Token expired") {
			t.Errorf("the server's reason is not shown:\n%s", stderr)
		}
	}
}
