// Package auth holds the SMART Backend Services pieces that need no HTTP plumbing of their own:
// private signing keys (JWKS or PEM), the client assertion JWT, key generation for `keygen`,
// the client-credentials token request and a token cache with single-flight refresh.
package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// The JOSE algorithms SMART Backend Services requires clients to support (AU-10).
const (
	AlgRS384 = "RS384"
	AlgES384 = "ES384"
)

// ErrNoSigningKey reports that a key file holds no private RS384 or ES384 key usable for signing.
var ErrNoSigningKey = errors.New("no usable private RS384 or ES384 signing key")

// Key is a private signing key together with the JOSE algorithm and key id that go into every
// client assertion header. Its String method never prints key material.
type Key struct {
	jwk jose.JSONWebKey
}

// Algorithm returns the JOSE algorithm name, RS384 or ES384.
func (k *Key) Algorithm() string { return k.jwk.Algorithm }

// KID returns the key id sent in the assertion header.
func (k *Key) KID() string { return k.jwk.KeyID }

// String describes the key without its secret parts.
func (k *Key) String() string { return fmt.Sprintf("%s key %q", k.jwk.Algorithm, k.jwk.KeyID) }

// LoadKey reads a private key from path: a JWKS (or a single JWK) when the file is JSON, a PEM
// private key otherwise. kid, when not empty, names the key to use (and sets the kid of a PEM key).
func LoadKey(path, kid string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	var k *Key
	// A UTF-8 byte order mark (Windows editors) would hide the JSON; pem.Decode skips it anyway.
	if trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\ufeff"))); len(trimmed) > 0 && trimmed[0] == '{' {
		k, err = ParseJWKS(trimmed, kid)
	} else {
		k, err = ParsePEM(data, kid)
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// ParseJWKS picks the signing key from a JWKS document (or a bare JWK object): a private key
// with a kid, an alg of RS384 or ES384 matching its key type, and (when present) "sign" in
// key_ops and "sig" as use. A key without alg gets the one its kty and crv imply; without kid,
// the first key that names its alg wins, else the first whose alg was inferred. With kid it
// takes the first usable key of that id (a set may hold the public half under the same id).
func ParseJWKS(data []byte, kid string) (*Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	if set.Keys == nil {
		set.Keys = []json.RawMessage{data}
	}
	var (
		inferred *Key // the first usable key without alg
		refused  error
	)
	for i, raw := range set.Keys {
		var meta struct {
			KeyOps []string `json:"key_ops"`
			Use    string   `json:"use"`
			Kid    string   `json:"kid"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("key #%d: %w", i+1, err)
		}
		if kid != "" && meta.Kid != kid {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			refused = fmt.Errorf("key %q: %w", kid, err) // with no kid: a key type we do not know (e.g. "oct")
			continue
		}
		canSign := (meta.KeyOps == nil || slices.Contains(meta.KeyOps, "sign")) &&
			(meta.Use == "" || meta.Use == "sig")
		noAlg := jwk.Algorithm == ""
		if noAlg {
			jwk.Algorithm = inferAlgorithm(jwk.Key)
		}
		if !canSign || jwk.IsPublic() || jwk.KeyID == "" || !algorithmFits(jwk) {
			refused = fmt.Errorf("key %q: %w (it must be private, allowed to sign, and RSA/RS384 or P-384/ES384)", kid, ErrNoSigningKey)
			continue
		}
		if kid == "" && noAlg {
			if inferred == nil {
				inferred = &Key{jwk: jwk}
			}
			continue
		}
		return &Key{jwk: jwk}, nil
	}
	switch {
	case inferred != nil:
		return inferred, nil
	case kid != "" && refused != nil:
		return nil, refused
	case kid != "":
		return nil, fmt.Errorf("no key with kid %q: %w", kid, ErrNoSigningKey)
	}
	return nil, fmt.Errorf("%w: a key needs \"kid\", \"alg\" RS384 or ES384 (or an RSA or P-384 key type), and the private parts", ErrNoSigningKey)
}

// ParsePEM reads a PKCS#1, PKCS#8 or SEC 1 (EC) private key. RSA keys sign with RS384 and P-384
// keys with ES384. The kid is the one given, or else the key's RFC 7638 SHA-256 thumbprint.
func ParsePEM(data []byte, kid string) (*Key, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM private key block found", ErrNoSigningKey)
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the PEM key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue // certificates, EC PARAMETERS, public keys
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %w", block.Type, err)
		}
		return newKey(key, kid)
	}
}

// newKey wraps a crypto private key, inferring the algorithm and defaulting kid to the thumbprint.
func newKey(key any, kid string) (*Key, error) {
	jwk := jose.JSONWebKey{Key: key, Algorithm: inferAlgorithm(key), Use: "sig"}
	if !algorithmFits(jwk) {
		return nil, fmt.Errorf("%w: the key is %s; SMART needs RSA (RS384) or EC P-384 (ES384)", ErrNoSigningKey, describeKey(key))
	}
	if kid == "" {
		tp, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("computing key thumbprint: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	jwk.KeyID = kid
	return &Key{jwk: jwk}, nil
}

// inferAlgorithm names the SMART algorithm for a key type, or "" when there is none.
func inferAlgorithm(key any) string {
	switch k := key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return AlgRS384
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P384() {
			return AlgES384
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P384() {
			return AlgES384
		}
	}
	return ""
}

// algorithmFits reports whether the key's alg is RS384/ES384 and matches its key type.
func algorithmFits(jwk jose.JSONWebKey) bool {
	return jwk.Valid() && (jwk.Algorithm == AlgRS384 || jwk.Algorithm == AlgES384) &&
		inferAlgorithm(jwk.Key) == jwk.Algorithm
}

// describeKey names a key's type for error messages, without key material.
func describeKey(key any) string {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return "EC " + k.Curve.Params().Name
	case *rsa.PrivateKey:
		return "RSA"
	default:
		return fmt.Sprintf("%T", key)
	}
}
