package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// AssertionLifetime is how far ahead a client assertion's exp lies: under the 5 minutes SMART
// allows (AU-11), as Cumulus ETL does.
const AssertionLifetime = 299 * time.Second

// Assertion returns a signed client_assertion JWT (AU-10, AU-11): header alg, kid and typ JWT;
// claims iss = sub = clientID, aud = the token endpoint URL as a single string, exp = now +
// AssertionLifetime and jti. The result is a credential: never log it.
func (k *Key) Assertion(clientID, tokenURL string, now time.Time, jti string) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.jwk.Algorithm), Key: k.jwk}, opts)
	if err != nil {
		return "", fmt.Errorf("preparing %s signer: %w", k, err)
	}
	claims := jwt.Claims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: jwt.Audience{tokenURL},
		Expiry:   jwt.NewNumericDate(now.Add(AssertionLifetime)),
		ID:       jti,
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing client assertion with %s: %w", k, err)
	}
	return tok, nil
}

// GenerateKey makes a new private key for alg (RS384: RSA 2048 bits; ES384: P-384) with the
// given kid, reading randomness from rnd.
func GenerateKey(alg, kid string, rnd io.Reader) (*Key, error) {
	var (
		key any
		err error
	)
	switch alg {
	case AlgRS384:
		key, err = rsa.GenerateKey(rnd, 2048)
	case AlgES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rnd)
	default:
		return nil, fmt.Errorf("unsupported algorithm %q: use %s or %s", alg, AlgRS384, AlgES384)
	}
	if err != nil {
		return nil, fmt.Errorf("generating %s key: %w", alg, err)
	}
	return newKey(key, kid)
}

// PrivateJWKS returns a JWKS holding the private key with key_ops ["sign"], the form Cumulus
// ETL and this tool read with --smart-key. The result is secret.
func (k *Key) PrivateJWKS() ([]byte, error) {
	return jwksWithOps(k.jwk, "sign")
}

// PublicJWKS returns a JWKS holding only the public half with key_ops ["verify"], the document
// to register with the EHR (AU-13).
func (k *Key) PublicJWKS() ([]byte, error) {
	return jwksWithOps(k.jwk.Public(), "verify")
}

// PublicKey returns the public half as a JSON Web Key (for servers that verify assertions).
func (k *Key) PublicKey() jose.JSONWebKey { return k.jwk.Public() }

// jwksWithOps wraps one key in {"keys":[...]} adding key_ops, which go-jose does not model.
func jwksWithOps(jwk jose.JSONWebKey, op string) ([]byte, error) {
	raw, err := jwk.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding %s key %q: %w", jwk.Algorithm, jwk.KeyID, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("encoding %s key %q: %w", jwk.Algorithm, jwk.KeyID, err)
	}
	fields["key_ops"] = []string{op}
	delete(fields, "use") // RFC 7517 §4.3: use and key_ops should not both appear
	out, err := json.MarshalIndent(map[string]any{"keys": []any{fields}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding JWKS: %w", err)
	}
	return append(out, '\n'), nil
}
