package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestKeygen_WritesUsableKeyPair: keygen writes a 0600 private JWKS that --smart-key accepts
// and a public JWKS the (fake) EHR verifies assertions with, for both algorithms.
func TestKeygen_WritesUsableKeyPair(t *testing.T) {
	for _, alg := range []string{"RS384", "ES384"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := filepath.Join(dir, "private.jwks"), filepath.Join(dir, "public.jwks")
			cmd := newKeygenCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs([]string{"--alg", alg, "--out-private", priv, "--out-public", pub})
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(priv); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("private key: %v %v", st, err)
			}
			if !strings.Contains(out.String(), "--smart-key "+priv) {
				t.Errorf("next steps do not name the flags:\n%s", out.String())
			}
			public, _ := os.ReadFile(pub)
			s := fhirtest.NewServer(t, fhirtest.WithPublicJWKS(public))
			opts := s.Options("Patient")
			opts.Auth.KeyPath = priv
			if _, err := fhir.New(context.Background(), opts); err != nil {
				t.Fatalf("the generated key does not authenticate: %v", err)
			}
		})
	}
}

// TestKeygen_RefusesToOverwriteOrBadAlg: an existing private key is never replaced, and only
// RS384/ES384 are offered.
func TestKeygen_RefusesToOverwriteOrBadAlg(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "private.jwks")
	_ = os.WriteFile(priv, []byte("precious"), 0o600)
	for _, args := range [][]string{
		{"--out-private", priv, "--out-public", filepath.Join(dir, "pub.jwks")},
		{"--alg", "HS256", "--out-private", filepath.Join(dir, "x"), "--out-public", filepath.Join(dir, "y")},
	} {
		cmd := newKeygenCmd()
		cmd.SetArgs(args)
		cmd.SetOut(&bytes.Buffer{})
		err := cmd.Execute()
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitArgsInvalid {
			t.Errorf("%v: err = %v", args, err)
		}
	}
	if b, _ := os.ReadFile(priv); string(b) != "precious" {
		t.Error("private key overwritten")
	}
}
