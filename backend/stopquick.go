package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// stopQuick is Stop for a supervisor that holds supervise/ok open while it
// runs the service and lets go of it once told to exit (okLast: sv-scan),
// with no inotify at all: a process that used inotify may wait as it
// exits for the kernel's fsnotify mark reaper (see package inotify),
// whenever marks were dropped shortly before, by anyone, and a stop often
// follows such a drop. Here the daemon's end is a pidfd becoming readable, and the
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
	// The link is gone: the scanner lets go at its rescan, and `x` tells
	// the service's own supervisor, through the service dir (the link's
	// path leads nowhere now), where a rescan is not acted on.
	sup.Rescan(svc.ScanDir)
	if err := tellExit(svc.Dir, filepath.Join(svc.Dir, "log")); err != nil {
		return err
	}
	if !readerGone(ctx, ok, svc.stopTimeout()+10*time.Second) {
		return fmt.Errorf("%s: its supervisor did not exit", svc.Name)
	}
	if logOK >= 0 && !readerGone(ctx, logOK, logGrace) {
		svdir.SendControl(filepath.Join(svc.Dir, "log"), "dx")
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
	if errors.Is(err, svctl.ErrNoStatus) {
		// Taken up, with no status written yet (a start interrupted
		// at that moment): `d` waits in the control FIFO for whatever the
		// supervisor does first, and its first status then says
		// whether a daemon runs.
		if err := sup.Send(link, "d"); err != nil {
			return err
		}
		info, err = waitFirstStatus(ctx, sup, link)
	}
	if err != nil {
		return err
	}
	if info.State == svctl.StateUnsupervised {
		return nil // it let go without starting anything
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
