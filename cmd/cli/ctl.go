package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

const ctlLong = `sv-ctl shows and controls services, whoever supervises them: sv-scan,
runit's runsv, daemontools' supervise or s6-supervise. A service is named
(looked up in the scan dir, then in the definitions) or given as a path;
'all' is every service in the scan dir.

Exit status of status and wait: 0 when every service is up or done (a
oneshot that exited 0), or the wait succeeded; 3 when one is down, 1 when one is failing (given up, or wanted
up but not running, or the wait timed out), 4 when one is not supervised or
unknown, 100 for a usage error.`

// Exit codes of sv-ctl status, as LSB init scripts use them.
const (
	exitDown    = 3
	exitFailing = 1
	exitUnknown = 4
)

type ctlOpts struct {
	root, scandir string
	server        string // sv-http's, for --server: unix:PATH or a URL
	timeout       time.Duration
	wait          bool
}

func (o *ctlOpts) resolver() (svctl.Resolver, error) {
	l, err := layout.FromEnv(o.root)
	if err != nil {
		return svctl.Resolver{}, err
	}
	r := svctl.Resolver{ScanDir: l.ScanDir, SvDir: l.SvDir}
	if o.scandir != "" {
		r.ScanDir = o.scandir
	}
	return r, nil
}

// services resolves arguments; none, or "all", is every service linked.
func (o *ctlOpts) services(args []string, defaultAll bool) ([]svctl.Service, error) {
	r, err := o.resolver()
	if err != nil {
		return nil, err
	}
	if (len(args) == 0 && defaultAll) || (len(args) == 1 && args[0] == "all") {
		return r.All()
	}
	var out []svctl.Service
	for _, a := range args {
		svc, err := r.Resolve(a)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

func newCtlCmd() *cobra.Command {
	o := &ctlOpts{}
	cmd := &cobra.Command{
		Use:   "ctl",
		Short: "Show and control services on any supervisor",
		Long:  ctlLong,
	}
	cmd.PersistentFlags().StringVar(&o.root, "root", "", "the tree's root (default $SV_ROOT, else /)")
	cmd.PersistentFlags().StringVar(&o.scandir, "scandir", "", "the scan `DIR` (default: the tree's run/sv/service)")
	cmd.PersistentFlags().StringVar(&o.server, "server", "", "act through sv-http at `unix:PATH` or http://HOST:PORT (its token in $SV_HTTP_TOKEN), not on the scan dir")
	cmd.AddCommand(ctlStatusCmd(o), ctlWaitCmd(o), ctlLogCmd(o), ctlSignalCmd(o), ctlEventsCmd(o), ctlDepsCmd(o), ctlAppCmd(o), ctlMetricsCmd(o))
	for _, c := range []struct{ use, short, letters, wait string }{
		{"up", "Start services and keep them up, and what they need or want", "u", svctl.WaitReady},
		{"down", "Stop services and keep them down, and what needs them", "d", svctl.WaitDown},
		{"once", "Start services once, not restarting them", "o", svctl.WaitUp},
		{"restart", "Restart services (stop signal, then up)", "tcu", "restarted"},
		{"reload", "Send services their reload signal (SVC_RELOAD_SIGNAL)", "h", ""},
		{"exit", "Stop services and end their supervision", "x", ""},
	} {
		cmd.AddCommand(ctlActionCmd(o, c.use, c.short, c.letters, c.wait))
	}
	return cmd
}

func ctlActionCmd(o *ctlOpts, use, short, letters, wait string) *cobra.Command {
	noDeps := false
	withDeps := use == "up" || use == "down"
	cmd := &cobra.Command{
		Use:   use + " NAME...|all",
		Short: short,
		Args:  minArgs(1, "one or more service NAMEs, paths, or all"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return o.remoteAction(cmd, use, args, "")
			}
			svcs, err := o.services(args, false)
			if err != nil {
				return err
			}
			if withDeps && !noDeps && !(len(args) == 1 && args[0] == "all") {
				if svcs, err = o.withDeps(cmd.ErrOrStderr(), cmd.CommandPath(), use, svcs); err != nil {
					return err
				}
			}
			before := map[string]svctl.Info{}
			for _, svc := range svcs {
				if info, err := svctl.Status(svc); err == nil {
					before[svc.Dir] = info
				}
				if err := svctl.Send(svc, letters); err != nil {
					return err
				}
			}
			if !o.wait || wait == "" {
				return nil
			}
			return waitAll(cmd, o, svcs, wait, func(svc svctl.Service) func(svctl.Info) (bool, error) {
				if wait == "restarted" {
					return svctl.Restarted(before[svc.Dir].Pid)
				}
				return svctl.After(before[svc.Dir], wait)
			})
		},
	}
	if withDeps {
		what := map[string]string{"up": "what it needs or wants", "down": "what needs it"}[use]
		cmd.Flags().BoolVar(&noDeps, "no-deps", false, "act on the services named only, not on "+what)
	}
	if wait != "" {
		cmd.Flags().BoolVarP(&o.wait, "wait", "w", false, "wait until it took effect ("+wait+")")
		cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long --wait waits")
	}
	return cmd
}

// waitAll waits for each service; the first failure is the error.
func waitAll(cmd *cobra.Command, o *ctlOpts, svcs []svctl.Service, cond string, custom func(svctl.Service) func(svctl.Info) (bool, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	for _, svc := range svcs {
		var err error
		if f := custom(svc); f != nil {
			_, err = svctl.WaitFor(ctx, svc, cond, f)
		} else {
			_, err = svctl.Wait(ctx, svc, cond)
		}
		if errors.Is(err, svctl.ErrUnsupervised) {
			return &exitError{code: exitUnknown, msg: cmd.CommandPath() + ": " + err.Error()}
		}
		if err != nil {
			return &exitError{code: exitFailing, msg: cmd.CommandPath() + ": " + err.Error()}
		}
	}
	return nil
}

func ctlWaitCmd(o *ctlOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wait up|ready|down NAME...|all",
		Short: "Wait until services are up, ready or down",
		Long: `wait returns once every service is up (running), ready (running and ready
by SVC_READY; with runit, ./check exits 0) or down, woken by the
supervisor's status changes. A service no supervisor runs is down; waiting
for it to be up or ready waits for a supervisor to take it over (as after
linking it into the scan dir). It fails at once when the supervisor gives a
service up (exit 1), and after --timeout otherwise, saying where the
service stands (exit 1, or 4 when it is still not supervised).`,
		Args: minArgs(2, "up, ready or down, then one or more services"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case svctl.WaitUp, svctl.WaitReady, svctl.WaitDown:
			default:
				return &usageError{fmt.Errorf("wait %s: want up, ready or down", args[0])}
			}
			if o.server != "" {
				return o.remoteWait(cmd, args[0], args[1:])
			}
			svcs, err := o.services(args[1:], false)
			if errors.Is(err, svctl.ErrUnknown) {
				return &exitError{code: exitUnknown, msg: cmd.CommandPath() + ": " + err.Error()}
			}
			if err != nil {
				return err
			}
			return waitAll(cmd, o, svcs, args[0], func(svctl.Service) func(svctl.Info) (bool, error) { return nil })
		},
	}
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

func ctlSignalCmd(o *ctlOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "signal SIGNAL NAME...|all",
		Short: "Send a signal to services (a name like HUP, or a number)",
		Args:  minArgs(2, "a SIGNAL, then one or more services"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := options.ParseSignal(args[0])
			if err != nil {
				return &usageError{err}
			}
			if o.server != "" {
				return o.remoteAction(cmd, "signal", args[1:], args[0])
			}
			svcs, err := o.services(args[1:], false)
			if err != nil {
				return err
			}
			for _, svc := range svcs {
				if err := svctl.Signal(svc, sig); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func ctlLogCmd(o *ctlOpts) *cobra.Command {
	var follow bool
	var n int
	cmd := &cobra.Command{
		Use:   "log NAME",
		Short: "Print a service's log (the last lines, or follow it)",
		Args:  exactArgs(1, "one service NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return o.remoteLog(cmd, args[0], n, follow)
			}
			svcs, err := o.services(args, false)
			if err != nil {
				return err
			}
			dir, err := svctl.LogDir(svcs[0])
			if err != nil {
				return err
			}
			if err := svctl.Tail(dir, n, cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("%s: %w", svcs[0].Name, err)
			}
			if !follow {
				return nil
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return svctl.Follow(ctx, dir, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing what is written")
	cmd.Flags().IntVarP(&n, "lines", "n", 10, "how many of the last lines to print")
	return cmd
}

func ctlEventsCmd(o *ctlOpts) *cobra.Command {
	var q svctl.EventsQuery
	var lq svctl.ListenerQuery
	var subscribe string
	cmd := &cobra.Command{
		Use:   "events [NAME...]",
		Short: "Print what happened to services under sv-scan, or follow it",
		Long: `events prints sv-scan's events: every change of phase of every service
of the scan dir, numbered, oldest first, as many as sv-scan keeps (the
last 2048 to 4096). NAME keeps the events of that service only; its
logger is NAME/log. --since SEQ prints those after event SEQ; when some
of them are no longer kept, a line says how many are missing (whatever
the NAMEs). --follow then prints the new ones as they come, until
interrupted (exit 0). --json prints each as a line of JSON, the format
of docs/EVENTS.md.

--supervisor-listener COMMAND runs COMMAND (with sh -c), a program
written for supervisord's event listener protocol (superlance's
crashmail, a listener using supervisor.childutils), and tells it the
events to come (or those after --since) as supervisord's
PROCESS_STATE_* events, those --supervisor-events subscribes to; it is
started again if it exits, and goes on from the first event it had not
answered OK. Run it as a service of its own.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if lq.Command != "" && o.server != "" {
				return &usageError{errors.New("--supervisor-listener reads the scan dir's events: not over --server")}
			}
			if lq.Command != "" {
				if len(args) > 0 || q.Follow || q.JSON {
					return &usageError{errors.New("--supervisor-listener takes no NAME, --follow or --json")}
				}
				r, err := o.resolver()
				if err != nil {
					return err
				}
				lq.Events, lq.Since, lq.Log = strings.Split(subscribe, ","), q.Since, cmd.ErrOrStderr()
				ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				return svctl.Listen(ctx, r.ScanDir, lq)
			}
			for _, a := range args {
				if err := svctl.CheckEventName(a); err != nil {
					return &usageError{err}
				}
			}
			if o.server != "" {
				q.Names = args
				return o.remoteEvents(cmd, q)
			}
			r, err := o.resolver()
			if err != nil {
				return err
			}
			q.Names = args
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return svctl.Events(ctx, r.ScanDir, q, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVarP(&q.Follow, "follow", "f", false, "then print the new events as they come")
	cmd.Flags().Uint64Var(&q.Since, "since", 0, "only the events after number `SEQ`")
	cmd.Flags().BoolVar(&q.JSON, "json", false, "print JSON Lines")
	cmd.Flags().StringVar(&lq.Command, "supervisor-listener", "", "run `COMMAND`, a supervisord event listener, and tell it the events")
	cmd.Flags().StringVar(&subscribe, "supervisor-events", "PROCESS_STATE", "the events the listener takes, as supervisord's `events=` (PROCESS_STATE, PROCESS_STATE_FATAL, TICK_60...)")
	cmd.Flags().StringVar(&lq.Pool, "supervisor-pool", "listener", "the pool name in the events' headers")
	return cmd
}

func ctlStatusCmd(o *ctlOpts) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [NAME...|@APP...|all]",
		Short: "Show services: state, pid, uptime, readiness, restarts, last exit, application",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return o.remoteStatus(cmd, args, asJSON)
			}
			// An unknown name is one line on stderr and exit 4 (unknown),
			// and the others are still shown.
			code := ExitOK
			var svcs []svctl.Service
			if len(args) == 0 || (len(args) == 1 && args[0] == "all") {
				all, err := o.services(args, true)
				if err != nil {
					return err
				}
				svcs = all
			}
			for _, a := range args {
				if a == "all" {
					continue
				}
				var s []svctl.Service
				var err error
				if name, ok := strings.CutPrefix(a, "@"); ok {
					s, err = o.appMembers(name)
				} else {
					s, err = o.services([]string{a}, false)
				}
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", cmd.CommandPath(), err)
					code = worse(code, exitUnknown)
					continue
				}
				svcs = append(svcs, s...)
			}
			infos, errs := svctl.Statuses(svcs)
			for i, svc := range svcs {
				if errs[i] != nil {
					infos[i] = svctl.Unknown(svc, errs[i])
				}
			}
			return reportStatus(cmd, infos, code, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// reportStatus prints the services' states, and exits with the worst
// of code and theirs.
func reportStatus(cmd *cobra.Command, infos []svctl.Info, code int, asJSON bool) error {
	for _, i := range infos {
		code = worse(code, statusCode(i))
	}
	if asJSON {
		if err := writeJSON(cmd.OutOrStdout(), infos); err != nil {
			return err
		}
	} else {
		writeStatus(cmd.OutOrStdout(), infos, isTerminal(cmd.OutOrStdout()))
	}
	if code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

func statusCode(i svctl.Info) int {
	switch {
	case i.State == svctl.StateUnsupervised || i.State == svctl.StateUnknown:
		return exitUnknown
	case i.Failing():
		return exitFailing
	case !i.Up() && i.State != svdir.PhaseDone: // a oneshot's success
		return exitDown
	}
	return ExitOK
}

// worse keeps the more serious code: unknown, then failing, then down.
func worse(a, b int) int {
	rank := map[int]int{ExitOK: 0, exitDown: 1, exitFailing: 2, exitUnknown: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func writeStatus(w io.Writer, infos []svctl.Info, color bool) {
	if len(infos) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// The application column, only where some service has one.
	withApp := slices.ContainsFunc(infos, func(i svctl.Info) bool { return i.App != "" })
	appCol := func(app string) string {
		if !withApp {
			return ""
		}
		return cmp.Or(app, "-") + "\t"
	}
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tUPTIME\tREADY\tRESTARTS\tLAST EXIT\t"+appCol("APP")+"NOTE")
	for _, i := range infos {
		pid, ready, restarts := "-", "-", "-"
		if i.Pid != 0 {
			pid = fmt.Sprint(i.Pid)
		}
		if i.Ready != nil && i.Up() {
			ready = map[bool]string{true: "yes", false: "no"}[*i.Ready]
		}
		if i.Restarts != nil {
			restarts = fmt.Sprint(*i.Restarts)
		}
		uptime := "-"
		if i.State != svctl.StateUnsupervised && i.State != "unknown" {
			uptime = svctl.HumanDuration(i.Uptime)
		}
		note := i.Describe()
		for _, s := range []string{i.Waiting, i.Fatal, i.Error, healthNote(i), logNote(i.Log)} {
			if s != "" {
				note = strings.TrimPrefix(note+"; "+s, "; ")
			}
		}
		// Colour codes are zero-width for the eye but not for tabwriter:
		// pad the state first, then colour it.
		state := fmt.Sprintf("%-12s", i.State)
		if color {
			state = paint(i, state)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", i.Name, state, pid, uptime, ready, restarts, svctl.DescribeExit(i.LastExit), appCol(i.App), note)
	}
	tw.Flush()
}

// healthNote says an unhealthy daemon that runs on (SVC_HEALTH_RESTART=no):
// one restarted for it says so in its error.
func healthNote(i svctl.Info) string {
	if i.Health != "unhealthy" || strings.HasPrefix(i.Error, "unhealthy") {
		return ""
	}
	return "unhealthy: " + i.HealthOut
}

func logNote(l *svdir.LogState) string {
	if l == nil || l.Error == "" {
		return ""
	}
	return fmt.Sprintf("log: %s (%d lines dropped)", l.Error, l.Dropped)
}

func paint(i svctl.Info, s string) string {
	code := "2" // dim: down as wanted
	switch {
	case i.Failing():
		code = "31" // red
	case i.IsReady():
		code = "32" // green
	case i.Up() || i.State == svdir.PhaseBackoff || i.State == svdir.PhaseWaiting:
		code = "33" // yellow: starting, stopping
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// isTerminal: colours only for a person at a terminal, and never with
// NO_COLOR set.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
