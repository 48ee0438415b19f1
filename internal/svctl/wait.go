package svctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Conditions to wait for.
const (
	WaitUp    = "up"    // running
	WaitReady = "ready" // running and ready (where the supervisor knows)
	WaitDown  = "down"  // nothing running
)

// ErrFatal: the supervisor gave the service up while we waited for it.
var ErrFatal = errors.New("gave up")

// ErrUnsupervised: no supervisor runs the service.
var ErrUnsupervised = errors.New("not supervised")

// Wait returns once the service meets cond, woken by its supervisor's
// status changes (inotify on supervise/), or with an error when ctx ends,
// the supervisor gives the service up, or no supervisor runs it. For
// runit and daemontools, ready means that ./check exits 0, as for sv.
func Wait(ctx context.Context, svc Service, cond string) (Info, error) {
	return WaitFor(ctx, svc, cond, func(info Info) (bool, error) { return met(info, cond) })
}

// WaitFor is Wait with a condition of the caller's; what names it in the
// timeout error (up, ready, down, restarted).
func WaitFor(ctx context.Context, svc Service, what string, cond func(Info) (bool, error)) (Info, error) {
	sup := filepath.Join(svc.Dir, "supervise")
	// A service just linked has no supervise dir until its supervisor
	// starts: wait for the status file to appear (following the link).
	unsupervised := Info{Name: svc.Name, Dir: svc.Dir, State: StateUnsupervised, Want: "down"}
	if what == WaitDown {
		if running, err := Running(svc.Dir); err == nil && !running {
			return unsupervised, nil // nothing runs it, so nothing runs
		}
	}
	if err := inotify.WaitPaths(ctx, []string{filepath.Join(sup, "status")}); err != nil {
		return unsupervised, fmt.Errorf("%s: not %s after the timeout: %w (no %s)", svc.Name, what, ErrUnsupervised, filepath.Join(sup, "status"))
	}
	// What is waited for often holds already (a start sv-scan made on
	// request is up by the time sv-rc looks): one look before the watch,
	// which costs an inotify instance for the rest of the process.
	if info, err := Status(svc); err == nil && info.State != StateUnsupervised {
		if done, err := cond(info); done || err != nil {
			return info, err
		}
	}
	w, err := inotify.New()
	if err != nil {
		return Info{}, err
	}
	defer w.Close()
	if err := w.Add(sup, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_CREATE); err != nil {
		return Info{}, fmt.Errorf("%s: %w", svc.Name, err)
	}
	var last Info
	for {
		info, err := Status(svc)
		if err != nil && !errors.Is(err, ErrNoStatus) {
			return info, err
		}
		last = info
		// Not supervised (yet): a supervisor taking it over writes its
		// status, which wakes this loop.
		if err == nil && info.State == StateUnsupervised && what == WaitDown {
			return info, nil // its supervisor went: nothing runs
		}
		if err == nil && info.State != StateUnsupervised {
			if done, err := cond(info); done || err != nil {
				return info, err
			}
		}
		// Where readiness is a check script, it is run again every so often;
		// otherwise only a status change can make the condition true.
		timeout := time.Duration(-1)
		if what != WaitDown && info.Up() && info.Ready == nil {
			timeout = 250 * time.Millisecond // a check script is run again this often
		}
		if dl, ok := ctx.Deadline(); ok {
			left := time.Until(dl)
			if left <= 0 {
				if last.State == StateUnsupervised {
					return last, fmt.Errorf("%s: not %s after the timeout: %w", svc.Name, what, ErrUnsupervised)
				}
				return last, fmt.Errorf("%s: not %s after the timeout: %s", svc.Name, what, summary(last))
			}
			if timeout < 0 || left < timeout {
				timeout = left
			}
		}
		if err := waitStatusEvent(ctx, w, timeout); err != nil {
			if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
				continue // the look above says what was not met
			}
			return last, fmt.Errorf("%s: not %s: %w", svc.Name, what, err)
		}
	}
}

// waitStatusEvent waits up to timeout (negative: no limit) for inotify
// events that may mean a new status (see svdir.StatusEvents).
func waitStatusEvent(ctx context.Context, w *inotify.Watch, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ev, err := w.Next(ctx, timeout)
		if err != nil || len(ev) == 0 || svdir.StatusEvents(ev) {
			return err // news, or the time is up: look again
		}
		if timeout >= 0 {
			if timeout = time.Until(deadline); timeout <= 0 {
				return nil
			}
		}
	}
}

// After is cond, except that a service given up is not final until its
// status changed since before: a command just sent (an up) may not have
// been handled yet.
func After(before Info, cond string) func(Info) (bool, error) {
	return func(info Info) (bool, error) {
		if info.Fatal != "" && info.Since.Equal(before.Since) {
			return false, nil
		}
		return met(info, cond)
	}
}

// Restarted is the condition of a restart: a new pid, ready.
func Restarted(oldPid int) func(Info) (bool, error) {
	return func(info Info) (bool, error) {
		if info.Pid == oldPid {
			return false, nil
		}
		return met(info, WaitReady)
	}
}

func met(info Info, cond string) (bool, error) {
	if info.Fatal != "" && cond != WaitDown {
		return false, fmt.Errorf("%s: %w: %s", info.Name, ErrFatal, info.Fatal)
	}

	switch cond {
	case WaitUp:
		return info.Up(), nil
	case WaitDown:
		return info.Down(), nil
	case WaitReady:
		if !info.Up() {
			return false, nil
		}
		if info.Ready != nil {
			return *info.Ready, nil
		}
		return checkScript(info.Dir), nil
	}
	return false, fmt.Errorf("unknown condition %q (want up, ready or down)", cond)
}

// ReadyNow reports whether a running service is ready: as its supervisor
// says where it knows (sv-scan, s6), else as runit's ./check says.
func ReadyNow(info Info) bool {
	ok, err := met(info, WaitReady)
	return ok && err == nil
}

// checkScript runs runit's ./check; without one, running is ready.
func checkScript(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "check")); err != nil {
		return true
	}
	cmd := exec.Command("./check")
	cmd.Dir = dir
	return cmd.Run() == nil
}

// summary says in a few words where the service stands, for errors.
func summary(i Info) string {
	s := i.State
	if i.Pid != 0 {
		s += fmt.Sprintf(" (pid %d)", i.Pid)
	}
	if i.LastExit != nil {
		s += ", last " + DescribeExit(i.LastExit)
	}
	if i.Error != "" {
		s += ": " + i.Error
	}
	if i.Waiting != "" { // waiting or blocked: on what
		s += ": " + i.Waiting
	}
	return s
}

// DescribeExit says how a daemon ended: "exit 3", "SIGSEGV".
func DescribeExit(e *svdir.Exit) string {
	switch {
	case e == nil:
		return "-"
	case e.Unknown:
		return "unknown"
	case e.Signal != "":
		return e.Signal
	}
	return fmt.Sprintf("exit %d", e.Code)
}

// HumanDuration is a time in a state as sv-ctl status shows it: 42s,
// 3m07s, 5h02m, 3d.
func HumanDuration(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
