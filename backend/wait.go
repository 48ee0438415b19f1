package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Recheck bounds every event-driven wait: an event missed between a check
// and the watch being set costs at most this long, never a hang.
const Recheck = 250 * time.Millisecond

// errScannerGone: the scanner stopped answering while a service waited
// for it.
var errScannerGone = errors.New("the scanner stopped answering")

// waitSupervised returns once a supervisor runs dir (it holds supervise/ok
// open or, for s6, the lock) and has written its status, or fails with
// errScannerGone once scannerUp says the scanner no longer answers. Woken
// by inotify on the supervise directory (a supervisor creates or opens its
// files there) and on its parent (where the supervisor creates the
// directory a dangling supervise link names).
func waitSupervised(ctx context.Context, sup Supervisor, dir string, scannerUp func() bool) error {
	return waitUntil(ctx, dir, nil, svdir.StatusEvents, func() (bool, error) {
		running, err := sup.Supervised(dir)
		if err != nil {
			return false, err
		}
		if !running {
			if !scannerUp() {
				return false, errScannerGone
			}
			return false, nil
		}
		// A supervisor opens its FIFOs before it writes its first status;
		// but a status left by an earlier supervisor may be there while
		// the new one, holding the lock already, has yet to open its
		// control FIFO: `u` needs someone reading it.
		_, err = svctl.Status(svctl.Service{Name: filepath.Base(dir), Dir: dir})
		if errors.Is(err, svctl.ErrNoStatus) {
			return false, nil
		}
		return controlFIFOReady(filepath.Join(dir, "supervise", "control")), nil
	})
}

// waitFirstStatus returns the status of dir once the supervisor that has
// taken it up (it holds supervise/ok) has written its first, or once it
// let go without one (it failed to set the service up, before starting
// anything), at most TakeUpWait: what it does between the two takes as
// long as a take-up. Woken by inotify (rare enough that its cost, which
// stopQuick avoids, does not matter here).
func waitFirstStatus(ctx context.Context, sup Supervisor, dir string) (svctl.Info, error) {
	wctx, cancel := context.WithTimeout(ctx, TakeUpWait)
	defer cancel()
	var info svctl.Info
	err := waitUntil(wctx, dir, nil, svdir.SupervisorEvents, func() (bool, error) {
		var err error
		info, err = sup.Status(dir)
		if errors.Is(err, svctl.ErrNoStatus) {
			return false, nil
		}
		return err == nil, err
	})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return info, fmt.Errorf("%s: its %s supervisor took it up but wrote no status within %s", filepath.Base(dir), sup.Name(), TakeUpWait)
	}
	return info, err
}

// okLast is a supervisor that opens supervise/ok for reading last as it
// takes a service up, once its lock is held and its control FIFO open
// (sv-scan): an open of ok for writing, which blocks until a reader
// comes, then says that `u` may be sent, with no wait for any file.
type okLast interface{ opensOKLast() }

// waitOKReader waits until supervise/ok takes a writer, the DESIGN's own
// words, by opening it for writing: the open returns the instant the
// supervisor opens its end. Nothing has to be watched, and `u` goes out
// while the supervisor is still writing its first status (it reads it
// next). The scanner is asked every Recheck whether it still answers; a
// wait given up is ended by opening the FIFO's other end ourselves.
// errNoFIFO: ok is not there yet (a service never supervised before):
// the caller waits the other way.
func waitOKReader(ctx context.Context, dir string, scannerUp func() bool) error {
	path := filepath.Join(dir, "supervise", "ok")
	if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return errNoFIFO
	}
	done := make(chan fifoOpen, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		done <- fifoOpen{f, err}
	}()
	tick := time.NewTicker(Recheck)
	defer tick.Stop()
	for {
		select {
		case o := <-done:
			if o.err != nil {
				return errNoFIFO
			}
			o.f.Close()
			return nil
		case <-tick.C:
			if !scannerUp() {
				endOpen(path, done)
				return errScannerGone
			}
		case <-ctx.Done():
			endOpen(path, done)
			return ctx.Err()
		}
	}
}

// fifoOpen is the outcome of an open of a FIFO.
type fifoOpen struct {
	f   *os.File
	err error
}

// endOpen ends a blocked open of the FIFO at path for writing by opening
// it for reading (so the open returns), and closes both.
func endOpen(path string, done <-chan fifoOpen) {
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	o := <-done // returns now, either way: a reader is there
	if o.f != nil {
		o.f.Close()
	}
	if err == nil {
		r.Close()
	}
}

var errNoFIFO = errors.New("supervise/ok is not a FIFO yet")

// waitUnsupervised returns once no supervisor runs dir any more.
func waitUnsupervised(ctx context.Context, sup Supervisor, dir string) error {
	var also []string
	wake := svdir.SupervisorEvents
	if l, ok := sup.(exitListener); ok {
		eventDir, stop := l.listenExit(dir)
		defer stop()
		if eventDir != "" {
			also = append(also, eventDir)
			wake = func(buf []byte) bool { return svdir.SupervisorEvents(buf) || svdir.FifodirEvents(buf) }
		}
	}
	return waitUntil(ctx, dir, also, wake, func() (bool, error) {
		running, err := sup.Supervised(dir)
		return !running, err
	})
}

// exitListener is a supervisor whose leaving shows nowhere in supervise/
// (s6-supervise's lock goes silently) but that tells listeners of an
// event directory: listenExit subscribes, and returns the directory to
// watch ("" when it cannot) and what undoes the subscription.
type exitListener interface {
	listenExit(dir string) (eventDir string, stop func())
}

