package cli

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/openrc"
	"github.com/supervision-suite/supervision/internal/scancmd"
)

const rcLong = `sv-rc is the OpenRC side of the suite: /etc/init.d/sv.NAME (a link to
/etc/init.d/supervision) runs 'sv-rc start NAME' and the like, and
/etc/init.d/supervision runs the chosen backend's scanner with 'sv-rc scan'.
sv-init's stage scripts use it too: 'scan' as stage 2, 'stop-all -v' and
'scan-stop' in stage 3.

start syncs the service from its OPTIONS, links it into the scan dir marked
down, has the scanner look, sends up, and waits until the daemon runs, is
ready (SVC_READY), has run for the settle time since the daemon's exec
(the mark in supervise/exec; none by default), and then waits for
something: every thread of it sleeps (read from /proc; up to 5s more). A
daemon that exits at once never does. A daemon that exits, restarts or is
not ready in time is a failure, and so is a start interrupted by SIGINT or
SIGTERM (OpenRC giving up, ^C): the reason and the last lines of its log
go to stderr, and the service is left stopped.

With --request TOKEN (builtin backend; /etc/init.d/supervision passes
it), start first reads sv-scan's answer to the start request TOKEN that
the init script sent it (the line 'NAME TOKEN' in SCANDIR/.sv-scan/start):
sv-scan starts a service whose dir is as its last sync left it at once,
and start then only watches that start, to the same verdicts; otherwise
it makes the whole start itself.

The backend, the tree and the settle time come from the flags, else from
the environment that /etc/conf.d/supervision sets: SV_BACKEND (builtin,
runit, s6, daemontools), SV_ROOT, SV_SETTLE.

Exit status: 0 success, 1 a start or stop that failed, 100 a usage error or
invalid OPTIONS, 111 a system error; status: 0 started, 3 stopped, 32
crashed.`

type rcOpts struct {
	backend, root string
	settle        time.Duration
}

func (o *rcOpts) runner() (*openrc.Runner, error) {
	sup, settle, err := openrc.Config(o.backend, o.settle)
	if err != nil {
		return nil, &usageError{err}
	}
	l, err := layout.FromEnv(o.root)
	if err != nil {
		return nil, err
	}
	exec, err := execCommand()
	if err != nil {
		return nil, err
	}
	return &openrc.Runner{Gen: gen.New(l, exec), Backend: sup, ScanDir: l.ScanDir, Settle: settle}, nil
}

// nameCmd is a subcommand acting on one service NAME through the runner.
func nameCmd(o *rcOpts, use, short string, run func(cmd *cobra.Command, r *openrc.Runner, name string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args:  exactArgs(1, "the service NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.runner()
			if err != nil {
				return err
			}
			return run(cmd, r, args[0])
		},
	}
}

// failed is exit 1 with err's message: a start, stop or reload that did
// not happen.
func failed(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: 1, msg: err.Error()}
}

func newRCCmd() *cobra.Command {
	o := &rcOpts{}
	cmd := &cobra.Command{
		Use:   "rc",
		Short: "Start, stop and report services for OpenRC (sv.NAME)",
		Long:  rcLong,
	}
	cmd.PersistentFlags().StringVar(&o.backend, "backend", "", "the supervisor: builtin, runit, s6 or daemontools (default $SV_BACKEND, else builtin)")
	cmd.PersistentFlags().StringVar(&o.root, "root", "", "relocate the whole tree under `DIR` (default $SV_ROOT, else /)")
	cmd.PersistentFlags().DurationVar(&o.settle, "settle", -1, "how long a started daemon must stay up after its exec before it first waits for something (default $SV_SETTLE, else 0)")
	// -1 only marks the flag as not given: the help says what the default
	// is, and must not add "(default -1ns)".
	cmd.PersistentFlags().Lookup("settle").DefValue = "0s"
	cmd.AddCommand(rcStartCmd(o), rcStopCmd(o), rcStatusCmd(o), rcReloadCmd(o), rcDependCmd(o), rcDependAllCmd(o),
		rcScanCmd(o), rcScanReadyCmd(o), rcScanStopCmd(o), rcStopAllCmd(o), rcBackendsCmd())
	return cmd
}

