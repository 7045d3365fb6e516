package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroup is a titled section of a command's --help, listing flags by name.
type flagGroup struct {
	title string
	names []string
}

// setGroupedHelp makes cmd's --help list its flags in the given sections, in order, like
// Cumulus ETL's argparse groups; flags no section names are listed last under "Other".
func setGroupedHelp(cmd *cobra.Command, groups []flagGroup) {
	cmd.DisableFlagsInUseLine = true // the Use line already says [OPTION]...
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		var b strings.Builder
		if c.Long != "" {
			fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(c.Long))
		}
		fmt.Fprintf(&b, "Usage:\n  %s\n", c.UseLine())
		listed := map[string]bool{}
		for _, g := range groups {
			set := pflag.NewFlagSet(g.title, pflag.ContinueOnError)
			for _, name := range g.names {
				if f := c.Flags().Lookup(name); f != nil {
					set.AddFlag(f)
					listed[name] = true
				}
			}
			writeFlagSection(&b, g.title, set)
		}
		rest := pflag.NewFlagSet("other", pflag.ContinueOnError)
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !listed[f.Name] {
				rest.AddFlag(f)
			}
		})
		writeFlagSection(&b, "Other", rest)
		fmt.Fprint(c.OutOrStdout(), b.String())
	})
}

func writeFlagSection(b *strings.Builder, title string, set *pflag.FlagSet) {
	if !set.HasFlags() {
		return
	}
	set.SortFlags = false
	fmt.Fprintf(b, "\n%s:\n%s", title, set.FlagUsages())
}

// exportFlagNames and authFlagNames are the flags addExportFlags and addAuthFlags register.
var (
	exportFlagNames = []string{"export-to", "type-filter", "since", "until", "elements", "patient", "post",
		"resume", "max-poll-interval", "partial-manifests", "parallel", "quiet"}
	authFlagNames = []string{"smart-client-id", "smart-key", "smart-jwks", "smart-kid", "basic-user",
		"basic-passwd", "bearer-token", "ca-file"}
)
