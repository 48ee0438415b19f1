// Package openrc is everything the suite does for OpenRC: what sv-rc does
// for /etc/init.d/sv.NAME (a service's OPTIONS into what backend.Start and
// backend.Stop need, its dependencies into depend() words, its state into
// the status codes OpenRC expects, its daemon's pidfile for rc-status),
// and the fast start: the start request protocol (request.go) and
// StartRequests, the part of it that runs inside sv-scan (scan.go).
package openrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// Status codes, as OpenRC's status() reports them.
const (
	StatusStarted = 0
	StatusStopped = 3
	StatusCrashed = 32
)

// Runner acts on the services of one tree through one backend.
type Runner struct {
	Gen     *gen.Generator
	Backend backend.Supervisor
	ScanDir string
	Settle  time.Duration
}

// Load syncs the service's directory from its OPTIONS (the OPTIONS are the
// truth; the generated files follow) and checks them, so that a bad
// OPTIONS file or a missing program fails here, with path:line, before
// anything runs. A service dir whose sync stamp holds (nothing the last
// sync read or wrote has changed) is only read: syncing it would change
// nothing.
func (r *Runner) Load(name string) (backend.Service, error) {
	if err := options.CheckServiceName(name); err != nil {
		return backend.Service{}, err
	}
	if _, err := os.Stat(r.Gen.Layout.ServiceDir(name)); err != nil {
		return backend.Service{}, fmt.Errorf("%s: %w in %s", name, gen.ErrNoService, r.Gen.Layout.SvDir)
	}
	r.setUpGen()
	var svc *options.Service
	if r.Gen.Fresh(name) == "" {
		var err error
		if svc, err = r.Gen.Loader().Load(name); err != nil {
			return backend.Service{}, err
		}
	} else {
		// `down` first, which Start would write next: the stamp the sync
		// takes then covers the service dir as the start leaves it.
		if err := backend.MarkDown(r.Gen.Layout.ServiceDir(name)); err != nil {
			return backend.Service{}, err
		}
		res, err := r.Gen.Sync([]string{name})
		if err != nil {
			return backend.Service{}, err
		}
		if len(res.Problems) > 0 {
			return backend.Service{}, res.Problems
		}
		// The service as Sync loaded it (one it could not load, or with
		// a hand-written ./run, is among the problems above).
		svc = res.Loaded[name]
	}
	if err := r.Gen.CheckHost(svc); err != nil {
		return backend.Service{}, err
	}
	return r.service(svc), nil
}

func (r *Runner) service(svc *options.Service) backend.Service {
	return backend.FromOptions(svc, r.ScanDir, r.Settle)
}

// setUpGen sets the generator as starts use it.
func (r *Runner) setUpGen() {
	r.Gen.CreateSupervise = r.Backend.Name() == "daemontools"
	r.Gen.QuickShared = true
}

// StartRequested is Start for the init script, which asked sv-scan to start
// name (request token; see request.go) before it ran sv-rc. Where
// sv-scan did, the start is watched from there on; where it declined (or
// another backend runs), the whole start is made here. What sv-scan
// started on a service dir that no longer matches what this start would
// sync (another program or profile than the last sync's, a change since
// its stamp was read) is stopped, and the start made again.
func (r *Runner) StartRequested(ctx context.Context, name, token string) error {
	if r.Backend.Name() != "builtin" {
		return r.Start(ctx, name)
	}
	if err := options.CheckServiceName(name); err != nil {
		return err
	}
	a, err := AwaitAnswer(ctx, r.Backend, r.ScanDir, name, token)
	if err != nil {
		return err
	}
	if !a.Started {
		return r.Start(ctx, name)
	}
	if a.Failed { // sv-scan watched it fail: stop it, and say why
		svc, err := r.stopTarget(name)
		if err != nil {
			return err
		}
		return backend.FailStarted(ctx, r.Backend, svc, a.Reason)
	}
	svc, err := r.loadStarted(name)
	if err != nil {
		stop := backend.Service{Name: name, Dir: r.Gen.Layout.ServiceDir(name), ScanDir: r.ScanDir}
		if serr := backend.Stop(context.WithoutCancel(ctx), r.Backend, stop); serr != nil {
			return fmt.Errorf("%s: stopping what the scanner started: %w", name, serr)
		}
		var stale *staleError
		if errors.As(err, &stale) {
			return r.Start(ctx, name)
		}
		return err
	}
	if err := backend.WatchStarted(ctx, r.Backend, svc, a.Sent, a.Restarts); err != nil {
		return err
	}
	return r.markDaemon(name)
}

// staleError: the service dir may differ from what a sync would make now.
type staleError struct{ why string }

func (e *staleError) Error() string { return "not as last synced: " + e.why }

// loadStarted is Load for a service the scanner has started. The scanner
// found the paths of its sync stamp unchanged and ran the host checks
// just before; the stamp must also be of a sync by this program with
// these settings (then syncing now would change nothing).
func (r *Runner) loadStarted(name string) (backend.Service, error) {
	r.setUpGen()
	if why := r.Gen.SyncedAlike(name); why != "" {
		return backend.Service{}, &staleError{why}
	}
	svc, err := r.Gen.Loader().Load(name)
	if err != nil {
		return backend.Service{}, err
	}
	return r.service(svc), nil
}

