package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svexec"
)

const execLong = `sv-exec is what a service's ./run execs (through the shared .opt/run). In
the service directory it reads the layered OPTIONS, then, in its own
process: becomes a session leader, joins stderr to stdout (unless LOG=none),
waits for SVC_WAIT_PATH and SVC_WAIT_MOUNT, runs PRE_CMD, sets limits, nice
and umask, becomes SVC_USER, enters SVC_DIR, and execs the daemon with a
clean environment. Nothing of sv-exec stays resident.

On failure it says which step failed and why, and exits 100 when retrying
cannot help (bad OPTIONS, no such user or program) or 111 when it may.`

// execOpts are sv-exec's flags: --root and --dir for every subcommand,
// --print for run.
type execOpts struct {
	root, dir string
	print     bool
}

// load reads the service's layered OPTIONS; sub is the subcommand.
func (o *execOpts) load(sub string) (*options.Service, error) {
	d := o.dir
	if sub == "log" && o.dir == "." {
		d = ".." // log/run runs in the service's log/ directory
	}
	return svexec.Load(d, o.root)
}

// execFail prefixes every line with the service's name: these lines end
// up in a log beside other services' lines.
func execFail(name string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = fmt.Sprintf("sv-exec %s: %s", name, l)
	}
	return &exitError{code: svexec.ExitCode(err), msg: strings.Join(lines, "\n")}
}

// execSub is what each subcommand runs once its flags and arguments are
// parsed and checked, by cobra or by fastExec, and how many arguments it
// takes (-1: any); nil for no such subcommand.
func execSub(sub string) (run func(o *execOpts, args []string, stdout io.Writer) error, nargs int) {
	switch sub {
	case "run":
		return execRun, 0
	case "log":
		return execLog, 0
	case "finish":
		return execFinish, -1
	case "check":
		return execCheck, 0
	case "control":
		return execControl, 1
	}
	return nil, 0
}

func execRun(o *execOpts, _ []string, stdout io.Writer) error {
	svc, err := o.load("run")
	if err != nil {
		return execFail(serviceName(o.dir, false), err)
	}
	if !o.print {
		// From here on every message goes to the service's log.
		if err := svexec.JoinStderr(svc.Config.Log.Kind != options.LogNone); err != nil {
			return execFail(svc.Name, err)
		}
	}
	spec, err := svexec.BuildSpec(svc, os.Environ())
	if err != nil {
		return execFail(svc.Name, err)
	}
	if o.print {
		fmt.Fprint(stdout, spec)
		return nil
	}
	return execFail(svc.Name, svexec.Exec(spec))
}

func execLog(o *execOpts, _ []string, _ io.Writer) error {
	svc, err := o.load("log")
	if err != nil {
		return execFail(serviceName(o.dir, true), err)
	}
	self, _ := os.Executable()
	spec, err := svexec.LoggerSpec(svc, self)
	if err != nil {
		return execFail(svc.Name+"/log", err)
	}
	return execFail(svc.Name+"/log", svexec.Exec(spec))
}

func execFinish(o *execOpts, args []string, _ io.Writer) error {
	svc, err := o.load("finish")
	if err != nil {
		return execFail(serviceName(o.dir, false), err)
	}
	if code := svexec.Finish(svc, svexec.ParseFinishArgs(args), os.Stderr); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

func execCheck(o *execOpts, _ []string, _ io.Writer) error {
	svc, err := o.load("check")
	if err != nil {
		return execFail(serviceName(o.dir, false), err)
	}
	if err := svexec.Check(svc); err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("sv-exec %s: not ready: %v", svc.Name, err)}
	}
	return nil
}

func execControl(o *execOpts, args []string, _ io.Writer) error {
	svc, err := o.load("control")
	if err != nil {
		return execFail(serviceName(o.dir, false), err)
	}
	if err := svexec.Control(svc, args[0]); err != nil {
		// Non-zero makes runsv fall back to its own signal.
		return &exitError{code: 1, msg: fmt.Sprintf("sv-exec %s: control/%s: %v", svc.Name, args[0], err)}
	}
	return nil
}

