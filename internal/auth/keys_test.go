package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwkJSON marshals a private key as a JWK map so tests can tweak its fields.
func jwkJSON(t *testing.T, key any, alg, kid string) map[string]any {
	t.Helper()
	raw, err := jose.JSONWebKey{Key: key, Algorithm: alg, KeyID: kid}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jwks(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func with(m map[string]any, k string, v any) map[string]any {
	c := map[string]any{}
	for kk, vv := range m {
		c[kk] = vv
	}
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

// TestParseJWKS_PicksFirstSigningKey checks the key selection rule of AU-10 and Cumulus ETL:
// private, allowed to sign (key_ops/use), with kid and an alg of RS384/ES384 matching its type.
func TestParseJWKS_PicksFirstSigningKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := jwkJSON(t, ec, AlgES384, "good")
	public := jwkJSON(t, &ec.PublicKey, AlgES384, "public")
	verifyOnly := with(jwkJSON(t, ec, AlgES384, "verify-only"), "key_ops", []string{"verify"})
	encUse := with(jwkJSON(t, ec, AlgES384, "enc"), "use", "enc")
	noKid := jwkJSON(t, ec, AlgES384, "")
	noAlg := with(jwkJSON(t, ec, AlgES384, "no-alg"), "alg", nil)
	wrongAlg := jwkJSON(t, ec, AlgRS384, "wrong-alg")
	p256 := jwkJSON(t, ec256, "ES256", "p256")
	oct := map[string]any{"kty": "oct", "k": "AAAA", "kid": "oct"}
	tests := []struct {
		name    string
		keys    []map[string]any
		kid     string
		wantKID string
		wantErr bool
	}{
		{"first usable after unusable ones", []map[string]any{oct, public, verifyOnly, encUse, noKid, noAlg, wrongAlg, p256, good}, "", "good", false},
		{"key_ops with sign accepted", []map[string]any{with(good, "key_ops", []string{"sign", "verify"})}, "", "good", false},
		{"kid selects key", []map[string]any{with(good, "kid", "a"), with(good, "kid", "b")}, "b", "b", false},
		{"kid infers missing alg", []map[string]any{noAlg}, "no-alg", "no-alg", false},
		{"kid of a public key is refused", []map[string]any{public}, "public", "", true},
		// AU-13: keys without alg are usual (mkjwk, step, some EHR portals); kty/crv tell it.
		{"no alg anywhere: inferred from kty and crv", []map[string]any{public, noAlg}, "", "no-alg", false},
		// A set holding both halves under one kid: the public one must not hide the private one.
		{"kid shared by public and private halves", []map[string]any{with(public, "kid", "k"), with(good, "kid", "k")}, "k", "k", false},
		{"unknown kid", []map[string]any{good}, "nope", "", true},
		{"nothing usable", []map[string]any{public, noKid}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseJWKS(jwks(t, tt.keys...), tt.kid)
			if tt.wantErr {
				if !errors.Is(err, ErrNoSigningKey) {
					t.Fatalf("err = %v, want ErrNoSigningKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.KID() != tt.wantKID || k.Algorithm() != AlgES384 {
				t.Errorf("picked %v, want kid %q", k, tt.wantKID)
			}
		})
	}
}

// TestLoadKey_BOM_AU13: a JWKS file saved with a UTF-8 byte order mark (Windows editors) is
// still read as JSON, not as a PEM file.
func TestLoadKey_BOM_AU13(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	path := filepath.Join(t.TempDir(), "jwks.json")
	data := append([]byte("\ufeff"), jwks(t, jwkJSON(t, ec, AlgES384, "bom"))...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKey(path, ""); err != nil || k.KID() != "bom" {
		t.Fatalf("LoadKey = %v, %v", k, err)
	}
}

// TestParseJWKS_SingleJWK accepts a bare JWK object as well as a set.
func TestParseJWKS_SingleJWK(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	b, _ := json.Marshal(jwkJSON(t, ec, AlgES384, "solo"))
	if k, err := ParseJWKS(b, ""); err != nil || k.KID() != "solo" {
		t.Fatalf("got %v, %v", k, err)
	}
}

// TestParsePEM_InfersAlgorithmAndThumbprintKID covers PKCS#1, PKCS#8 and SEC 1 keys: RSA signs
// with RS384, P-384 with ES384, other curves are refused, and kid defaults to the RFC 7638
// thumbprint.
func TestParsePEM_InfersAlgorithmAndThumbprintKID(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, _ := x509.MarshalECPrivateKey(ec384)
	tests := []struct {
		name    string
		pem     []byte
		kid     string
		wantAlg string
	}{
		{"PKCS#1 RSA", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), "", AlgRS384},
		{"PKCS#8 RSA with kid", pkcs8(rsaKey), "mine", AlgRS384},
		{"PKCS#8 P-384", pkcs8(ec384), "", AlgES384},
		{"SEC 1 P-384 after EC PARAMETERS", append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 5, 43, 129, 4, 0, 34}}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), "", AlgES384},
		{"P-256 refused", pkcs8(ec256), "", ""},
		{"encrypted refused", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "", ""},
		{"certificate only refused", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePEM(tt.pem, tt.kid)
			if tt.wantAlg == "" {
				if err == nil {
					t.Fatalf("want an error, got %v", k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm() != tt.wantAlg {
				t.Errorf("alg = %s, want %s", k.Algorithm(), tt.wantAlg)
			}
			if tt.kid != "" && k.KID() != tt.kid || tt.kid == "" && len(k.KID()) != 43 {
				t.Errorf("kid = %q", k.KID())
			}
		})
	}
}

// TestAssertion_HeaderClaimsAndSignature checks AU-10 (alg, kid, typ JWT), AU-11 (iss = sub =
// client id, aud a single string, exp = now+299 s, jti) and AU-12 (ES384 raw R||S, RS384
// PKCS#1 v1.5) by verifying with the public JWKS.
func TestAssertion_HeaderClaimsAndSignature(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, alg := range []string{AlgRS384, AlgES384} {
		t.Run(alg, func(t *testing.T) {
			k, err := GenerateKey(alg, "kid-1", rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			s, err := k.Assertion("client", "https://ehr.example/token", now, "jti-1")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(s, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			h := tok.Headers[0]
			if h.Algorithm != alg || h.KeyID != "kid-1" || h.ExtraHeaders["typ"] != "JWT" {
				t.Errorf("header = %+v", h)
			}
			var pub jose.JSONWebKeySet
			pubJSON, _ := k.PublicJWKS()
			if err := json.Unmarshal(pubJSON, &pub); err != nil {
				t.Fatal(err)
			}
			raw := map[string]any{}
			if err := tok.Claims(pub.Keys[0].Key, &raw); err != nil {
				t.Fatalf("signature does not verify with the public JWKS: %v", err)
			}
			want := map[string]any{"iss": "client", "sub": "client", "aud": "https://ehr.example/token",
				"exp": float64(now.Unix() + 299), "jti": "jti-1"}
			if len(raw) != len(want) {
				t.Errorf("claims = %v, want exactly %v", raw, want)
			}
			for name, v := range want {
				if raw[name] != v {
					t.Errorf("claim %s = %v, want %v", name, raw[name], v)
				}
			}
			if alg == AlgES384 && len(strings.Split(s, ".")[2]) != 128 { // 96 bytes base64url
				t.Errorf("ES384 signature is not raw R||S: %d chars", len(strings.Split(s, ".")[2]))
			}
		})
	}
}

// TestKeygenJWKS_RoundTrip: keygen's private JWKS is picked by ParseJWKS (key_ops sign) and the
// public JWKS holds no private parts.
func TestKeygenJWKS_RoundTrip(t *testing.T) {
	k, err := GenerateKey(AlgRS384, "round", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := k.PrivateJWKS()
	got, err := ParseJWKS(priv, "")
	if err != nil || got.KID() != "round" || got.Algorithm() != AlgRS384 {
		t.Fatalf("ParseJWKS(private) = %v, %v", got, err)
	}
	pub, _ := k.PublicJWKS()
	for _, secret := range []string{`"d"`, `"p"`, `"q"`, `"dp"`} {
		if strings.Contains(string(pub), secret) {
			t.Errorf("public JWKS contains %s", secret)
		}
	}
	if !strings.Contains(string(pub), `"verify"`) || !strings.Contains(string(priv), `"sign"`) {
		t.Errorf("key_ops missing:\n%s\n%s", pub, priv)
	}
	if _, err := GenerateKey("HS256", "x", rand.Reader); err == nil {
		t.Error("GenerateKey accepted HS256")
	}
}

// TestJoseCLIKeys_AU12: a JWKS made by `jose jwk gen -s -i '{"alg":"RS384","kid":"..."}'`
// (Debian package jose) loads and signs assertions that verify with `jose jwk pub` output.
func TestJoseCLIKeys_AU12(t *testing.T) {
	josePath, err := exec.LookPath("jose")
	if err != nil {
		t.Skip("jose CLI not installed (apt-get install jose)")
	}
	dir := t.TempDir()
	for _, alg := range []string{AlgRS384, AlgES384} {
		t.Run(alg, func(t *testing.T) {
			priv, pub := filepath.Join(dir, alg+".jwks"), filepath.Join(dir, alg+".pub.jwks")
			run := func(args ...string) {
				if out, err := exec.Command(josePath, args...).CombinedOutput(); err != nil {
					t.Fatalf("jose %v: %v\n%s", args, err, out)
				}
			}
			run("jwk", "gen", "-s", "-i", `{"alg":"`+alg+`","kid":"jose-`+alg+`"}`, "-o", priv)
			run("jwk", "pub", "-s", "-i", priv, "-o", pub)
			k, err := LoadKey(priv, "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := k.Assertion("c", "https://t", time.Now(), "j")
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			data, _ := os.ReadFile(pub)
			if err := json.Unmarshal(data, &set); err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(s, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			var c jwt.Claims
			if err := tok.Claims(set.Key("jose-" + alg)[0].Key, &c); err != nil {
				t.Fatalf("does not verify with jose's public JWKS: %v", err)
			}
		})
	}
}

// BenchmarkAssertion measures minting one signed client assertion per algorithm.
func BenchmarkAssertion(b *testing.B) {
	for _, alg := range []string{AlgRS384, AlgES384} {
		b.Run(alg, func(b *testing.B) {
			k, err := GenerateKey(alg, "bench", rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for b.Loop() {
				if _, err := k.Assertion("client", "https://ehr.example/token", now, "jti"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
