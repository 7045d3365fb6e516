package fhir_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"cumulus-etl/internal/auth"
	"cumulus-etl/internal/fhir"
	"cumulus-etl/internal/fhir/fhirtest"
)

// TestCredentialScoping_RedirectToOtherOrigin_GO01_EC26: a redirect from the FHIR server to
// another origin arrives there without the Authorization header, for every redirect status.
func TestCredentialScoping_RedirectToOtherOrigin_GO01_EC26(t *testing.T) {
	s := fhirtest.NewServer(t)
	c := newClient(t, s, s.Options("Patient"))
	for _, status := range []int{301, 302, 303, 307, 308} {
		s.Fail("Binary/1", fhirtest.RedirectTo(s.Other.URL+"/file", status))
		if _, err := get(context.Background(), c, "Binary/1"); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
	}
	for i, a := range s.Other.Authorizations() {
		if a != "" {
			t.Errorf("redirect %d: Authorization reached the other origin", i)
		}
	}
}

// TestCredentialScoping_OtherOriginAndCapabilityURLs_DL04_EC11_MF21: a request to another origin
// never carries credentials, not even a header the caller set itself; a request to the FHIR
// origin under NoCredentials (a capability URL, requiresAccessToken false) carries none either.
func TestCredentialScoping_OtherOriginAndCapabilityURLs_DL04_EC11_MF21(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithoutAuth())
	route := &okRoute{}
	s.Handle("GET file/{n}", route.handle)
	c := newClient(t, s, s.Options("Patient"))
	ctx := context.Background()
	if _, err := get(ctx, c, s.Other.URL+"/signed?X-Amz-Signature=abc", "Authorization", "Bearer leaked"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(fhir.NoCredentials(ctx), c, "file/1", "Authorization", "Bearer leaked"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(ctx, c, "file/2"); err != nil {
		t.Fatal(err)
	}
	if got := s.Other.Authorizations(); len(got) != 1 || got[0] != "" {
		t.Errorf("other origin saw %q", got)
	}
	if route.seen[0] != "" || !strings.HasPrefix(route.seen[1], "Bearer fhirtest-token-") {
		t.Errorf("FHIR origin saw %q", route.seen)
	}
}

// TestEpicClientID: a server whose software name is Epic gets Epic-Client-ID on FHIR requests
// (Cumulus ETL 1a72e77), and the User-Agent names the tool.
func TestEpicClientID(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithSoftwareName("Epic"))
	var header http.Header
	s.Handle("GET Patient/{id}", func(w http.ResponseWriter, r *http.Request) { header = r.Header.Clone() })
	c := newClient(t, s, s.Options("Patient"))
	if _, err := get(context.Background(), c, "Patient/1"); err != nil {
		t.Fatal(err)
	}
	if header.Get("Epic-Client-ID") != fhirtest.ClientID || header.Get("User-Agent") != "cumulus-etl/test" ||
		header.Get("Accept") != "application/fhir+json" {
		t.Errorf("headers = %v", header)
	}
}

// TestEpicClientID_MetadataBehindAuth_AU06: a server that answers /metadata only with a token is
// asked again once the client has one, so vendor quirks (Epic-Client-ID) still apply.
func TestEpicClientID_MetadataBehindAuth_AU06(t *testing.T) {
	s := fhirtest.NewServer(t, fhirtest.WithSoftwareName("Epic"))
	s.Fail("metadata", fhirtest.Status(http.StatusUnauthorized))
	var header http.Header
	s.Handle("GET Patient/{id}", func(w http.ResponseWriter, r *http.Request) { header = r.Header.Clone() })
	c := newClient(t, s, s.Options("Patient"))
	if c.Capabilities().SoftwareName != "Epic" || s.Requests("metadata") != 2 {
		t.Fatalf("software %q after %d metadata requests", c.Capabilities().SoftwareName, s.Requests("metadata"))
	}
	if _, err := get(context.Background(), c, "Patient/1"); err != nil {
		t.Fatal(err)
	}
	if header.Get("Epic-Client-ID") != fhirtest.ClientID {
		t.Errorf("Epic-Client-ID = %q", header.Get("Epic-Client-ID"))
	}
}

