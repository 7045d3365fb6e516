package cli

import "github.com/spf13/cobra"

// newETLCmd builds the default "etl" subcommand.
func newETLCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "etl [OPTION]... INPUT OUTPUT PHI",
		Short: "Extract, de-identify and write tables (the default command)",
		Args:  cobra.ExactArgs(3),
		RunE:  func(cmd *cobra.Command, args []string) error { return nil },
	}
}