// Start starts the service and waits until it runs, is ready and has
// settled; see backend.Start.
func (r *Runner) Start(ctx context.Context, name string) error {
	svc, err := r.Load(name)
	if err != nil {
		return err
	}
	if err := backend.Start(ctx, r.Backend, svc); err != nil {
		return err
	}
	return r.markDaemon(name)
}

// markDaemon tells OpenRC where the daemon's pid is (see MarkDaemon), when
// run by openrc-run for sv.NAME and the supervisor keeps supervise/pid (s6
// and daemontools keep none).
func (r *Runner) markDaemon(name string) error {
	svcDir, svcName := os.Getenv("RC_SVCDIR"), os.Getenv("RC_SVCNAME")
	if svcDir == "" || svcName != Prefix+name {
		return nil // not run by openrc-run
	}
	pidfile := filepath.Join(r.ScanDir, name, "supervise", "pid")
	if _, err := os.Stat(pidfile); err != nil {
		return nil // a supervisor that keeps none (s6, daemontools)
	}
	return MarkDaemon(svcDir, svcName, pidfile)
}

// Stop stops the service within its stop timeout and takes it out of the
// scan dir. A service whose OPTIONS no longer load is still stopped.
func (r *Runner) Stop(ctx context.Context, name string) error {
	svc, err := r.stopTarget(name)
	if err != nil {
		return err
	}
	return backend.Stop(ctx, r.Backend, svc)
}

// StopRequested is Stop for an init script interrupted after it asked
// sv-scan to start name (request token): sv-scan's answer comes first, so
// that a take-up still queued is not made after the stop. A scanner that
// no longer answers starts nothing more; the stop goes on regardless.
func (r *Runner) StopRequested(ctx context.Context, name, token string) error {
	if err := options.CheckServiceName(name); err != nil {
		return err
	}
	if r.Backend.Name() == "builtin" {
		_, _ = AwaitAnswer(ctx, r.Backend, r.ScanDir, name, token)
	}
	return r.Stop(ctx, name)
}

func (r *Runner) stopTarget(name string) (backend.Service, error) {
	if err := options.CheckServiceName(name); err != nil {
		return backend.Service{}, err
	}
	if svc, err := r.Gen.Loader().Load(name); err == nil {
		return r.service(svc), nil
	}
	return backend.Service{Name: name, Dir: r.Gen.Layout.ServiceDir(name), ScanDir: r.ScanDir}, nil
}

// StopTimeout is a service's SVC_STOP_TIMEOUT, or the default.
func (r *Runner) StopTimeout(name string) time.Duration {
	svc, _ := r.stopTarget(name)
	return svc.StopTimeout
}

// Reload sends the service its reload signal: `h` to its supervisor, which
// runs control/h where SVC_RELOAD_SIGNAL is not HUP.
func (r *Runner) Reload(name string) error {
	link := filepath.Join(r.ScanDir, name)
	if _, err := os.Lstat(link); err != nil {
		return fmt.Errorf("%s: not running (not started)", name)
	}
	info, err := r.Backend.Status(link)
	if err != nil {
		return err
	}
	if !info.Up() {
		return fmt.Errorf("%s: not running", name)
	}
	return r.Backend.Send(link, "h")
}

// Status says where the service stands, as OpenRC's code and a phrase:
// started (0), stopped (3), or crashed (32): wanted up but not running, or
// given up by its supervisor.
func (r *Runner) Status(name string) (int, string) {
	link := filepath.Join(r.ScanDir, name)
	if _, err := os.Lstat(link); err != nil {
		return StatusStopped, "stopped"
	}
	info, err := r.Backend.Status(link)
	if err != nil {
		return StatusStopped, err.Error()
	}
	switch {
	case info.Fatal != "":
		return StatusCrashed, "crashed: its supervisor gave up: " + info.Fatal
	case info.Up():
		return StatusStarted, fmt.Sprintf("started (pid %d)", info.Pid)
	case info.Want == "up" && info.State != svctl.StateUnsupervised:
		return StatusCrashed, "crashed: wanted up, " + info.State
	}
	return StatusStopped, "stopped"
}

