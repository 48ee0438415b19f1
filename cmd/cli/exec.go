package cli

import (
	"fmt"
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

func newExecCmd() *cobra.Command {
	var root, dir string
	cmd := &cobra.Command{
		Use:   "exec",
		Short: "Run a service from its OPTIONS (what ./run execs)",
		Long:  execLong,
	}
	cmd.PersistentFlags().StringVar(&root, "root", "", "the tree's relocated root (set by sv-gen in the scripts)")
	cmd.PersistentFlags().StringVar(&dir, "dir", ".", "the service `DIR` (default: the current directory, as supervisors set it)")
	load := func(sub string) (*options.Service, error) {
		d := dir
		if sub == "log" && dir == "." {
			d = ".." // log/run runs in the service's log/ directory
		}
		return svexec.Load(d, root)
	}
	// fail prefixes every line with the service's name: these lines end up
	// in a log beside other services' lines.
	fail := func(name string, err error) error {
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = fmt.Sprintf("sv-exec %s: %s", name, l)
		}
		return &exitError{code: svexec.ExitCode(err), msg: strings.Join(lines, "\n")}
	}

	var print bool
	run := &cobra.Command{
		Use:   "run",
		Short: "Apply OPTIONS and exec the daemon",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := load("run")
			if err != nil {
				return fail(serviceName(dir, false), err)
			}
			if !print {
				// From here on every message goes to the service's log.
				if err := svexec.JoinStderr(svc.Config.Log.Kind != options.LogNone); err != nil {
					return fail(svc.Name, err)
				}
			}
			spec, err := svexec.BuildSpec(svc, os.Environ())
			if err != nil {
				return fail(svc.Name, err)
			}
			if print {
				fmt.Fprint(cmd.OutOrStdout(), spec)
				return nil
			}
			return fail(svc.Name, svexec.Exec(spec))
		},
	}
	run.Flags().BoolVar(&print, "print", false, "print what would run instead of running it")

	logCmd := &cobra.Command{
		Use:   "log",
		Short: "Exec the logger LOG names (what log/run execs)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := load("log")
			if err != nil {
				return fail(serviceName(dir, true), err)
			}
			self, _ := os.Executable()
			spec, err := svexec.LoggerSpec(svc, self)
			if err != nil {
				return fail(svc.Name+"/log", err)
			}
			return fail(svc.Name+"/log", svexec.Exec(spec))
		},
	}

	finish := &cobra.Command{
		Use:   "finish -- [EXIT-CODE [SIGNAL]]",
		Short: "Run FIN_CMD and keep down a service that must not restart",
		Long: `finish is the shared ./finish script. It runs FIN_CMD with the exit code
(-1 when killed) and the signal, then, unless sv-scan supervises (it applies
the policy itself), keeps the service down when SVC_RESTART, a finished
oneshot or SVC_RESTART_LIMIT say so: it sends 'd' to supervise/control and
exits 125, which s6-supervise also reads as "do not restart".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := load("finish")
			if err != nil {
				return fail(serviceName(dir, false), err)
			}
			if code := svexec.Finish(svc, svexec.ParseFinishArgs(args), os.Stderr); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}

	check := &cobra.Command{
		Use:   "check",
		Short: "Exit 0 if the service is ready (runit's ./check)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := load("check")
			if err != nil {
				return fail(serviceName(dir, false), err)
			}
			if err := svexec.Check(svc); err != nil {
				return &exitError{code: 1, msg: fmt.Sprintf("sv-exec %s: not ready: %v", svc.Name, err)}
			}
			return nil
		},
	}

	control := &cobra.Command{
		Use:   "control t|h",
		Short: "Send the stop or reload signal (runit's control/t and control/h)",
		Args:  exactArgs(1, "the control letter, t or h"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := load("control")
			if err != nil {
				return fail(serviceName(dir, false), err)
			}
			if err := svexec.Control(svc, args[0]); err != nil {
				// Non-zero makes runsv fall back to its own signal.
				return &exitError{code: 1, msg: fmt.Sprintf("sv-exec %s: control/%s: %v", svc.Name, args[0], err)}
			}
			return nil
		},
	}
	cmd.AddCommand(run, logCmd, finish, check, control)
	return cmd
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
