package cli

import (
	"github.com/spf13/cobra"

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
