package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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

As PID 1 the binary is sv-init whatever it is called: link /sbin/init to it
(boot with init=/sbin/init, or rdinit=/sbin/init from an initramfs), or an
initramfs's /init. Started by the kernel, its arguments are the words of
the kernel's command line that the kernel does not know: 'single' (or S,
1, -s) runs stage 1, then a shell on the console, and stage 2 once that
shell exits; 'emergency' (or -b) opens that shell before stage 1;
runlevels 2 to 5 and 'auto' boot as usual; any other word is noted on the
console and ignored. Settings then come from the environment (NAME=VALUE
words of the kernel's command line): SV_ROOT, SV_INIT_CONTROL,
SV_INIT_VERBOSE=1; and the stages read /etc/conf.d/sv-init.

Shut down with 'sv-init poweroff', 'reboot' or 'halt' (or those names as
links to this binary, or 'init 0' and 'init 6'), through PID 1's control
FIFO, or with signals: on a machine SIGINT is Ctrl-Alt-Del
(stages/ctrlaltdel, then reboot), SIGTERM reboots, SIGUSR1 halts, SIGUSR2
and SIGPWR power off.

In a container (not the first PID namespace, or $container set) SIGTERM,
SIGINT, SIGHUP and SIGQUIT shut down gracefully and sv-init exits with
stage 2's exit code, or 128+signal; reboot(2) is never called. With a
command and no stage scripts, the command is stage 2:

  sv-init -- sv-scan /etc/service

In system mode (--mode system) words before any -- are taken as the
kernel's, as at boot. Without a command, sv-init runs stages only as PID 1.`

// initFlags are sv-init's flags, read from its command line or, at boot,
// from among the kernel's words.
type initFlags struct {
	root, mode string
	cfg        initsys.Config
}

func (f *initFlags) register(cmd *cobra.Command) {
	f.cfg.Grace, f.cfg.StopTimeout, f.cfg.Stage3Timeout = initsys.DefaultGrace, initsys.DefaultStopTimeout, initsys.DefaultStage3Timeout
	fs := cmd.Flags()
	fs.StringVar(&f.cfg.Stages, "stages", "", "the stage scripts' `DIR` (default: /etc/sv-init under the tree's root)")
	fs.StringVar(&f.mode, "mode", "auto", "system, container, or auto: detect (default $SV_INIT_MODE, else auto)")
	fs.StringVar(&f.cfg.Control, "control", "", "PID 1's control `FIFO` (default $SV_INIT_CONTROL, else "+initsys.DefaultControl+")")
	fs.StringVar(&f.root, "root", "", "the tree's root (default $SV_ROOT, else /)")
	fs.BoolVarP(&f.cfg.Verbose, "verbose", "v", false, "in a container, log every step, not only problems (also SV_INIT_VERBOSE=1)")
	fs.DurationVar(&f.cfg.Grace, "grace", f.cfg.Grace, "how long what is left after stage 3 has between TERM and KILL")
	fs.DurationVar(&f.cfg.StopTimeout, "stop-timeout", f.cfg.StopTimeout, "how long a COMMAND has to exit on TERM")
	fs.DurationVar(&f.cfg.Stage3Timeout, "stage3-timeout", f.cfg.Stage3Timeout, "how long stage 3 may run before it is ended and the system goes down all the same (0: no limit)")
}

// config completes f.cfg from the flags and the environment: the mode
// from $SV_INIT_MODE unless --mode was given, then detected if auto.
func (f *initFlags) config(modeGiven bool) error {
	if !modeGiven {
		f.mode = envOr("SV_INIT_MODE", f.mode)
	}
	m, err := initsys.ParseMode(f.mode)
	if err != nil {
		return &usageError{err}
	}
	return initDefaults(&f.cfg, f.root, m)
}

func newInitCmd() *cobra.Command {
	var f initFlags
	cmd := &cobra.Command{
		Use:   "init [flags] [-- COMMAND...]",
		Short: "Be PID 1: stages 1, 2 and 3, reaping, shutdown",
		Long:  initLong,
		// Words are the kernel's or a command; a word that is neither,
		// from someone at a shell, is said below.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Getpid() != 1 && len(args) > 0 && cmd.ArgsLenAtDash() < 0 {
				return unknownCommand(cmd, args[0])
			}
			if err := f.config(cmd.Flags().Changed("mode")); err != nil {
				return err
			}
			cfg := f.cfg
			// On a machine, words without a -- before them are the
			// kernel's; in a container, they are the command.
			if cfg.Mode == initsys.System && cmd.ArgsLenAtDash() < 0 {
				cfg.Boot, cfg.IgnoredArgs = initsys.ParseKernelArgs(args)
			} else {
				cfg.Command = args
			}
			if os.Getpid() != 1 && len(cfg.Command) == 0 {
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
	f.register(cmd)
	for _, a := range []initsys.Action{initsys.Poweroff, initsys.Reboot, initsys.Halt} {
		cmd.AddCommand(initActionCmd(a))
	}
	return cmd
}

// unknownCommand is cobra's error for a word that names no subcommand,
// with its suggestion.
func unknownCommand(cmd *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown command %q for %q", word, cmd.CommandPath())
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return &usageError{errors.New(msg)}
}

// initDefaults fills in what flags left unset: from the environment, and
// the mode by looking when it is auto.
func initDefaults(cfg *initsys.Config, root string, mode initsys.Mode) error {
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
	cfg.Mode = mode
	if cfg.Mode == initsys.Auto {
		cfg.Mode = initsys.Detect()
	}
	cfg.Verbose = cfg.Verbose || os.Getenv("SV_INIT_VERBOSE") == "1"
	return nil
}

// bootMain is sv-init started by the kernel as the machine's init. Its
// arguments are the words of the kernel's command line that the kernel
// did not know (single, splash, ...), among which sv-init's own flags are
// taken as flags; its settings also come from the environment (NAME=VALUE
// words of the command line) and the stage scripts' files. Nothing here
// may end it: the kernel panics when init exits, so a bad setting is said
// on the console and the default used, and the mode is always system.
func bootMain(args []string, console io.Writer) int {
	var f initFlags
	cmd := &cobra.Command{Use: "sv-init"}
	f.register(cmd)
	fs := cmd.Flags()
	fs.SetOutput(io.Discard)
	flags, words := splitFlags(args, flagLookup(cmd))
	if err := fs.Parse(flags); err != nil {
		fmt.Fprintf(console, "sv-init: %v: ignored\n", err)
	}
	f.mode = "system"
	if err := f.config(true); err != nil {
		fmt.Fprintf(console, "sv-init: %v: using the tree at /\n", err)
		f.root = "/"
		f.config(true)
	}
	f.cfg.Boot, f.cfg.IgnoredArgs = initsys.ParseKernelArgs(words)
	f.cfg.Console, f.cfg.KernelBooted = console, true
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(console, "sv-init: %v\n", r)
		}
		initsys.LastResort(console)
	}()
	code := initsys.Run(f.cfg) // on a machine, only reboot(2) ends it
	fmt.Fprintf(console, "sv-init: could not run the system (exit %d)\n", code)
	return code
}

