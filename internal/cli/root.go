// Package cli builds the cumulus-etl command line: one file per subcommand, flags copied into
// plain config structs, and errors mapped to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the program version, set at build time with -ldflags "-X cumulus-etl/internal/cli.Version=...".
var Version = "0.1.0-dev"

// ExitError carries the exit code a failure should end the program with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an *ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// newRoot builds the root command with every subcommand attached.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "cumulus-etl",
		Short: "Extract bulk FHIR data and turn it into de-identified research tables",
		Long: `Extract bulk FHIR data and turn it into de-identified research tables.

Run:   cumulus-etl [etl] [OPTION]... INPUT OUTPUT PHI
       (etl is the default command; see cumulus-etl etl --help)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err}
	})
	root.AddCommand(subcommandConstructors()...)
	return root
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w (usage: %s)", err, cmd.UseLine())}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs with a usage exit code.
func noArgs(cmd *cobra.Command, args []string) error {
	return exactArgs(0)(cmd, args)
}

// newVersionCmd builds "version", which prints what --version prints.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version (same as --version)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s version %s\n", cmd.Root().Name(), Version)
			return err
		},
	}
}

// subcommandConstructors builds every subcommand; each lives in its own file.
func subcommandConstructors() []*cobra.Command {
	return []*cobra.Command{newETLCmd(), newExportCmd(), newInlineCmd(), newHydrateCmd(), newKeygenCmd(), newVersionCmd()}
}

// Main runs the command line and returns the process exit code. Ctrl-C or SIGTERM cancel ctx, so
// every command stops cleanly (temporary files removed, partial tables discarded); an interrupted
// command prints one line and exits ExitInterrupted (SIGINT) or ExitTerminated (SIGTERM).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	if len(args) == 0 {
		root.SetOut(stderr)
		_ = root.Help()
		return ExitUsage
	}
	root.SetArgs(withDefaultSubcommand(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return interrupted(ctx, stderr, err)
	}
	fmt.Fprintln(stderr, "cumulus-etl:", err)
	var exitErr *ExitError
	if errors.As(err, &exitErr) {
		return exitErr.Code
	}
	return ExitGeneric
}

// tuneGC collects garbage less often than Go's default unless GOGC or GOMEMLIMIT say otherwise:
// the live heap is small (tens of MB) and made of short-lived rows, so this saves about 15% of the
// CPU, while the soft memory limit keeps the heap well inside a 300 MB budget whatever the input.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(200 << 20)
	}
}

// withDefaultSubcommand inserts "etl" when the first non-flag argument is not a known
// subcommand, as Cumulus ETL does: `cumulus-etl IN OUT PHI` means `cumulus-etl etl IN OUT PHI`.
func withDefaultSubcommand(root *cobra.Command, args []string) []string {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "--version" {
			if len(args) == 1 {
				return args
			}
			continue
		}
		if len(a) > 0 && a[0] == '-' {
			continue
		}
		if a == "help" && a == args[0] {
			return args
		}
		for _, c := range root.Commands() {
			if c.Name() == a || c.HasAlias(a) {
				return args
			}
		}
		break
	}
	if len(args) == 0 {
		return args
	}
	return append([]string{"etl"}, args...)
}

// Run is the entry point used by main.
func Run() {
	tuneGC()
	ctx, stop := signalContext()
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
