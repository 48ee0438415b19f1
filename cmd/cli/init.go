package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/initsys"
	"github.com/supervision-suite/supervision/internal/layout"
)

const initLong = `sv-init is PID 1, for a small system or a container. It runs stages/1
(one-time setup) and waits for it; then stages/2 (the scanner, with OpenRC
also 'openrc default'), started again with a backoff if it dies; and on a
shutdown request stages/3 (stop every service, 'openrc shutdown'), then
TERM and, after a grace period, KILL to whatever is left, sync, and
reboot(2). It reaps every orphan all along.

Shut down with 'sv-init poweroff', 'reboot' or 'halt' (or those names as
links to this binary), through PID 1's control FIFO, or with signals: on a
machine SIGINT is Ctrl-Alt-Del (stages/ctrlaltdel, then reboot), SIGTERM
reboots, SIGUSR1 halts, SIGUSR2 and SIGPWR power off.

In a container (not the first PID namespace, or $container set) SIGTERM,
SIGINT, SIGHUP and SIGQUIT shut down gracefully and sv-init exits with
stage 2's exit code, or 128+signal; reboot(2) is never called. With a
command and no stage scripts, the command is stage 2:

  sv-init -- sv-scan /etc/service

Without a command, sv-init runs stages only as PID 1.`

func newInitCmd() *cobra.Command {
	var root, mode string
	cfg := initsys.Config{Grace: initsys.DefaultGrace, StopTimeout: initsys.DefaultStopTimeout}
	cmd := &cobra.Command{
		Use:   "init [flags] [-- COMMAND...]",
		Short: "Be PID 1: stages 1, 2 and 3, reaping, shutdown",
		Long:  initLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := layout.FromEnv(root)
			if err != nil {
				return err
			}
			if cfg.Stages == "" {
				cfg.Stages = filepath.Join(l.Root, "/etc/sv-init")
			}
			if cfg.Control == "" {
				cfg.Control = envOr("SV_INIT_CONTROL", initsys.DefaultControl)
			}
			if !cmd.Flags().Changed("mode") {
				mode = envOr("SV_INIT_MODE", mode)
			}
			if cfg.Mode, err = initsys.ParseMode(mode); err != nil {
				return &usageError{err}
			}
			if cfg.Mode == initsys.Auto {
				cfg.Mode = initsys.Detect()
			}
			cfg.Command = args
			cfg.Verbose = cfg.Verbose || os.Getenv("SV_INIT_VERBOSE") == "1"
			if os.Getpid() != 1 && len(args) == 0 {
				return &exitError{code: ExitPermanent, msg: fmt.Sprintf(
					"%s: this is PID 1's program, and this is pid %d: boot with init=%s, or give a command to supervise (%s -- sv-scan DIR); '%s poweroff' asks the running one",
					cmd.CommandPath(), os.Getpid(), os.Args[0], cmd.CommandPath(), cmd.CommandPath())}
			}
			cfg.Console = cmd.ErrOrStderr()
			if code := initsys.Run(cfg); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Stages, "stages", "", "the stage scripts' `DIR` (default: /etc/sv-init under the tree's root)")
	cmd.Flags().StringVar(&mode, "mode", "auto", "system, container, or auto: detect (default $SV_INIT_MODE, else auto)")
	cmd.Flags().StringVar(&cfg.Control, "control", "", "PID 1's control `FIFO` (default $SV_INIT_CONTROL, else "+initsys.DefaultControl+")")
	cmd.Flags().StringVar(&root, "root", "", "the tree's root (default $SV_ROOT, else /)")
	cmd.Flags().BoolVarP(&cfg.Verbose, "verbose", "v", false, "in a container, log every step, not only problems (also SV_INIT_VERBOSE=1)")
	cmd.Flags().DurationVar(&cfg.Grace, "grace", cfg.Grace, "how long what is left after stage 3 has between TERM and KILL")
	cmd.Flags().DurationVar(&cfg.StopTimeout, "stop-timeout", cfg.StopTimeout, "how long a COMMAND has to exit on TERM")
	for _, a := range []initsys.Action{initsys.Poweroff, initsys.Reboot, initsys.Halt} {
		cmd.AddCommand(initActionCmd(a))
	}
	return cmd
}

// initActionCmd is `sv-init poweroff` and the like: a request to PID 1,
// or with -f the system call itself, at once.
func initActionCmd(a initsys.Action) *cobra.Command {
	var force bool
	var control string
	cmd := &cobra.Command{
		Use:   a.String(),
		Short: fmt.Sprintf("Ask PID 1 to %s (stage 3 first)", a),
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if force {
				unix.Sync()
				return fmt.Errorf("reboot(2): %w", unix.Reboot(a.RebootCmd()))
			}
			if control == "" {
				control = envOr("SV_INIT_CONTROL", initsys.DefaultControl)
			}
			return failed(initsys.Request(control, a))
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "sync and "+a.String()+" at once, without stage 3 (as root)")
	cmd.Flags().StringVar(&control, "control", "", "PID 1's control `FIFO` (default $SV_INIT_CONTROL, else "+initsys.DefaultControl+")")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
