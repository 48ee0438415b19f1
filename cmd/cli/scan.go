package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/scancmd"
)

// newScanCmd is sv-scan in the multi-call binary: its flags and help are
// scancmd's, which the lean sv-scan program (cmd/sv-scan) runs too.
func newScanCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "scan [SCANDIR]",
		Short:              scancmd.Short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := scancmd.Main(cmd.CommandPath(), args, cmd.OutOrStdout(), cmd.ErrOrStderr()); code != ExitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// reportRestored says what the restore of a tree's enabled services
// could not do, and with verbose what it did, as who (sv-rc scan).
func reportRestored(w io.Writer, who string, l layout.Layout, r gen.Restored, err error, verbose bool) {
	scancmd.ReportRestored(w, who, l, r, err, verbose)
}
