package cli

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"cumulus-etl/internal/auth"
	"cumulus-etl/internal/store"
)

// keygenConfig is the keygen command line.
type keygenConfig struct {
	Alg        string
	KID        string
	OutPrivate string
	OutPublic  string
}

// newKeygenCmd builds "keygen", which makes the key pair for SMART Backend Services.
func newKeygenCmd() *cobra.Command {
	cfg := keygenConfig{}
	cmd := &cobra.Command{
		Use:   "keygen [--alg RS384|ES384] [--out-private FILE] [--out-public FILE]",
		Short: "Make a key pair for SMART Backend Services: a private JWKS to keep, a public JWKS to register with the EHR",
		Args:  noArgs,
		// The Use line already lists the flags.
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeygen(cmd.OutOrStdout(), cfg, rand.Reader)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Alg, "alg", auth.AlgRS384, "signing algorithm: RS384 (RSA 2048) or ES384 (EC P-384)")
	f.StringVar(&cfg.KID, "kid", "", "key id (default: random)")
	f.StringVar(&cfg.OutPrivate, "out-private", "private.jwks", "where to write the private JWKS (mode 0600; never overwritten)")
	f.StringVar(&cfg.OutPublic, "out-public", "public.jwks", "where to write the public JWKS to register with the EHR (never overwritten)")
	return cmd
}

// samePath reports whether two file names name one file, symbolic links followed.
func samePath(a, b string) (bool, error) {
	real, err := realPaths(a, b)
	return err == nil && real[0] == real[1], err
}

// runKeygen generates the key, writes both files and prints the next steps.
func runKeygen(out io.Writer, cfg keygenConfig, rnd io.Reader) error {
	if cfg.Alg != auth.AlgRS384 && cfg.Alg != auth.AlgES384 {
		return exitf(ExitArgsInvalid, "--alg %q: use %s or %s", cfg.Alg, auth.AlgRS384, auth.AlgES384)
	}
	if same, err := samePath(cfg.OutPrivate, cfg.OutPublic); err != nil {
		return &ExitError{Code: ExitArgsInvalid, Err: err}
	} else if same {
		return exitf(ExitArgsConflict, "--out-private and --out-public are both %s: the public key would overwrite the private one; give two files", cfg.OutPrivate)
	}
	for _, path := range []string{cfg.OutPrivate, cfg.OutPublic} {
		// A public key left from another pair would no longer match: refuse both, before writing either.
		if _, err := os.Lstat(path); err == nil {
			return exitf(ExitArgsInvalid, "%s already exists; refusing to overwrite a key (move it away or pick --out-private/--out-public)", path)
		}
	}
	if cfg.KID == "" {
		b := make([]byte, 12)
		if _, err := io.ReadFull(rnd, b); err != nil {
			return fmt.Errorf("making a random kid: %w", err)
		}
		cfg.KID = base64.RawURLEncoding.EncodeToString(b)
	}
	key, err := auth.GenerateKey(cfg.Alg, cfg.KID, rnd)
	if err != nil {
		return err
	}
	priv, err := key.PrivateJWKS()
	if err != nil {
		return err
	}
	pub, err := key.PublicJWKS()
	if err != nil {
		return err
	}
	if err := store.WriteFileNew(cfg.OutPrivate, priv, 0o600); errors.Is(err, fs.ErrExist) {
		return exitf(ExitArgsInvalid, "%s already exists; refusing to overwrite a private key", cfg.OutPrivate)
	} else if err != nil {
		return err
	}
	if err := store.WriteFileNew(cfg.OutPublic, pub, 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, keygenNextSteps, cfg.Alg, cfg.KID, cfg.OutPrivate, cfg.OutPublic, cfg.OutPublic, cfg.OutPrivate)
	return err
}

const keygenNextSteps = `Made an %s key with kid %q.
  private key: %s (mode 0600: keep it secret, never share or commit it)
  public key:  %s (safe to share)

Next steps:
  1. Register the public key with your EHR as your backend app's JWK Set: upload %s,
     or host it at an https URL and give the EHR that "JWK Set URL" (preferred: you can
     then rotate keys without re-registering).
       Epic:          create a Backend Systems app, add the public key / JWK Set URL for each
                      environment, and have the hospital's Epic team activate the client ID.
       Oracle Health: register a system account (confidential client, JWT authentication)
                      in the Code Console, with the JWK Set URL.
       Others:        look for "SMART Backend Services", "system app" or "client credentials
                      with private_key_jwt (RS384/ES384)".
  2. When the EHR gives you a client ID, run cumulus-etl with:
       --smart-client-id <CLIENT ID> --smart-key %s
`
