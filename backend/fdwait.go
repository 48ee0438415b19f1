package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Waits on file descriptors the kernel makes ready, with no inotify:
// a pidfd (its process ended) and the write end of supervise/ok (POLLERR:
// no reader left, the supervisor let go).

// exit is a pidfd of the daemon: readable once it has ended.
type exit struct{ fd int }

// openExit returns the daemon's pidfd, or nil where there is none (a
// kernel before 5.3, a pid of another PID namespace).
func openExit(pid int) *exit {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil
	}
	return &exit{fd}
}

// wait reports whether the process ended within d (0: whether it has).
func (e *exit) wait(d time.Duration) bool {
	return e.waitCtx(context.Background(), d)
}

// waitCtx is wait, ended early by ctx.
func (e *exit) waitCtx(ctx context.Context, d time.Duration) bool {
	return pollUntil(ctx, e.fd, unix.POLLIN, unix.POLLIN, d)
}

// waitBrief is wait for the short waits between a settle's looks (a few
// milliseconds at most). The ppoll is made without telling Go's scheduler
// (a raw system call): told, it counts the processor as busy in a system
// call, and its monitor thread then wakes every 20 µs and hands the
// processor to a new thread, which spins looking for work; on the CPUs
// the daemon is starting on, that is time taken from it. Nothing else of
// sv-rc needs to run meanwhile; runtime.Gosched after it lets the signal
// handler's goroutine run (a start interrupted by SIGTERM).
func (e *exit) waitBrief(d time.Duration) bool {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	pfd := [1]unix.PollFd{{Fd: int32(e.fd), Events: unix.POLLIN}}
	n, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	runtime.Gosched()
	return errno == 0 && n > 0 && pfd[0].Revents&unix.POLLIN != 0
}

func (e *exit) close() {
	if e != nil {
		unix.Close(e.fd)
	}
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

// pollUntil polls fd for events until one of want is reported, d passes
// or ctx ends, looking at ctx every tenth of a second. It polls at least
// once, so a d of 0 asks whether one is reported now.
func pollUntil(ctx context.Context, fd int, events, want int16, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := max(time.Until(deadline), 0)
		ts := unix.NsecToTimespec(min(left, 100*time.Millisecond).Nanoseconds())
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Ppoll(pfd, &ts, nil)
		switch {
		case err == nil && n > 0 && pfd[0].Revents&want != 0:
			return true
		case err != nil && !errors.Is(err, unix.EINTR):
			return false
		case left == 0 || ctx.Err() != nil:
			return false
		}
	}
}