// Depend is the service's depend() for OpenRC: it needs the scanner, and
// its SVC_NEED, SVC_WANT, SVC_USE, SVC_AFTER and SVC_BEFORE, where a name that is a
// service of this tree becomes sv.NAME and any other is an OpenRC service.
// Its OPTIONS files are its `config`: OpenRC caches every depend() and
// runs them again only when init.d, conf.d or a config file changed, and
// the dependencies are in the OPTIONS.
func (r *Runner) Depend(name string) ([]string, error) {
	svc, err := r.Gen.Loader().Load(name)
	if err != nil {
		return nil, err
	}
	lines := []string{"need supervision"}
	deps := &svc.Config.Deps
	for _, kw := range []struct {
		word  string
		names *[]string
	}{
		{"need", &deps.Need}, {"want", &deps.Want}, {"use", &deps.Use}, {"after", &deps.After}, {"before", &deps.Before},
	} {
		names := *kw.names
		if len(names) == 0 {
			continue
		}
		out := make([]string, len(names))
		for i, n := range names {
			if !isOpenRCName(n) {
				set, _ := svc.Config.SettingOf(kw.names)
				return nil, fmt.Errorf("%s: %s: %q is not a service name OpenRC knows", name, set.Key, n)
			}
			out[i] = r.openrcName(n)
		}
		lines = append(lines, kw.word+" "+strings.Join(out, " "))
	}
	if files := configFiles(svc); len(files) > 0 {
		lines = append(lines, "config "+strings.Join(files, " "))
	}
	return lines, nil
}

// configFiles are the files on disk the service's OPTIONS were read from,
// quoted for depend()'s eval. OpenRC keeps config as words: a path with
// blanks in it cannot be told (the deptree is then refreshed by `rc-update
// -u`, or by any change in init.d or conf.d).
func configFiles(svc *options.Service) []string {
	var files []string
	for _, f := range svc.Files {
		if strings.ContainsAny(f.Path, " \t\n") {
			continue
		}
		if st, err := os.Stat(f.Path); err == nil && st.Mode().IsRegular() {
			files = append(files, options.Quote(f.Path))
		}
	}
	return files
}

// isOpenRCName says whether n may reach depend(), which evaluates sv-rc's
// output: a letter or digit, then letters, digits and . _ @ + -.
func isOpenRCName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._@+-", rune(c))) {
			return false
		}
	}
	return n != ""
}

// openrcName maps a dependency to the OpenRC service that provides it.
func (r *Runner) openrcName(n string) string {
	if strings.HasPrefix(n, Prefix) || options.CheckServiceName(n) != nil {
		return n
	}
	if _, err := os.Stat(filepath.Join(r.Gen.Layout.ServiceDir(n), "run")); err == nil {
		return Prefix + n
	}
	return n
}

// Config names the backend and the settle time: the flags' values (""
// and a negative settle when not given), else SV_BACKEND and SV_SETTLE
// from the environment (conf.d), else builtin and backend.DefaultSettle.
func Config(backendFlag string, settleFlag time.Duration) (backend.Supervisor, time.Duration, error) {
	name := backendFlag
	if name == "" {
		name = os.Getenv("SV_BACKEND")
	}
	if name == "" {
		name = "builtin"
	}
	sup, err := backend.Get(name)
	if err != nil {
		return nil, 0, err
	}
	settle := settleFlag
	if settle < 0 {
		settle = backend.DefaultSettle
		if v := os.Getenv("SV_SETTLE"); v != "" {
			if settle, err = time.ParseDuration(v); err != nil || settle < 0 {
				return nil, 0, fmt.Errorf("SV_SETTLE=%s: want a duration such as 0 or 100ms", v)
			}
		}
	}
	return sup, settle, nil
}

// IsInvalid reports whether err is about the service's OPTIONS.
func IsInvalid(err error) bool {
	var es options.Errors
	var e *options.Error
	return errors.As(err, &es) || errors.As(err, &e)
}

// ExecScanner replaces this process with the backend's scanner on the scan
// dir. With a log path, the scanner's own messages (its stdout and stderr)
// are appended there: start-stop-daemon --background sends them to
// /dev/null, and Debian's and OpenRC's start-stop-daemon have no option
// in common to redirect them.
func (r *Runner) ExecScanner(logPath string) error {
	if err := os.MkdirAll(r.ScanDir, 0o755); err != nil {
		return err
	}
	argv, err := r.Backend.Scanner(r.ScanDir)
	if err != nil {
		return fmt.Errorf("the %s scanner: %w", r.Backend.Name(), err)
	}
	if logPath != "" {
		if err := appendOutputTo(logPath); err != nil {
			return err
		}
	}
	return fmt.Errorf("exec %s: %w", argv[0], syscall.Exec(argv[0], argv, os.Environ()))
}

// RestoreEnabled links the tree's enabled services into its fresh scan
// dir (gen.RestoreEnabled), as the backend's supervisors need it:
// daemontools' with their supervise directories made. sv-scan does the
// same itself, once it holds the scan dir's lock.
func (r *Runner) RestoreEnabled() (gen.Restored, error) {
	if r.ScanDir != r.Gen.Layout.ScanDir {
		return gen.Restored{}, nil
	}
	r.setUpGen()
	return r.Gen.RestoreEnabled()
}

// appendOutputTo makes path (created 0640 with its directory) this
// process's stdout and stderr, for what it execs.
func appendOutputTo(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("scanner log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("scanner log: %w", err)
	}
	defer f.Close()
	for _, fd := range []int{1, 2} {
		if err := syscall.Dup2(int(f.Fd()), fd); err != nil {
			return fmt.Errorf("scanner log %s: %w", path, err)
		}
	}
	return nil
}