func newExecCmd() *cobra.Command {
	o := &execOpts{}
	cmd := &cobra.Command{
		Use:   "exec",
		Short: "Run a service from its OPTIONS (what ./run execs)",
		Long:  execLong,
	}
	cmd.PersistentFlags().StringVar(&o.root, "root", "", "the tree's relocated root (set by sv-gen in the scripts)")
	cmd.PersistentFlags().StringVar(&o.dir, "dir", ".", "the service `DIR` (default: the current directory, as supervisors set it)")
	runE := func(sub string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			run, _ := execSub(sub)
			return run(o, args, cmd.OutOrStdout())
		}
	}

	run := &cobra.Command{
		Use:   "run",
		Short: "Apply OPTIONS and exec the daemon",
		Args:  exactArgs(0, "no arguments"),
		RunE:  runE("run"),
	}
	run.Flags().BoolVar(&o.print, "print", false, "print what would run instead of running it")

	logCmd := &cobra.Command{
		Use:   "log",
		Short: "Exec the logger LOG names (what log/run execs)",
		Args:  exactArgs(0, "no arguments"),
		RunE:  runE("log"),
	}

	finish := &cobra.Command{
		Use:   "finish -- [EXIT-CODE [SIGNAL]]",
		Short: "Run FIN_CMD and keep down a service that must not restart",
		Long: `finish is the shared ./finish script. It runs FIN_CMD with the exit code
(-1 when killed) and the signal, then, unless sv-scan supervises (it applies
the policy itself), keeps the service down when SVC_RESTART, a finished
oneshot or SVC_RESTART_LIMIT say so: it sends 'd' to supervise/control and
exits 125, which s6-supervise also reads as "do not restart".`,
		RunE: runE("finish"),
	}

	check := &cobra.Command{
		Use:   "check",
		Short: "Exit 0 if the service is ready (runit's ./check)",
		Args:  exactArgs(0, "no arguments"),
		RunE:  runE("check"),
	}

	control := &cobra.Command{
		Use:   "control t|h",
		Short: "Send the stop or reload signal (runit's control/t and control/h)",
		Args:  exactArgs(1, "the control letter, t or h"),
		RunE:  runE("control"),
	}
	cmd.AddCommand(run, logCmd, finish, check, control)
	return cmd
}

// fastExec runs sv-exec without building its cobra commands, when
// parseExec can read its command line; else ran is false and cobra is to
// run it. Every daemon start through ./run is one sv-exec run, and under
// runit every stop and check one more.
func fastExec(args []string, stdout io.Writer) (ran bool, err error) {
	sub, o, pos, ok := parseExec(args)
	if !ok {
		return false, nil
	}
	run, _ := execSub(sub)
	return true, run(o, pos, stdout)
}

// parseExec reads a command line of sv-exec that parses without doubt:
// the subcommand first, then --root and --dir (and run's --print) and
// arguments, as pflag reads them. Anything else (help, an unknown or odd
// flag, a wrong number of arguments) is not ok, and goes to cobra, which
// says what is wrong as ever.
func parseExec(args []string) (sub string, o *execOpts, pos []string, ok bool) {
	if len(args) == 0 {
		return "", nil, nil, false
	}
	sub = args[0]
	run, want := execSub(sub)
	if run == nil {
		return "", nil, nil, false
	}
	o = &execOpts{dir: "."}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case a == "" || a[0] != '-' || a == "-":
			pos = append(pos, a)
		case a == "--print" && sub == "run":
			o.print = true
		default:
			name, value, hasValue := strings.Cut(a, "=")
			var to *string
			switch name {
			case "--root":
				to = &o.root
			case "--dir":
				to = &o.dir
			default:
				return "", nil, nil, false
			}
			if !hasValue {
				if i+1 == len(args) {
					return "", nil, nil, false
				}
				i++
				value = args[i]
			}
			*to = value
		}
	}
	if want >= 0 && len(pos) != want {
		return "", nil, nil, false
	}
	return sub, o, pos, true
}

// serviceName names the service for an error that came before it loaded.
func serviceName(dir string, isLog bool) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if isLog && dir == "." {
		abs = filepath.Dir(abs)
	}
	return filepath.Base(abs)
}