// interruptible is a context that ends on SIGINT or SIGTERM: OpenRC
// interrupts a start that hangs, and the service must not be left half up.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func rcStartCmd(o *rcOpts) *cobra.Command {
	var token string
	cmd := nameCmd(o, "start", "Start a service and wait until it is up and ready; fail with the reason",
		func(cmd *cobra.Command, r *openrc.Runner, name string) error {
			// Asked for before anything is done (the first Notify
			// starts a goroutine and a thread, which takes a while):
			// a signal that came before the handler would end sv-rc
			// silently, with the service linked.
			ctx, cancel := interruptible()
			defer cancel()
			if token == "" {
				return rcResult(r.Start(ctx, name))
			}
			return rcResult(r.StartRequested(ctx, name, token))
		})
	cmd.Flags().StringVar(&token, "request", "", "the `TOKEN` of the start request sent to sv-scan (/etc/init.d/supervision does): watch the start it made, or make it")
	cmd.PreRunE = checkRequestToken(&token)
	return cmd
}

// checkRequestToken refuses a --request token that no request could carry.
func checkRequestToken(token *string) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		if *token == "" {
			return nil
		}
		if err := openrc.CheckToken(*token); err != nil {
			return &usageError{fmt.Errorf("--request: %w", err)}
		}
		return nil
	}
}

// rcResult turns a failed start into its reason and log lines on stderr
// and exit 1; invalid OPTIONS stay a permanent failure (100).
func rcResult(err error) error {
	var f *backend.Failure
	switch {
	case err == nil:
		return nil
	case errors.As(err, &f):
		msg := f.Error()
		if len(f.Log) > 0 {
			msg += "\nlast lines of its log:"
			for _, l := range f.Log {
				msg += "\n  " + l
			}
		}
		return &exitError{code: 1, msg: msg}
	case openrc.IsInvalid(err):
		return &exitError{code: ExitPermanent, msg: err.Error()}
	}
	return err
}

func rcStopCmd(o *rcOpts) *cobra.Command {
	var token string
	cmd := nameCmd(o, "stop", "Stop a service within SVC_STOP_TIMEOUT (KILL after it) and unlink it",
		func(cmd *cobra.Command, r *openrc.Runner, name string) error {
			ctx, cancel := interruptible()
			defer cancel()
			if token == "" {
				return failed(r.Stop(ctx, name))
			}
			return failed(r.StopRequested(ctx, name, token))
		})
	cmd.Flags().StringVar(&token, "request", "", "the `TOKEN` of a start request sent to sv-scan whose start was interrupted: wait for sv-scan's answer to it first, so that it starts nothing after the stop")
	cmd.PreRunE = checkRequestToken(&token)
	return cmd
}

func rcStatusCmd(o *rcOpts) *cobra.Command {
	return nameCmd(o, "status", "Say whether a service is started (0), stopped (3) or crashed (32)",
		func(cmd *cobra.Command, r *openrc.Runner, name string) error {
			code, text := r.Status(name)
			fmt.Fprintln(cmd.OutOrStdout(), text)
			if code != openrc.StatusStarted {
				return &exitError{code: code}
			}
			return nil
		})
}

func rcReloadCmd(o *rcOpts) *cobra.Command {
	return nameCmd(o, "reload", "Send a running service its SVC_RELOAD_SIGNAL",
		func(cmd *cobra.Command, r *openrc.Runner, name string) error {
			return failed(r.Reload(name))
		})
}

