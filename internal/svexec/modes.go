package svexec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/catalog"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/policy"
	"github.com/supervision-suite/supervision/internal/ready"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// Load reads the service whose directory is dir: a run script's working
// directory, which every supervisor sets to the service directory. The
// tree is its parent.
func Load(dir, root string) (*options.Service, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	phys := abs
	if err != nil {
		return nil, permanent("service directory %s: %v", dir, unwrap(err))
	}
	svDir := filepath.Dir(phys)
	l := &options.Loader{
		SvDir: svDir, Root: root, Profile: os.Getenv("SV_PROFILE"),
		Catalog: catalog.New(filepath.Join(svDir, ".opt", "catalog")),
	}
	svc, err := l.Load(filepath.Base(phys))
	if err != nil {
		return nil, &permanentError{err}
	}
	return svc, nil
}

// LoggerSpec is what `sv-exec log` runs as log/run: the logger LOG names,
// writing to LOG_DIR as LOG_USER. self is sv-exec's own path, beside which
// sv-log is installed.
func LoggerSpec(svc *options.Service, self string) (*Spec, error) {
	c := svc.Config
	dir, size, files, stamp := c.Log.Dir, c.Log.Size, c.Log.Files, c.Log.Timestamp
	kind := c.Log.Kind
	var argv []string
	flag := stampFlags[kind][stamp]
	switch kind {
	case options.LogBuiltin:
		argv = []string{filepath.Join(filepath.Dir(self), "sv-log"), "--size", strconv.FormatInt(size, 10), "--files", strconv.Itoa(files), "--timestamp", string(stamp), dir}
	case options.LogConsole:
		argv = []string{filepath.Join(filepath.Dir(self), "sv-log"), "--console", svc.Name}
	case options.LogSvlogd: // size and count go in DIR/config (prepareLogDir)
		argv = append(appendNonEmpty([]string{"svlogd"}, flag), dir)
	case options.LogS6:
		argv = append(appendNonEmpty([]string{"s6-log", "-b", fmt.Sprintf("n%d", files), fmt.Sprintf("s%d", size)}, flag), dir)
	case options.LogMultilog:
		argv = append(appendNonEmpty([]string{"multilog"}, flag), fmt.Sprintf("s%d", size), fmt.Sprintf("n%d", files), dir)
	case options.LogSyslog:
		argv = []string{"logger", "-t", svc.Name, "-p", "daemon.info"}
	case options.LogCustom:
		argv = c.Log.Cmd
	default:
		return nil, permanent("LOG=%s: this service has no log/ service to run", kind)
	}
	path, err := options.LookPath(argv[0], c.Path, svc.Dir)
	if err != nil {
		return nil, permanent("LOG=%s: %s: %v", kind, argv[0], err)
	}
	cred, err := resolveCred(c.Log.User, "", nil)
	if err != nil {
		return nil, err
	}
	sp := &Spec{Name: svc.Name + "/log", Path: path, Argv: argv, Dir: svc.Dir, Umask: -1, Cred: cred,
		Env: []string{"PATH=" + c.Path}}
	if err := noNUL(sp); err != nil {
		return nil, err
	}
	if kind != options.LogSyslog && kind != options.LogCustom && kind != options.LogConsole {
		if err := prepareLogDir(dir, cred, kind, size, files); err != nil {
			return nil, err
		}
		sp.Dir = dir
	}
	return sp, nil
}

// stampFlags is how each logger is told to timestamp lines (LOG_TIMESTAMP).
var stampFlags = map[options.LogKind]map[options.Timestamp]string{
	"svlogd":   {"tai64n": "-t", "iso": "-ttt"},
	"s6-log":   {"tai64n": "t", "iso": "T"},
	"multilog": {"tai64n": "t", "iso": "t"}, // multilog knows only TAI64N
}

func appendNonEmpty(list []string, s string) []string {
	if s == "" {
		return list
	}
	return append(list, s)
}

// prepareLogDir creates LOG_DIR, owned by the logger's user, and writes
// svlogd's config file, which is how svlogd learns size and count.
func prepareLogDir(dir string, cred *Cred, kind options.LogKind, size int64, files int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return step("LOG_DIR", unwrap(err))
	}
	if cred != nil && os.Geteuid() == 0 {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return step("LOG_DIR chown", unwrap(err))
		}
	}
	if kind == options.LogSvlogd {
		conf := fmt.Sprintf("s%d\nn%d\n", size, files)
		if err := safefile.Write(filepath.Join(dir, "config"), []byte(conf), 0o644); err != nil {
			return step("svlogd config", err)
		}
	}
	return nil
}

// ExitNoRestart is the finish exit status that tells s6-supervise not to
// restart the service; runit and daemontools ignore finish's status, so
// finish also writes 'd' to the control FIFO.
const ExitNoRestart = 125

// Outcome is how the daemon ended, normalised from each supervisor's
// finish arguments.
type Outcome struct {
	Code   int // exit code; -1 when killed by a signal
	Signal int // the signal, 0 when it exited
}

