package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// DefaultTokenLifetime is assumed when a token response has no usable expires_in (AU-21).
const DefaultTokenLifetime = 300 * time.Second

// maxTokenLifetime caps expires_in: a token claimed to live longer is still replaced daily, and
// absurd values (years, Infinity) cannot overflow time.Duration.
const maxTokenLifetime = 24 * time.Hour

const maxTokenResponse = 1 << 20

// ClientCredentials performs the SMART Backend Services token request (AU-20): a form POST with
// grant_type=client_credentials, the scopes, and a freshly signed client assertion. Use its
// Fetch method as a TokenCache's fetch function.
type ClientCredentials struct {
	HTTPClient *http.Client // sends the POST; it must not add an Authorization header
	TokenURL   string       // absolute; also the assertion's aud
	ClientID   string
	Key        *Key
	Scopes     []string
	Now        func() time.Time // nil: time.Now
	NewJTI     func() string    // nil: random UUIDv4

	obtained atomic.Bool // a token was granted before in this run
}

// OAuthError is an error answer from the token endpoint (RFC 6749 §5.2, AU-23).
type OAuthError struct {
	Status      int
	Code        string // invalid_client, invalid_scope, ...; empty when the body was not OAuth JSON
	Description string // error_description, or the body text when it was not JSON
	URI         string // error_uri (Oracle Health sends one instead of a description)
}

// Error formats the server's own explanation, like Cumulus ETL.
func (e *OAuthError) Error() string {
	msg := fmt.Sprintf("[%d]", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	switch {
	case e.Description != "":
		msg += ": " + e.Description
	case e.URI != "":
		msg += fmt.Sprintf(": visit %q for more details", e.URI)
	}
	return msg
}

// Fetch requests a new access token. Every attempt, retries included, carries a newly minted
// assertion with its own jti (AU-11). When the server refuses with an OAuth error after it had
// already granted a token in this run, Fetch tries once more with a new assertion: Epic answers
// re-authorizations with flaky bare 400s (AU-23).
func (c *ClientCredentials) Fetch(ctx context.Context) (Token, error) {
	tok, err := c.request(ctx)
	if oe := (*OAuthError)(nil); err != nil && errors.As(err, &oe) && c.obtained.Load() {
		tok, err = c.request(ctx)
	}
	if err != nil {
		return Token{}, err
	}
	c.obtained.Store(true)
	return tok, nil
}

func (c *ClientCredentials) request(ctx context.Context) (Token, error) {
	first, lastAssertion, err := c.form()
	if err != nil {
		return Token{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, bytes.NewReader(first))
	if err != nil {
		return Token{}, fmt.Errorf("token endpoint %q: %w", c.TokenURL, err)
	}
	// A replay (after a 503, say) gets a new assertion of the same length: only the jti (a
	// UUID) and the signature differ.
	req.GetBody = func() (io.ReadCloser, error) {
		body, assertion, err := c.form()
		if err != nil {
			return nil, err
		}
		lastAssertion = assertion
		return io.NopCloser(bytes.NewReader(body)), nil
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("requesting an access token from %q: %w", c.TokenURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return Token{}, fmt.Errorf("reading the token response from %q: %w", c.TokenURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Token{}, fmt.Errorf("token endpoint %q refused: %w", c.TokenURL, parseOAuthError(resp.StatusCode, data, lastAssertion))
	}
	tok, err := parseTokenResponse(data)
	if err != nil {
		return Token{}, fmt.Errorf("token endpoint %q: %w", c.TokenURL, err)
	}
	return tok, nil
}

// form builds the URL-encoded token request body around a new assertion.
func (c *ClientCredentials) form() (body []byte, assertion string, err error) {
	now, jti := time.Now, uuid.NewString
	if c.Now != nil {
		now = c.Now
	}
	if c.NewJTI != nil {
		jti = c.NewJTI
	}
	assertion, err = c.Key.Assertion(c.ClientID, c.TokenURL, now(), jti())
	if err != nil {
		return nil, "", err
	}
	return []byte(url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {strings.Join(c.Scopes, " ")},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}.Encode()), assertion, nil
}

// parseOAuthError reads an RFC 6749 error body, or keeps a short excerpt of any other body.
// The assertion is blanked out in case a server echoes the request.
func parseOAuthError(status int, data []byte, assertion string) *OAuthError {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	oe := &OAuthError{Status: status}
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		oe.Code, oe.Description, oe.URI = body.Error, body.Description, body.URI
	} else {
		oe.Description = strings.TrimSpace(string(data))
		if len(oe.Description) > 500 {
			oe.Description = oe.Description[:500] + "..."
		}
	}
	if assertion != "" {
		oe.Description = strings.ReplaceAll(oe.Description, assertion, "[client assertion]")
	}
	return oe
}

// parseTokenResponse reads access_token, token_type (bearer, any case), expires_in (a number or
// a string; DefaultTokenLifetime when missing) and scope (AU-21).
func parseTokenResponse(data []byte) (Token, error) {
	var body struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Scope       string          `json:"scope"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return Token{}, fmt.Errorf("the token response is not JSON: %w", err)
	}
	if body.AccessToken == "" {
		return Token{}, errors.New("the token response has no access_token")
	}
	if body.TokenType != "" && !strings.EqualFold(body.TokenType, "bearer") {
		return Token{}, fmt.Errorf("unsupported token_type %q (want bearer)", body.TokenType)
	}
	return Token{AccessToken: body.AccessToken, ExpiresIn: parseExpiresIn(body.ExpiresIn), Scope: body.Scope}, nil
}

// parseExpiresIn accepts 3600, 3600.0 and "3600", capped at maxTokenLifetime; anything else, or
// a non-positive value, gives DefaultTokenLifetime.
func parseExpiresIn(raw json.RawMessage) time.Duration {
	text := strings.Trim(string(raw), `" `)
	secs, err := strconv.ParseFloat(text, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange), !(secs > 0): // NaN fails too
		return DefaultTokenLifetime
	case secs >= maxTokenLifetime.Seconds():
		return maxTokenLifetime
	}
	return time.Duration(secs * float64(time.Second))
}