func rcDependCmd(o *rcOpts) *cobra.Command {
	return nameCmd(o, "depend", "Print the service's OpenRC dependencies, one keyword per line",
		func(cmd *cobra.Command, r *openrc.Runner, name string) error {
			lines, err := r.Depend(name)
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			return err
		})
}

func rcDependAllCmd(o *rcOpts) *cobra.Command {
	var pass string
	cmd := &cobra.Command{
		Use:   "depend-all --pass PID-STARTTIME",
		Short: "Write every service's OpenRC dependencies for one deptree pass (sv.NAME's depend() runs it)",
		Long: `depend-all writes the depend() of every service of the tree into
RUNDIR/openrc-depend/PASS/NAME, where each sv.NAME's depend() reads its own
with shell builtins for the rest of OpenRC's deptree pass: one Go program
per pass instead of one per service. PASS is the pid of the shell OpenRC
sources the init scripts in and its start time (field 22 of
/proc/PID/stat). A service whose OPTIONS do not load gets no file: its
depend() runs 'sv-rc depend NAME', which says why.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.runner()
			if err != nil {
				return err
			}
			return r.DependAll(pass)
		},
	}
	cmd.Flags().StringVar(&pass, "pass", "", "the deptree pass, `PID-STARTTIME`")
	cmd.MarkFlagRequired("pass")
	return cmd
}

func rcScanCmd(o *rcOpts) *cobra.Command {
	var logPath string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Run the backend's scanner on the scan dir (it replaces sv-rc)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.runner()
			if err != nil {
				return err
			}
			// After a boot, the services enabled in the tree; sv-scan
			// links them itself, once it holds the scan dir's lock.
			if r.Backend.Name() != "builtin" {
				restored, err := r.RestoreEnabled()
				scancmd.ReportRestored(cmd.ErrOrStderr(), "sv-rc scan", r.Gen.Layout, restored, err, true)
			}
			return r.ExecScanner(logPath)
		},
	}
	cmd.Flags().StringVar(&logPath, "log", "", "append the scanner's own messages to `FILE`")
	return cmd
}

func rcScanReadyCmd(o *rcOpts) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "scan-ready",
		Short: "Wait until the scanner answers on the scan dir",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.runner()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := backend.WaitScanner(ctx, r.Backend, r.ScanDir); err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("the %s scanner does not answer on %s after %s", r.Backend.Name(), r.ScanDir, timeout)}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	return cmd
}

func rcScanStopCmd(o *rcOpts) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "scan-stop",
		Short: "Have the scanner stop every service and exit, and wait until it has",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.runner()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			switch err := backend.StopScanner(ctx, r.Backend, r.ScanDir); {
			case errors.Is(err, context.DeadlineExceeded):
				return &exitError{code: 1, msg: fmt.Sprintf("the %s scanner still runs on %s after %s", r.Backend.Name(), r.ScanDir, timeout)}
			case err != nil:
				return &exitError{code: 1, msg: fmt.Sprintf("the %s scanner on %s: %v", r.Backend.Name(), r.ScanDir, err)}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	return cmd
}

func rcStopAllCmd(o *rcOpts) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "stop-all",
		Short: "Stop every service in the scan dir, each within its stop timeout",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.runner()
			if err != nil {
				return err
			}
			ctx, cancel := interruptible()
			defer cancel()
			var report func(backend.Stopped)
			if verbose {
				var mu sync.Mutex
				report = func(s backend.Stopped) {
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintln(cmd.OutOrStdout(), s)
				}
			}
			return failed(backend.StopAll(ctx, r.Backend, r.ScanDir, r.StopTimeout, report))
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "say each service stopped, how long it took and how its daemon ended")
	return cmd
}

func rcBackendsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backends",
		Short: "List the backends and what each supervisor cannot do",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, n := range backend.Names() {
				sup, _ := backend.Get(n)
				limits := sup.Limits()
				if limits == "" {
					limits = "no known limits"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", n, limits)
			}
			return nil
		},
	}
}
