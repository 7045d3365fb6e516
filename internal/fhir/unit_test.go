package fhir

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cumulus-etl/internal/redact"
)

// TestParseRetryAfter_ST05_EC02: delay-seconds and all three HTTP-date forms are read; "-5",
// "1.5" and garbage are not (the caller backs off instead), and nothing turns into a hot loop.
// A number that reads as a Unix time near now, in seconds or in milliseconds, is that instant
// (issue 13 item 1: the SMART reference server sends both); a huge number that is neither is garbage.
func TestParseRetryAfter_ST05_EC02(t *testing.T) {
	now := time.Date(1999, 12, 31, 23, 59, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		form  RetryAfterForm
	}{
		{"120", 120 * time.Second, RetryAfterSeconds},
		{"0", 0, RetryAfterSeconds},
		{"Fri, 31 Dec 1999 23:59:59 GMT", 59 * time.Second, RetryAfterDate},
		{"Friday, 31-Dec-99 23:59:59 GMT", 59 * time.Second, RetryAfterDate},
		{"Fri Dec 31 23:59:59 1999", 59 * time.Second, RetryAfterDate},
		{"Fri, 31 Dec 1999 23:59:59 +0000", 59 * time.Second, RetryAfterDate},
		{"Fri, 31 Dec 1999 23:58:00 GMT", -time.Minute, RetryAfterDate},
		{strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10), 5 * time.Minute, RetryAfterEpochSeconds},
		{strconv.FormatInt(now.Add(5*time.Minute).UnixMilli(), 10), 5 * time.Minute, RetryAfterEpochMillis},
		{strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10), -time.Hour, RetryAfterEpochMillis},
		{"99999999999999999999", 0, RetryAfterInvalid},
		{"5000000000000000", 0, RetryAfterInvalid},
		{"", 0, RetryAfterAbsent},
		{"-5", 0, RetryAfterInvalid},
		{"1.5", 0, RetryAfterInvalid},
		{"soon", 0, RetryAfterInvalid},
	}
	for _, tt := range tests {
		got := ParseRetryAfter(tt.value, now)
		if got.Delay != tt.want || got.Form != tt.form {
			t.Errorf("ParseRetryAfter(%q) = %v, form %d; want %v, form %d", tt.value, got.Delay, got.Form, tt.want, tt.form)
		}
	}
}

// TestSameOrigin_GO01: scheme, host and port must all match; default ports are explicit.
func TestSameOrigin_GO01(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://ehr.example/fhir/", "https://EHR.example:443/files/x", true},
		{"https://ehr.example/", "http://ehr.example/", false},
		{"https://ehr.example/", "https://ehr.example:8443/", false},
		{"https://ehr.example/", "https://files.ehr.example/", false},
		{"https://ehr.example/", "https://ehr.example.evil.example/", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := sameOrigin(a, b); got != tt.want {
			t.Errorf("sameOrigin(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

// TestLoadAuth_ExitCodeSentinels: exactly one method; half-given or conflicting sets fail with
// Cumulus ETL's errors (exit 15, 22, 23, 25).
func TestLoadAuth_ExitCodeSentinels(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(file, []byte("s3cret\n"), 0o600)
	_ = os.WriteFile(empty, nil, 0o600)
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		cfg  AuthConfig
		want error
	}{
		{"none", AuthConfig{}, nil},
		{"smart and basic", AuthConfig{ClientID: "c", KeyPath: file, BasicUser: "u", BasicPasswordFile: file}, ErrArgsConflict},
		{"bearer and basic", AuthConfig{BearerTokenFile: file, BasicUser: "u"}, ErrArgsConflict},
		{"client id only", AuthConfig{ClientID: "c"}, ErrCredentialsMissing},
		{"key only", AuthConfig{KeyPath: file}, ErrCredentialsMissing},
		{"kid only", AuthConfig{KID: "k"}, ErrCredentialsMissing},
		{"user only", AuthConfig{BasicUser: "u"}, ErrBasicCredentialsMissing},
		{"password only", AuthConfig{BasicPasswordFile: file}, ErrBasicCredentialsMissing},
		{"password file missing", AuthConfig{BasicUser: "u", BasicPasswordFile: missing}, ErrCredentialFile},
		{"bearer file empty", AuthConfig{BearerTokenFile: empty}, ErrCredentialFile},
		{"key not a key", AuthConfig{ClientID: "c", KeyPath: file}, ErrCredentialFile},
		{"basic ok", AuthConfig{BasicUser: "u", BasicPasswordFile: file}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadAuth(tt.cfg)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Error("error shows a secret")
			}
		})
	}
}

// TestReadClientID: the value is a file path when such a file exists, else the id itself
// (including ids too long to be a path).
func TestReadClientID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id")
	_ = os.WriteFile(path, []byte("  from-file\n"), 0o600)
	long := strings.Repeat("x", 5000)
	for value, want := range map[string]string{path: "from-file", "literal-id": "literal-id", long: long, "a/b/c": "a/b/c"} {
		if got, err := readClientID(value); err != nil || got != want {
			t.Errorf("readClientID(%.20q) = %q, %v", value, got, err)
		}
	}
}

// TestCredentialFiles_BOMAndCRLF_AU11: a client-id, password or token file saved by a Windows
// editor (UTF-8 byte order mark, CRLF) yields the bare value; a BOM left in the client id
// would become part of the assertion's iss and sub, and the server would answer invalid_client.
func TestCredentialFiles_BOMAndCRLF_AU11(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"BOM and CRLF", "\ufeffmy-client\r\n", "my-client"},
		{"CRLF only", "my-client\r\n", "my-client"},
		{"BOM only", "\ufeffmy-client", "my-client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := readClientID(path); err != nil || got != tt.want {
				t.Errorf("readClientID = %q, %v; want %q", got, err, tt.want)
			}
			if got, err := readSecretFile("--bearer-token", path); err != nil || got != tt.want {
				t.Errorf("readSecretFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestRedactURL_AU24: credential-like query values and passwords never reach messages.
func TestRedactURL_AU24(t *testing.T) {
	u, _ := url.Parse("https://user:pw@s3.example/b/f.ndjson?X-Amz-Signature=abc&X-Amz-Credential=def&part=1")
	got := redact.Of(u)
	if strings.Contains(got, "abc") || strings.Contains(got, "def") || strings.Contains(got, ":pw@") || !strings.Contains(got, "part=1") {
		t.Errorf("redact.Of = %s", got)
	}
}
