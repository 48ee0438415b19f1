package hooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svlog"
)

// filesDir is where the files made for runs are (log tails, messages).
func (r *Runner) filesDir() string { return filepath.Join(r.cfg.ScanDir, ".sv-scan", "hooks") }

// spec is the process of a run: its command, environment and files.
func (r *Runner) spec(rn *run) (proc.Spec, error) {
	env := r.env(rn)
	sp := proc.Spec{Env: env, Dir: rn.c.Dir, CgroupFD: -1}
	if sp.Dir == "" {
		sp.Dir = "/"
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return proc.Spec{}, err
	}
	out := r.output(rn.c)
	sp.Files = []*os.File{devnull, out, out}
	switch a := rn.todo.action; a.Verb {
	case options.ActExec:
		sp.Path, sp.Argv, err = command(a.Arg, env, sp.Dir)
	case ActHooksD:
		sp.Path, sp.Argv = a.Arg, []string{a.Arg, rn.kind.String(), rn.c.Event.Service}
	case options.ActMail:
		sp.Path, sp.Argv, err = r.sendmail()
		if err == nil {
			var msg *os.File
			if msg, err = r.message(rn); err == nil {
				devnull.Close()
				sp.Files[0] = msg
			}
		}
	default:
		err = fmt.Errorf("%s is no command", a)
	}
	if err == nil && rn.c.Hooks != nil && rn.c.Hooks.User != "" {
		sp.Cred, err = r.w.Cred(rn.c.Hooks.User)
	}
	if err != nil {
		closeSpecFiles(sp)
		return proc.Spec{}, err
	}
	return sp, nil
}

// output is where a run's command writes: the service's log, else
// sv-scan's own output. The caller closes it after the start.
func (r *Runner) output(c Change) *os.File {
	if c.Output != nil {
		if f, err := c.Output(); err == nil && f != nil {
			return f
		}
	}
	f, err := dup(os.Stderr)
	if err != nil {
		return nil
	}
	return f
}

func dup(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func closeSpecFiles(sp proc.Spec) {
	seen := map[*os.File]bool{}
	for _, f := range sp.Files {
		if f != nil && !seen[f] {
			seen[f] = true
			f.Close()
		}
	}
}

// shellChars are those that make a command need sh: with none, it runs
// directly, split at blanks (as make does).
const shellChars = "\"'`$\\|&;<>(){}[]*?~#=%!\n"

// command is how a hook's command runs: directly when it is plain words,
// else with sh -c; a bare name is found in the hook's PATH.
func command(text string, env []string, dir string) (string, []string, error) {
	argv := strings.Fields(text)
	if strings.ContainsAny(text, shellChars) {
		argv = []string{"/bin/sh", "-c", text}
	}
	path, err := options.LookPath(argv[0], pathOf(env), dir)
	return path, argv, err
}

// pathOf is the PATH of an environment.
func pathOf(env []string) string {
	path := options.DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}

// sendmail is the program mail is handed to, where MTAs put it or in
// PATH, and how: sendmail -t reads the recipients from the message, -i
// lets a line of one dot be a line.
func (r *Runner) sendmail() (string, []string, error) {
	path, err := options.LookPath("sendmail", "/usr/sbin:/usr/lib:"+pathOf(r.cfg.Environ), "/")
	if err != nil {
		return "", nil, errors.New("no sendmail: install an MTA (msmtp-mta, nullmailer, exim4...)")
	}
	return path, []string{"sendmail", "-t", "-i"}, nil
}

// env is the run's environment: the supervisor's, and the event.
func (r *Runner) env(rn *run) []string {
	ev := rn.c.Event
	env := append([]string(nil), r.cfg.Environ...)
	set := func(k, v string) { env = append(env, k+"="+v) }
	set("SV_SERVICE", ev.Service)
	set("SV_APP", rn.c.App)
	set("SV_EVENT", rn.kind.String())
	set("SV_HOOK", rn.todo.source)
	set("SV_FROM", ev.From)
	set("SV_TO", ev.To)
	set("SV_PID", intOrEmpty(ev.Pid))
	code, sig := exitOf(ev)
	set("SV_EXIT_CODE", code)
	set("SV_SIGNAL", sig)
	set("SV_EXPECTED", expectedOf(ev))
	set("SV_RESTARTS", strconv.Itoa(ev.Restarts))
	set("SV_REASON", ev.Reason)
	set("SV_DETAIL", ev.Detail)
	set("SV_SEQ", strconv.FormatUint(ev.Seq, 10))
	set("SV_TIME", ev.Time.Format(time.RFC3339Nano)) // as the event's JSON has it
	set("SV_COALESCED", strconv.Itoa(rn.count))
	set("SV_HOST", r.cfg.Host)
	tail, err := r.tailFile(rn)
	if err != nil {
		r.w.Logf("%s: hook %s: no log tail: %v", ev.Service, rn.kind, err)
	}
	set("SV_LOG_TAIL", tail)
	return env
}

func intOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// exitOf is how the run ended, when the event ends one: the exit code
// (-1 for a signal) and the signal's name; empty when unknown or not an end.
func exitOf(ev events.Event) (code, signal string) {
	if ev.ExitCode == nil {
		return "", ""
	}
	return strconv.Itoa(*ev.ExitCode), ev.Signal
}

func expectedOf(ev events.Event) string {
	switch {
	case !ev.EndsRun():
		return ""
	case ev.Expected:
		return "yes"
	}
	return "no"
}

// tailFile writes the last lines of the service's log to a file of the
// run's own: what the daemon wrote is in it (Sync), and later lines are not.
func (r *Runner) tailFile(rn *run) (string, error) {
	if rn.c.LogDir == "" {
		return "", nil
	}
	data, err := r.tail(rn.c)
	if err != nil {
		return "", err
	}
	path := filepath.Join(r.filesDir(), fmt.Sprintf("%s.%d.%s.tail", rn.c.Event.Service, rn.c.Event.Seq, rn.kind))
	if err := os.MkdirAll(r.filesDir(), 0o755); err != nil {
		return "", err
	}
	if err := safefile.Write(path, data, 0o644); err != nil {
		return "", err
	}
	rn.cleanup = append(rn.cleanup, path)
	return path, nil
}

// tail is the last lines of the service's log, once the logger has
// written what the daemon wrote.
func (r *Runner) tail(c Change) ([]byte, error) {
	if c.LogDir == "" {
		return nil, nil
	}
	if c.Sync != nil {
		c.Sync()
	}
	return svlog.Tail(c.LogDir, TailLines)
}