// ParseFinishArgs reads finish's arguments: runit passes (code or -1, the
// low byte of the wait status), s6 (code or 256, signal), daemontools none.
func ParseFinishArgs(args []string) Outcome {
	o := Outcome{}
	if len(args) > 0 {
		o.Code, _ = strconv.Atoi(args[0])
	}
	if len(args) > 1 {
		o.Signal, _ = strconv.Atoi(args[1])
	}
	if o.Code == 256 || o.Code < 0 {
		o.Code = -1
		o.Signal &= 0x7f // runit's byte carries the core-dump flag
	} else {
		o.Signal = 0
	}
	return o
}

// Finish runs FIN_CMD, then decides whether the service must stay down:
// SVC_RESTART, a oneshot that succeeded, or SVC_RESTART_LIMIT reached. It
// returns the exit status for the finish script. Under sv-scan, which
// applies the policy itself, only FIN_CMD runs.
func Finish(svc *options.Service, o Outcome, stderr *os.File) int {
	if fin := svc.Config.FinCmd; len(fin) > 0 {
		env, _ := buildEnv(svc, nil, os.Environ())
		cmd := exec.Command(fin[0], append(fin[1:], strconv.Itoa(o.Code), strconv.Itoa(o.Signal))...)
		if p, err := options.LookPath(fin[0], svc.Config.Path, svc.Dir); err == nil {
			cmd.Path = p
		}
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, svc.Dir, os.Stdout, stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stderr, "sv-exec %s: FIN_CMD: %v\n", svc.Name, err)
		}
	}
	if os.Getenv("SV_SUPERVISOR") == "sv-scan" {
		return 0
	}
	reason := stayDown(svc, o, time.Now())
	if reason == "" {
		return 0
	}
	fmt.Fprintf(stderr, "sv-exec %s: not restarting: %s\n", svc.Name, reason)
	if err := writeControl(svc.Dir, 'd'); err != nil {
		fmt.Fprintf(stderr, "sv-exec %s: %v\n", svc.Name, err)
	}
	return ExitNoRestart
}

// stayDown returns why the service must not restart, or "". The restart
// limit is kept in a file beside the supervisor's status, because each
// finish is a new process.
func stayDown(svc *options.Service, o Outcome, now time.Time) string {
	p := policy.FromConfig(svc.Config)
	if reason := p.StayDown(o.Code); reason != "" {
		return reason
	}
	if p.Limit.Count == 0 {
		return ""
	}
	if n := recordDeath(svc.Dir, p.Limit, now); n > p.Limit.Count {
		return fmt.Sprintf("fatal: %d exits within %s (SVC_RESTART_LIMIT=%s); bring it up explicitly to try again", n, p.Limit.Window, restartLimitText(svc.Config))
	}
	return ""
}

// restartLimitText is SVC_RESTART_LIMIT as the user wrote it.
func restartLimitText(c *options.Config) string {
	s, _ := c.SettingOf(&c.Restart.Limit)
	return s.Text
}

// recordDeath appends now to the service's death record (beside the
// supervisor's status files) and returns how many deaths fall within the
// window. The record is cleared when the limit is reached, so that an
// explicit up starts afresh.
func recordDeath(dir string, limit options.RestartLimit, now time.Time) int {
	path := filepath.Join(dir, "supervise", "deaths")
	data, _ := safefile.ReadFile(path, safefile.StateLimit) // unreadable: no deaths yet
	var keep []string
	for _, line := range strings.Fields(string(data)) {
		ns, err := strconv.ParseInt(line, 10, 64)
		if err == nil && now.Sub(time.Unix(0, ns)) <= limit.Window {
			keep = append(keep, line)
		}
	}
	keep = append(keep, strconv.FormatInt(now.UnixNano(), 10))
	n := len(keep)
	if n > limit.Count {
		keep = nil
	}
	safefile.Write(path, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
	return n
}

// writeControl sends one letter to the supervisor's control FIFO without
// blocking; no supervisor listening is not an error for finish.
func writeControl(dir string, c byte) error {
	fd, err := unix.Open(filepath.Join(dir, "supervise", "control"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("supervise/control: %w", err)
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte{c})
	return err
}

// Check probes SVC_READY once, for runit's ./check.
func Check(svc *options.Service) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	env, _ := buildEnv(svc, nil, os.Environ())
	return ready.Probe(ctx, svc.Config.Ready, ready.Command(env, svc.Dir))
}

// Control handles runit's control/t (stop) and control/h (reload): it
// sends the service's own signal, the stop signal to the whole process
// group (SVC_STOP_GROUP) followed by CONT.
func Control(svc *options.Service, letter string) error {
	c := svc.Config
	data, err := safefile.ReadFile(filepath.Join(svc.Dir, "supervise", "pid"), safefile.StateLimit)
	if err != nil {
		return fmt.Errorf("supervise/pid: %w", unwrap(err))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("supervise/pid: no running daemon")
	}
	switch letter {
	case "t":
		target := pid
		if c.Stop.Group && groupLeader(pid) {
			target = -pid
		}
		if err := syscall.Kill(target, c.Stop.Signal); err != nil {
			return err
		}
		return ignoreESRCH(syscall.Kill(target, syscall.SIGCONT))
	case "h":
		return syscall.Kill(pid, c.ReloadSignal)
	}
	return fmt.Errorf("control/%s: sv-gen makes only control/t and control/h", letter)
}

func groupLeader(pid int) bool {
	pgid, err := syscall.Getpgid(pid)
	return err == nil && pgid == pid
}

func ignoreESRCH(err error) error {
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