// splitFlags sets apart, among the kernel's words, the flags that lookup
// knows (with their values) from the rest: -s is single-user mode to
// init, not an unknown flag.
func splitFlags(args []string, lookup func(word string) (known, takesValue bool)) (flags, words []string) {
	for i := 0; i < len(args); i++ {
		known, takesValue := lookup(args[i])
		if !known {
			words = append(words, args[i])
			continue
		}
		flags = append(flags, args[i])
		if takesValue && !strings.Contains(args[i], "=") && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, words
}

// flagLookup tells whether a word names one of cmd's flags (--name,
// --name=value, -x), and whether that flag takes a value.
func flagLookup(cmd *cobra.Command) func(word string) (known, takesValue bool) {
	fs := cmd.Flags()
	return func(word string) (bool, bool) {
		if name, ok := strings.CutPrefix(word, "--"); ok && name != "" {
			name, _, _ = strings.Cut(name, "=")
			f := fs.Lookup(name)
			return f != nil, f != nil && f.NoOptDefVal == ""
		}
		if len(word) == 2 && word[0] == '-' {
			f := fs.ShorthandLookup(word[1:])
			return f != nil, f != nil && f.NoOptDefVal == ""
		}
		return false, false
	}
}

// telinit is `init N` run by hand, as runit's init is when it is not PID
// 1: 0 powers the running system off, 6 reboots it, through sv-init.
func telinit(name string, args []string) error {
	action := map[string]initsys.Action{"0": initsys.Poweroff, "6": initsys.Reboot}
	if len(args) != 1 || action[args[0]] == 0 {
		return &exitError{code: ExitPermanent, msg: fmt.Sprintf(
			"%s: this is not PID 1 (pid %d): '%s 0' powers the running system off and '%s 6' reboots it (as sv-init poweroff and sv-init reboot do)",
			name, os.Getpid(), name, name)}
	}
	if err := initsys.Request(envOr("SV_INIT_CONTROL", initsys.DefaultControl), action[args[0]]); err != nil {
		return &exitError{code: 1, msg: name + ": " + err.Error()}
	}
	return nil
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