// TestStaticCredentials: basic and bearer credentials are read from their files and sent to
// the FHIR origin.
func TestStaticCredentials(t *testing.T) {
	dir := t.TempDir()
	pw, tok := filepath.Join(dir, "pw"), filepath.Join(dir, "tok")
	_ = os.WriteFile(pw, []byte("p4ssw0rd\n"), 0o600)
	_ = os.WriteFile(tok, []byte(" fob \n"), 0o600)
	tests := []struct {
		cfg  fhir.AuthConfig
		want string
	}{
		{fhir.AuthConfig{BasicUser: "User", BasicPasswordFile: pw}, "Basic VXNlcjpwNHNzdzByZA=="},
		{fhir.AuthConfig{BearerTokenFile: tok}, "Bearer fob"},
	}
	for _, tt := range tests {
		s := fhirtest.NewServer(t, fhirtest.WithoutAuth())
		route := &okRoute{}
		s.Handle("GET Patient/{id}", route.handle)
		opts := s.Options("Patient")
		opts.Auth = tt.cfg
		if _, err := get(context.Background(), newClient(t, s, opts), "Patient/1"); err != nil {
			t.Fatal(err)
		}
		if route.seen[0] != tt.want {
			t.Errorf("Authorization = %q, want %q", route.seen[0], tt.want)
		}
	}
}

// TestNoCredentialsThen401_ExitCredentialsMissing: a server that wants credentials when none
// were given yields ErrCredentialsMissing.
func TestNoCredentialsThen401_ExitCredentialsMissing(t *testing.T) {
	s := fhirtest.NewServer(t)
	s.Handle("GET Patient/{id}", (&okRoute{}).handle)
	opts := s.Options("Patient")
	opts.Auth = fhir.AuthConfig{}
	_, err := get(context.Background(), newClient(t, s, opts), "Patient/1")
	if !errors.Is(err, fhir.ErrCredentialsMissing) {
		t.Errorf("err = %v", err)
	}
}

// TestCAFile_GO08: TLS verification is on: without --ca-file the test server's certificate is
// refused (and not retried); with it the hospital's CA is trusted.
func TestCAFile_GO08(t *testing.T) {
	s := fhirtest.NewServer(t)
	opts := s.Options("Patient")
	opts.HTTPClient = nil
	if _, err := fhir.New(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: err = %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o644)
	opts.CAFile = ca
	if _, err := fhir.New(context.Background(), opts); err != nil {
		t.Errorf("with --ca-file: %v", err)
	}
	opts.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := fhir.New(context.Background(), opts); !errors.Is(err, fhir.ErrCredentialFile) {
		t.Errorf("missing --ca-file: err = %v", err)
	}
}

// TestPlainHTTPRefused_GO08: plain http is refused except to this machine.
func TestPlainHTTPRefused_GO08(t *testing.T) {
	_, err := fhir.New(context.Background(), fhir.Options{BaseURL: "http://ehr.example/fhir"})
	if !errors.Is(err, fhir.ErrInsecureURL) {
		t.Errorf("err = %v", err)
	}
}

// TestJoseCLIJWKS_AU12: a key pair made by the Debian jose CLI (`jose jwk gen -s -i
// '{"alg":"RS384","kid":"..."}'`) authenticates against a server holding its public half.
func TestJoseCLIJWKS_AU12(t *testing.T) {
	josePath, err := exec.LookPath("jose")
	if err != nil {
		t.Skip("jose CLI not installed (apt-get install jose)")
	}
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "rsa.jwks"), filepath.Join(dir, "rsa.pub.jwks")
	for _, args := range [][]string{
		{"jwk", "gen", "-s", "-i", `{"alg":"RS384","kid":"jose-kid"}`, "-o", priv},
		{"jwk", "pub", "-s", "-i", priv, "-o", pub},
	} {
		if out, err := exec.Command(josePath, args...).CombinedOutput(); err != nil {
			t.Fatalf("jose %v: %v\n%s", args, err, out)
		}
	}
	public, _ := os.ReadFile(pub)
	s := fhirtest.NewServer(t, fhirtest.WithPublicJWKS(public))
	opts := s.Options("Patient")
	opts.Auth.KeyPath = priv
	newClient(t, s, opts)
	if s.TokenRequests() != 1 {
		t.Errorf("token requests = %d", s.TokenRequests())
	}
}

// TestPEMKey_AU12: --smart-key may be a PEM file; its kid is the thumbprint unless --smart-kid.
func TestPEMKey_AU12(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	key, err := auth.ParsePEM(pemBytes, "pem-kid")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicJWKS()
	s := fhirtest.NewServer(t, fhirtest.WithPublicJWKS(pub))
	path := filepath.Join(t.TempDir(), "key.pem")
	_ = os.WriteFile(path, pemBytes, 0o600)
	opts := s.Options("Patient")
	opts.Auth.KeyPath, opts.Auth.KID = path, "pem-kid"
	newClient(t, s, opts)
}

// TestRetryAfterWaitHonoursContext: a long Retry-After wait ends as soon as the context does.
func TestRetryAfterWaitHonoursContext(t *testing.T) {
	s := fhirtest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	s.Fail("Patient/1", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		fhirtest.RetryAfter(503, "3600")(w, r)
	})
	opts := s.Options("Patient")
	opts.Sleep = nil // the real timer
	c := newClient(t, s, opts)
	if _, err := get(ctx, c, "Patient/1"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
