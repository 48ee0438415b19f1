package backend

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/internal/svctl"
)

// builtin is sv-scan: it watches the scan dir (inotify) and has its own
// control FIFO; it lets go of a service as soon as its link goes.
type builtin struct{ family }

func (builtin) Name() string { return "builtin" }

func (builtin) Scanner(scanDir string) ([]string, error) {
	p, err := sibling("sv-scan")
	if err != nil {
		return nil, err
	}
	return []string{p, scanDir}, nil
}

// sibling finds another tool of the suite: beside the path this one was
// run by (the links are installed together), else on PATH, else beside
// the binary itself.
func sibling(name string) (string, error) {
	if dir := filepath.Dir(os.Args[0]); strings.Contains(os.Args[0], "/") {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(self), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found beside %s or on PATH", name, os.Args[0])
	}
	return p, nil
}

func (builtin) control(scanDir string) string {
	return filepath.Join(scanDir, ".sv-scan", "control")
}

func (b builtin) ScannerReady(scanDir string) bool { return controlFIFOReady(b.control(scanDir)) }

func (b builtin) Rescan(scanDir string) error { return writeControlFIFO(b.control(scanDir), "a") }

func (b builtin) ExitScanner(scanDir string) error { return exitByFIFO(b.control(scanDir)) }

func (builtin) NoticeDelay() time.Duration { return 0 }

func (builtin) Limits() string { return "" }

func (builtin) Prepare(string) error { return nil }

func (builtin) EndsSupervisors() bool { return true }

// opensOKLast: sv-scan opens supervise/ok once its lock and control FIFO
// are held (svdir.Acquire).
func (builtin) opensOKLast() {}

func (b builtin) Release(ctx context.Context, dir, scanDir string) error {
	// The link is gone: a rescan makes sv-scan drop the service, and x
	// covers a scanner that has not looked yet.
	b.Rescan(scanDir)
	return b.release(ctx, b, dir)
}

// runit is runsvdir and runsv. runsvdir cannot be told to rescan: Debian's
// looks at the scan dir every five seconds (a second after a change made in
// the second it looked), and when one of its runsv exits.
type runit struct{ family }

func (runit) Name() string { return "runit" }

func (runit) Scanner(scanDir string) ([]string, error) {
	p, err := exec.LookPath("runsvdir")
	if err != nil {
		return nil, err
	}
	return []string{p, "-P", scanDir}, nil
}

// runsvdir has no control channel: running is all that can be known.
func (runit) ScannerReady(string) bool { return true }

func (runit) Rescan(string) error { return ErrNoRescan }

func (runit) ExitScanner(string) error { return ErrNoScannerControl }

func (runit) NoticeDelay() time.Duration { return 6 * time.Second }

func (runit) Limits() string {
	return "runsvdir cannot be told to rescan: a new service waits until it looks again (every 5 seconds, or when one of its runsv exits); runsv does not record how a daemon exited"
}

func (r runit) Release(ctx context.Context, dir, _ string) error { return r.release(ctx, r, dir) }

func (runit) Prepare(string) error { return nil }

// runsvdir sends TERM to each runsv, which then exits as for x.
func (runit) EndsSupervisors() bool { return true }

// s6 is s6-svscan and s6-supervise. s6-svscan reads `a` (rescan) on its
// control FIFO, as s6-svscanctl -a writes it.
type s6 struct{ family }

func (s6) Name() string { return "s6" }

func (s6) Scanner(scanDir string) ([]string, error) {
	p, err := lookPathS6("s6-svscan")
	if err != nil {
		return nil, err
	}
	return []string{p, scanDir}, nil
}

func (s6) control(scanDir string) string {
	return filepath.Join(scanDir, ".s6-svscan", "control")
}

func (s s6) ScannerReady(scanDir string) bool { return controlFIFOReady(s.control(scanDir)) }

func (s s6) Rescan(scanDir string) error { return writeControlFIFO(s.control(scanDir), "a") }

func (s s6) ExitScanner(scanDir string) error { return exitByFIFO(s.control(scanDir)) }

func (s6) NoticeDelay() time.Duration { return 0 }

func (s6) Limits() string {
	return "s6-supervise makes supervise/ itself and fails on one left from before (sv-rc clears it while nothing supervises the service); no pid file, so rc-status cannot show a given-up service as crashed"
}

// Release has s6-svscan prune what left the scan dir (-an): it ends the
// service's supervisors and closes the pipe to its logger, which then
// exits at the end of its input (s6-svscan holds that pipe: an x alone
// would leave the logger waiting).
func (s s6) Release(ctx context.Context, dir, scanDir string) error {
	if err := writeControlFIFO(s.control(scanDir), "an"); err != nil {
		return err
	}
	return s.release(ctx, s, dir)
}

func (s6) EndsSupervisors() bool { return true }

// Supervised: s6-supervise has no supervise/ok; it holds supervise/lock,
// which the kernel's lock table shows.
func (s6) Supervised(dir string) (bool, error) { return svctl.Running(dir) }

// Prepare removes what an s6-supervise that is gone left where the
// service's supervise links point: s6-supervise makes that directory
// itself and fails ("unable to mkdir: File exists") when it is there.
func (s6) Prepare(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, "log")} {
		link := filepath.Join(d, "supervise")
		target, err := os.Readlink(link)
		if err != nil {
			continue // not a link: s6-supervise's own directory
		}
		if running, _ := svctl.Running(d); running {
			continue
		}
		if err := os.RemoveAll(absTarget(link, target)); err != nil {
			return err
		}
	}
	return nil
}

// lookPathS6 finds an s6 tool on PATH or where Debian puts them.
func lookPathS6(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/lib/s6/bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return exec.LookPath(name)
}

// daemontools is svscan and supervise. svscan cannot be told to rescan: it
// looks every five seconds. supervise runs no finish script and records no
// exit status.
type daemontools struct{ family }

func (daemontools) Name() string { return "daemontools" }

func (daemontools) Scanner(scanDir string) ([]string, error) {
	p, err := exec.LookPath("svscan")
	if err != nil {
		return nil, err
	}
	return []string{p, scanDir}, nil
}

func (daemontools) ScannerReady(string) bool { return true }

func (daemontools) Rescan(string) error { return ErrNoRescan }

func (daemontools) ExitScanner(string) error { return ErrNoScannerControl }

func (daemontools) NoticeDelay() time.Duration { return 6 * time.Second }

func (daemontools) Limits() string {
	return "svscan cannot be told to rescan: a new service waits until it looks again (every 5 seconds); supervise runs no finish, does not record how a daemon exited and keeps no pid file (rc-status cannot show crashed); supervise/ must exist before it starts (sv-gen sync --create-supervise)"
}

// Release sends x to the service's supervise, and d then x to its log's:
// svscan holds the pipe to the logger for good, so the logger never sees
// the end of its input and must be stopped (what it has not read stays in
// the pipe, which svscan gives the next logger).
func (d daemontools) Release(ctx context.Context, dir, _ string) error {
	logDir := filepath.Join(dir, "log")
	if _, err := os.Stat(logDir); err == nil {
		d.Send(logDir, "d")
	}
	return d.release(ctx, d, dir)
}

func (daemontools) Prepare(string) error { return nil }

// svscan does not end its supervise processes when it is stopped.
func (daemontools) EndsSupervisors() bool { return false }