// waitUntil checks done again at each event that wake accepts (and at
// least every Recheck), until it holds.
func waitUntil(ctx context.Context, dir string, also []string, wake func([]byte) bool, done func() (bool, error)) error {
	w, err := inotify.New()
	if err != nil {
		return err
	}
	defer w.Close()
	// A supervisor starting creates supervise/ (an event on the parent,
	// whose name is the service's) and writes status; a supervisor leaving
	// is seen at the Recheck (the lock and FIFOs go silently).
	const mask = unix.IN_CREATE | unix.IN_CLOSE_WRITE | unix.IN_CLOSE_NOWRITE | unix.IN_MOVED_TO | unix.IN_DELETE_SELF
	sup := filepath.Join(dir, "supervise")
	for {
		// Watch first, then look: what happens after the look wakes us.
		// (What cannot be watched yet is seen at the Recheck.)
		if target, err := filepath.EvalSymlinks(sup); err == nil {
			w.Add(target, mask)
		} else if t, err := os.Readlink(sup); err == nil {
			w.Add(filepath.Dir(absTarget(sup, t)), mask)
		}
		w.Add(dir, mask)
		for _, d := range also {
			w.Add(d, mask)
		}
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if err := sleepOnEvents(ctx, w, wake); err != nil {
			return err
		}
	}
}

func absTarget(link, target string) string {
	if filepath.IsAbs(target) {
		return target
	}
	return filepath.Join(filepath.Dir(link), target)
}

// sleepOn waits for an event, at most Recheck; it fails only when ctx
// ends.
func sleepOn(ctx context.Context, w *inotify.Watch) error {
	return sleepOnEvents(ctx, w, func([]byte) bool { return true })
}

// sleepOnEvents is sleepOn that wakes early only for events wake accepts:
// not for the FIFO opens that checking causes itself.
func sleepOnEvents(ctx context.Context, w *inotify.Watch, wake func([]byte) bool) error {
	for {
		timeout := Recheck
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(dl))
		}
		if timeout <= 0 {
			return context.DeadlineExceeded
		}
		ev, err := w.Next(ctx, timeout)
		if err != nil {
			return err
		}
		if len(ev) == 0 || wake(ev) {
			return nil
		}
	}
}

// WaitScanner returns once the scanner of scanDir answers (see
// Supervisor.ScannerReady), woken by what it creates in scanDir.
func WaitScanner(ctx context.Context, sup Supervisor, scanDir string) error {
	w, err := inotify.New()
	if err != nil {
		return err
	}
	defer w.Close()
	const mask = unix.IN_CREATE | unix.IN_OPEN | unix.IN_MOVED_TO
	for {
		w.Add(scanDir, mask)
		for _, d := range []string{".sv-scan", ".s6-svscan"} {
			w.Add(filepath.Join(scanDir, d), mask)
		}
		if sup.ScannerReady(scanDir) {
			return nil
		}
		if err := sleepOn(ctx, w); err != nil {
			return err
		}
	}
}

// StopScanner tells the scanner of scanDir to stop every service and exit
// (each service within its own stop timeout), and returns once it no
// longer answers. A scanner that is not running is stopped already.
func StopScanner(ctx context.Context, sup Supervisor, scanDir string) error {
	w, err := inotify.New()
	if err != nil {
		return err
	}
	defer w.Close()
	// It lets go of its control FIFO last, as it exits.
	const mask = unix.IN_CLOSE_WRITE | unix.IN_CLOSE_NOWRITE | unix.IN_DELETE_SELF
	for _, d := range []string{".sv-scan", ".s6-svscan"} {
		w.Add(filepath.Join(scanDir, d, "control"), mask)
	}
	if err := sup.ExitScanner(scanDir); err != nil {
		return err
	}
	for sup.ScannerReady(scanDir) {
		if err := sleepOn(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// queueUp puts `u` in the control FIFO a service's last supervisor left
// in its supervise dir, before the service is linked: sv-scan acts on
// what waits there as it takes the service up, before its first status,
// so the daemon starts without waiting for this process to be scheduled
// again once ok is open. Opened for reading and writing (and never
// blocking), the FIFO keeps the letter while the returned descriptor
// holds it: release it once the supervisor holds the FIFO too (ok is
// open), or withdraw it if none came. -1 where there is no FIFO yet (a
// service never supervised): `u` is then sent once ok is open.
func queueUp(dir string) queuedUp {
	path := filepath.Join(dir, "supervise", "control")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return -1
	}
	if n, err := unix.Write(fd, []byte{'u'}); err != nil || n != 1 {
		unix.Close(fd)
		return -1
	}
	return queuedUp(fd)
}

// queuedUp is the control FIFO holding a queued `u`, or -1.
type queuedUp int

func (q queuedUp) queued() bool { return q >= 0 }

// release lets go of the FIFO: the supervisor holds it and reads it.
func (q queuedUp) release() {
	if q >= 0 {
		unix.Close(int(q))
	}
}

// withdraw takes back the letter if no supervisor read it (so that none
// coming later starts the daemon), and lets go of the FIFO.
func (q queuedUp) withdraw() {
	if q >= 0 {
		var buf [64]byte
		unix.Read(int(q), buf[:]) // non-blocking: nothing left is EAGAIN
		unix.Close(int(q))
	}
}
