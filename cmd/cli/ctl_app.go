package cli

import (
	"encoding/json"
	"fmt"
	"time"

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
	for _, c := range []struct{ use, short string }{
		{"start", "Start an application's members, each once what it depends on is ready"},
		{"stop", "Stop an application's members, each after what depends on it"},
		{"restart", "Stop an application, then start it (--rolling: one member at a time)"},
	} {
		cmd.AddCommand(ctlAppActionCmd(o, c.use, c.short))
	}
	return cmd
}

func ctlAppActionCmd(o *ctlOpts, use, short string) *cobra.Command {
	rolling := false
	cmd := &cobra.Command{
		Use:   use + " APP",
		Short: short,
		Long: short + `. sv-scan orders the members by their dependencies
(SVC_NEED, SVC_AFTER...): a start sends up to every member, what each
depends on first, and sv-scan starts each once what it depends on is
ready; a stop sends down, and sv-scan stops each after what depends on
it. With -w, it waits until every member is ready (or done, a oneshot)
or down, within --timeout; a member given up ends the wait at once, and
the error names it.`,
		Args: exactArgs(1, "the APP name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return o.remoteAppAction(cmd, use, args[0], rolling)
			}
			members, err := o.appMembers(args[0])
			if err != nil {
				return err
			}
			switch {
			case use == "restart" && rolling:
				return o.appRolling(cmd, members)
			case use == "restart":
				if err := o.appStop(cmd, members, true); err != nil {
					return err
				}
				return o.appStart(cmd, members, o.wait)
			case use == "start":
				return o.appStart(cmd, members, o.wait)
			}
			return o.appStop(cmd, members, o.wait)
		},
	}
	cmd.Flags().BoolVarP(&o.wait, "wait", "w", false, "wait until every member is ready (start) or down (stop)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 60*time.Second, "how long a wait, or each step of a restart, may take")
	if use == "restart" {
		cmd.Flags().BoolVar(&rolling, "rolling", false, "restart one member at a time, each ready again before the next")
	}
	return cmd
}

// appMembers are the services of the application in the scan dir, what
// each depends on first.
func (o *ctlOpts) appMembers(name string) ([]svctl.Service, error) {
	l, err := layout.FromEnv(o.root)
	if err != nil {
		return nil, err
	}
	g := gen.New(l, nil)
	of, err := g.Apps()
	if err != nil {
		return nil, err
	}
	graph, _, err := g.Graph()
	if err != nil {
		return nil, err
	}
	r, err := o.resolver()
	if err != nil {
		return nil, err
	}
	members, err := svctl.AppMembers(r, of, name, graph.Order)
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, &exitError{code: app.ExitUnknown, msg: fmt.Sprintf("%s: no service of it in %s", name, r.ScanDir)}
	}
	return members, nil
}

// appStart sends up to each member, what it depends on first; with wait,
// until each is ready or done.
func (o *ctlOpts) appStart(cmd *cobra.Command, members []svctl.Service, wait bool) error {
	before := map[string]svctl.Info{}
	for _, m := range members {
		before[m.Dir], _ = svctl.Status(m)
		if err := svctl.Send(m, "u"); err != nil {
			return err
		}
	}
	if !wait {
		return nil
	}
	return waitAll(cmd, o, members, svctl.WaitReady, func(m svctl.Service) func(svctl.Info) (bool, error) {
		return svctl.Started(before[m.Dir])
	})
}

// appStop sends down to each member, what depends on it first; with
// wait, until each is down.
func (o *ctlOpts) appStop(cmd *cobra.Command, members []svctl.Service, wait bool) error {
	for i := len(members) - 1; i >= 0; i-- {
		if err := svctl.Send(members[i], "d"); err != nil {
			return err
		}
	}
	if !wait {
		return nil
	}
	return waitAll(cmd, o, members, svctl.WaitDown, func(svctl.Service) func(svctl.Info) (bool, error) { return nil })
}

// appRolling restarts one member at a time, in order, each ready again
// before the next; oneshots run again.
func (o *ctlOpts) appRolling(cmd *cobra.Command, members []svctl.Service) error {
	for _, m := range members {
		before, _ := svctl.Status(m)
		if err := svctl.Send(m, "tcu"); err != nil {
			return err
		}
		if err := waitAll(cmd, o, []svctl.Service{m}, svctl.WaitReady, func(svctl.Service) func(svctl.Info) (bool, error) {
			if before.Oneshot {
				return svctl.Started(before)
			}
			return svctl.Restarted(before.Pid)
		}); err != nil {
			return err
		}
	}
	return nil
}

func ctlAppStatusCmd(o *ctlOpts) *cobra.Command {
	asJSON := false
	cmd := &cobra.Command{
		Use:   "status [APP...]",
		Short: "Show the state and failures of applications",
		Long:  ctlAppLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return o.remoteAppStatus(cmd, args, asJSON)
			}
			l, err := layout.FromEnv(o.root)
			if err != nil {
				return err
			}
			of := func() map[string]app.Membership {
				m, _ := gen.New(l, nil).Apps() // a tree without OPTIONS has no application
				return m
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
