package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svdir"
)

// stopQuick is Stop for a supervisor that holds supervise/ok open while it
// runs the service and lets go of it once told to exit (okLast: sv-scan),
// with no inotify at all. A process that used inotify waits as it exits
// for the kernel's fsnotify mark reaper (an SRCU grace period, 10-20 ms)
// whenever marks were dropped shortly before, by anyone: a third of the
// stops did. Here the daemon's end is a pidfd becoming readable, and the
// supervisor's, the write end of its ok FIFO reporting POLLERR (no reader
// left).
func stopQuick(ctx context.Context, sup Supervisor, svc Service) error {
	link := svc.link()
	ok, err := openOKWriter(link)
	if err != nil {
		return err
	}
	if ok < 0 { // not supervised: only the link to take out
		if err := Unlink(svc.ScanDir, svc.Name); err != nil {
			return fmt.Errorf("%s: unlink: %w", svc.Name, err)
		}
		return nil
	}
	defer unix.Close(ok)
	logOK, _ := openOKWriter(filepath.Join(link, "log"))
	if logOK >= 0 {
		defer unix.Close(logOK)
	}
	if err := stopByPidfd(ctx, sup, svc); err != nil {
		return err
	}
	if err := Unlink(svc.ScanDir, svc.Name); err != nil {
		return fmt.Errorf("%s: unlink: %w", svc.Name, err)
	}
	sup.Rescan(svc.ScanDir) // the link is gone: the scanner lets go
	for _, d := range []string{link, filepath.Join(link, "log")} {
		if err := svdir.SendControl(d, "x"); err != nil && !errors.Is(err, svdir.ErrNotSupervised) && !errors.Is(err, syscall.EPIPE) {
			return err
		}
	}
	if !readerGone(ctx, ok, svc.stopTimeout()+10*time.Second) {
		return fmt.Errorf("%s: its supervisor did not exit", svc.Name)
	}
	if logOK >= 0 && !readerGone(ctx, logOK, logGrace) {
		svdir.SendControl(filepath.Join(link, "log"), "dx")
		if !readerGone(ctx, logOK, 10*time.Second) {
			return fmt.Errorf("%s: its log's supervisor did not exit", svc.Name)
		}
	}
	return nil
}

// stopByPidfd sends `d` and waits for the daemon to end, with KILL to its
// process group a second after its stop timeout (the supervisor kills at
// the timeout itself). Where no pidfd follows the daemon, the status is
// waited on instead.
func stopByPidfd(ctx context.Context, sup Supervisor, svc Service) error {
	link := svc.link()
	info, err := sup.Status(link)
	if err != nil {
		return err
	}
	if !info.Up() {
		// Down already, or its ./finish running: the supervisor lets go
		// once that is done, which the caller waits for.
		return sup.Send(link, "d")
	}
	end := openExit(info.Pid)
	// The pidfd is the daemon's only if the status still says it runs once
	// the pidfd is open (the pid cannot have been used again since).
	if again, err := sup.Status(link); end != nil && (err != nil || !again.Up() || again.Pid != info.Pid) {
		end.close()
		end = nil
	}
	if end == nil {
		return stopDaemon(ctx, sup, svc)
	}
	defer end.close()
	if err := sup.Send(link, "d"); err != nil {
		return err
	}
	timeout := svc.stopTimeout()
	if end.waitCtx(ctx, timeout+time.Second) {
		return nil
	}
	unix.PidfdSendSignal(end.fd, unix.SIGKILL, nil, 0)
	syscall.Kill(-info.Pid, syscall.SIGKILL)
	if !end.waitCtx(ctx, 5*time.Second) {
		return fmt.Errorf("%s: still running after KILL (pid %d)", svc.Name, info.Pid)
	}
	return nil
}

// openOKWriter opens dir's supervise/ok for writing: the fd, or -1 when no
// supervisor holds it (no reader, or no FIFO).
func openOKWriter(dir string) (int, error) {
	path := filepath.Join(dir, "supervise", "ok")
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return -1, nil
	}
	return -1, fmt.Errorf("open %s: %w", path, err)
}

// readerGone waits until the FIFO whose write end is fd has no reader
// left (POLLERR), at most d; false when one is still there.
func readerGone(ctx context.Context, fd int, d time.Duration) bool {
	return pollUntil(ctx, fd, 0, unix.POLLERR, d)
}

// waitCtx is wait, ended early by ctx.
func (e *exit) waitCtx(ctx context.Context, d time.Duration) bool {
	return pollUntil(ctx, e.fd, unix.POLLIN, unix.POLLIN, d)
}

// pollUntil polls fd for events until one of want is reported, d passes
// or ctx ends, looking at ctx every tenth of a second.
func pollUntil(ctx context.Context, fd int, events, want int16, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			return false
		}
		ts := unix.NsecToTimespec(min(left, 100*time.Millisecond).Nanoseconds())
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Ppoll(pfd, &ts, nil)
		if err == nil && n > 0 && pfd[0].Revents&want != 0 {
			return true
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
	}
}
