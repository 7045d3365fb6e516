package fhir

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"cumulus-etl/internal/auth"
)

// authSetup is a validated AuthConfig with its files read.
type authSetup struct {
	static   string    // the whole Authorization value for basic or bearer; "" otherwise
	clientID string    // SMART only
	key      *auth.Key // SMART only
}

func (s authSetup) smart() bool { return s.key != nil }

// loadAuth checks that at most one complete method is given and reads its files, with the
// messages and exit-code sentinels of Cumulus ETL.
func loadAuth(cfg AuthConfig) (authSetup, error) {
	basic := cfg.BasicUser != "" || cfg.BasicPasswordFile != ""
	bearer := cfg.BearerTokenFile != ""
	smart := cfg.ClientID != "" || cfg.KeyPath != "" || cfg.KID != ""
	if countTrue(basic, bearer, smart) > 1 {
		return authSetup{}, fmt.Errorf("%w: multiple authentication methods have been specified; give only one of SMART (--smart-client-id/--smart-key), --basic-user/--basic-passwd, or --bearer-token", ErrArgsConflict)
	}
	switch {
	case basic:
		if cfg.BasicUser == "" || cfg.BasicPasswordFile == "" {
			return authSetup{}, fmt.Errorf("%w: you must provide both --basic-user and --basic-passwd to connect to a Basic auth server", ErrBasicCredentialsMissing)
		}
		pw, err := readSecretFile("--basic-passwd", cfg.BasicPasswordFile)
		if err != nil {
			return authSetup{}, err
		}
		return authSetup{static: "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.BasicUser+":"+pw))}, nil
	case bearer:
		tok, err := readSecretFile("--bearer-token", cfg.BearerTokenFile)
		if err != nil {
			return authSetup{}, err
		}
		return authSetup{static: "Bearer " + tok}, nil
	case smart:
		if cfg.ClientID == "" || cfg.KeyPath == "" {
			return authSetup{}, fmt.Errorf("%w: you must provide both --smart-client-id and --smart-key to connect to a SMART FHIR server", ErrCredentialsMissing)
		}
		id, err := readClientID(cfg.ClientID)
		if err != nil {
			return authSetup{}, err
		}
		key, err := auth.LoadKey(cfg.KeyPath, cfg.KID)
		if err != nil {
			return authSetup{}, fmt.Errorf("%w: --smart-key: %w", ErrCredentialFile, err)
		}
		return authSetup{clientID: id, key: key}, nil
	}
	return authSetup{}, nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// readSecretFile returns the trimmed content of a credential file, which must not be empty.
func readSecretFile(flag, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrCredentialFile, flag, err)
	}
	s := fileText(data)
	if s == "" {
		return "", fmt.Errorf("%w: %s file %s is empty", ErrCredentialFile, flag, path)
	}
	return s, nil
}

// readClientID takes --smart-client-id as the path of a file holding the id when such a file
// exists, and as the id itself otherwise (as Cumulus ETL does).
func readClientID(value string) (string, error) {
	data, err := os.ReadFile(value)
	switch {
	case err == nil:
		id := fileText(data)
		if id == "" {
			return "", fmt.Errorf("%w: --smart-client-id file %s is empty", ErrCredentialFile, value)
		}
		return id, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.ENOTDIR):
		return value, nil
	default:
		return "", fmt.Errorf("%w: --smart-client-id: %w", ErrCredentialFile, err)
	}
}

// fileText is a credential file's content without a leading UTF-8 byte order mark (Windows
// editors add one) and surrounding white space, CRLF included.
func fileText(data []byte) string {
	return strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
}

// staticCredential is a fixed Authorization value (basic or bearer), or "" for none.
type staticCredential string

func (s staticCredential) authorization(context.Context) (string, error) { return string(s), nil }
func (s staticCredential) refresh(string) bool                           { return false }

// tokenCredential hands out SMART access tokens from a cache.
type tokenCredential struct {
	cache *auth.TokenCache
}

func (t tokenCredential) authorization(ctx context.Context) (string, error) {
	tok, err := t.cache.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: %w", ErrAuthFailed, err)
	}
	return "Bearer " + tok, nil
}

func (t tokenCredential) refresh(stale string) bool {
	t.cache.Invalidate(strings.TrimPrefix(stale, "Bearer "))
	return true
}
