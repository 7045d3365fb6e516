package deid

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fixedRandom is a deterministic randomness source for tests.
func fixedRandom() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0xab}, 1024)) }

func mustParse(t testing.TB, data string) *Codebook {
	t.Helper()
	cb, err := ParseCodebook([]byte(data), fixedRandom())
	if err != nil {
		t.Fatalf("ParseCodebook: %v", err)
	}
	return cb
}

func TestFakeIDMatchesCumulusHMACVectors(t *testing.T) {
	tests := []struct {
		name, salt, resourceType, id, want string
	}{
		{"salt bytes 1234, id 1", "31323334", "Condition", "1", "ee1b8555df1476e7512bc31940148a7821edae6e152e92037e6e8d7e948800a4"},
		{"salt 1234, patient", "1234", "Patient", "testPatient1", "4342abf315cf6f243e11f4d460303e36c6c3663a25c91cc6b1a8002476c850dd"},
		{"salt 1234, contained p12", "1234", "", "p12", "221044b59936243b79da55c551b0c60ec7278733dde4acf65f83468cbd64bd0f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := mustParse(t, `{"version":1,"id_salt":"`+tt.salt+`","codebook_id":"x"}`)
			if got := cb.FakeID(tt.resourceType, tt.id); got != tt.want {
				t.Errorf("FakeID = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFakeIDLegacyMappingWinsForPatientAndEncounterOnly(t *testing.T) {
	cb := mustParse(t, `{"version":1,"id_salt":"1234","codebook_id":"x",
		"Patient":{"p1":"fake-p1"},"Encounter":{"e1":"fake-e1"}}`)
	tests := []struct{ rt, id, want string }{
		{"Patient", "p1", "fake-p1"},
		{"Encounter", "e1", "fake-e1"},
		{"Condition", "p1", cb.FakeID("", "p1")},
		{"Patient", "other", cb.FakeID("", "other")},
	}
	for _, tt := range tests {
		if got := cb.FakeID(tt.rt, tt.id); got != tt.want {
			t.Errorf("FakeID(%s, %s) = %s, want %s", tt.rt, tt.id, got, tt.want)
		}
	}
	if cb.Modified() {
		t.Error("a complete version 1 codebook must not report Modified")
	}
}

func TestFakeIDIsSafeForConcurrentUse(t *testing.T) {
	cb := mustParse(t, `{"version":1,"id_salt":"1234","codebook_id":"x"}`)
	want := "4342abf315cf6f243e11f4d460303e36c6c3663a25c91cc6b1a8002476c850dd"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if got := cb.FakeID("Patient", "testPatient1"); got != want {
					t.Errorf("concurrent FakeID = %s", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewCodebookHasRandomSaltAndUUID(t *testing.T) {
	cb, err := NewCodebook(fixedRandom())
	if err != nil {
		t.Fatal(err)
	}
	out, err := cb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version": 1, "id_salt": "` + strings.Repeat("ab", 32) + `", "codebook_id": "abababab-abab-4bab-abab-abababababab"}`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
	if !cb.Modified() {
		t.Error("a new codebook must report Modified")
	}
}

func TestNewCodebookFailsWhenRandomnessRunsOut(t *testing.T) {
	if _, err := NewCodebook(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Fatal("want an error for short randomness")
	}
}

func TestParseCodebookVersions(t *testing.T) {
	tests := []struct {
		name, in     string
		wantModified bool
		wantJSON     string
		wantErr      string
	}{
		{
			name:     "version 1 round-trips with legacy maps and unknown keys",
			in:       `{"version": 1, "id_salt": "1234", "codebook_id": "id-1", "Encounter": {"e": "E"}, "Patient": {"b": "B", "a": "A"}, "note": [1, 2.50, "é"]}`,
			wantJSON: `{"version": 1, "id_salt": "1234", "codebook_id": "id-1", "Patient": {"a": "A", "b": "B"}, "Encounter": {"e": "E"}, "note": [1, 2.50, "\u00e9"]}`,
		},
		{
			name:         "version 1 without codebook_id gets one",
			in:           `{"version": 1, "id_salt": "1234"}`,
			wantModified: true,
			wantJSON:     `{"version": 1, "id_salt": "1234", "codebook_id": "abababab-abab-4bab-abab-abababababab"}`,
		},
		{
			name:         "version 0 becomes legacy maps and a new salt",
			in:           `{"mrn": {"p1": {"deid": "P1", "encounter": {"e1": {"deid": "E1"}, "e2": {"deid": "E2"}}}, "p2": {"deid": "P2"}}}`,
			wantModified: true,
			wantJSON: `{"version": 1, "id_salt": "` + strings.Repeat("ab", 32) + `", "codebook_id": "abababab-abab-4bab-abab-abababababab", ` +
				`"Patient": {"p1": "P1", "p2": "P2"}, "Encounter": {"e1": "E1", "e2": "E2"}}`,
		},
		{name: "unknown version is an error", in: `{"version": 2, "id_salt": "1234"}`, wantErr: "unknown version 2"},
		{name: "salt must be hex", in: `{"version": 1, "id_salt": "xyz"}`, wantErr: "not hexadecimal"},
		{name: "not JSON", in: `{"version": `, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := ParseCodebook([]byte(tt.in), fixedRandom())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cb.Modified() != tt.wantModified {
				t.Errorf("Modified = %v, want %v", cb.Modified(), tt.wantModified)
			}
			out, err := cb.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.wantJSON {
				t.Errorf("Marshal =\n%s\nwant\n%s", out, tt.wantJSON)
			}
		})
	}
}

func TestParseCodebookVersion0KeepsLegacyIDs(t *testing.T) {
	cb := mustParse(t, `{"mrn": {"p1": {"deid": "P1", "encounter": {"e1": {"deid": "E1"}}}}}`)
	if got := cb.FakeID("Patient", "p1"); got != "P1" {
		t.Errorf("Patient p1 → %s, want P1", got)
	}
	if got := cb.FakeID("Encounter", "e1"); got != "E1" {
		t.Errorf("Encounter e1 → %s, want E1", got)
	}
	if cb.ID() != "abababab-abab-4bab-abab-abababababab" {
		t.Errorf("ID = %s", cb.ID())
	}
}

func TestParseCodebookReportsShortRandomness(t *testing.T) {
	_, err := ParseCodebook([]byte(`{"mrn": {}}`), bytes.NewReader(nil))
	if err == nil || errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want a randomness error", err)
	}
}
