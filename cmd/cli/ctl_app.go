package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/svctl"
)

const ctlAppLong = `An application is the services whose OPTIONS name it in SVC_GROUP_NAME;
SVC_REQUIRED=yes makes a member's failure a major failure of it.

sv-ctl app status prints a line per application: its state (STOPPING if a
member stops; else STARTING if one starts, waits or is between two starts;
else RUNNING if one runs; else STOPPED), whether it has a major and a minor
failure, and the member behind each (given up, blocked, ended on a failure,
or, required, stopped while the application is not). A oneshot that exited
0 is healthy.

Exit status: 0 for applications running with no failure; else the most
serious of 1 (a major failure), 2 (running with a minor failure only),
5 (starting or stopping), 3 (stopped); 4 for an application with no
service in the scan dir.`

func ctlAppCmd(o *ctlOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Show applications: services grouped by SVC_GROUP_NAME",
		Long:  ctlAppLong,
	}
	cmd.AddCommand(ctlAppStatusCmd(o))
	return cmd
}

func ctlAppStatusCmd(o *ctlOpts) *cobra.Command {
	asJSON := false
	cmd := &cobra.Command{
		Use:   "status [APP...]",
		Short: "Show the state and failures of applications",
		Long:  ctlAppLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := layout.FromEnv(o.root)
			if err != nil {
				return err
			}
			of, err := gen.New(l, nil).Apps()
			if err != nil {
				return err
			}
			r, err := o.resolver()
			if err != nil {
				return err
			}
			apps, err := svctl.Apps(r, of, args)
			if err != nil {
				return err
			}
			code := app.ExitOK
			var known []app.Status
			for _, a := range apps {
				if a.State == "" {
					code = app.Worse(code, app.ExitUnknown)
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s: no service of it in %s\n", cmd.CommandPath(), a.Name, r.ScanDir)
					continue
				}
				code = app.Worse(code, a.Code())
				known = append(known, a)
				if !asJSON {
					fmt.Fprintln(cmd.OutOrStdout(), a.Line())
				}
			}
			if asJSON {
				out, _ := json.MarshalIndent(known, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
			}
			if code != app.ExitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, with each application's members")
	return cmd
}
