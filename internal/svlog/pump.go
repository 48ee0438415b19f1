package svlog

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Bytes leave the input pipe only once they are written: tee(2) copies
// them to a private pipe without taking them, they are written, then
// taken. A logger killed in between leaves them for the next one: at worst
// a piece is written twice, nothing is lost.

// chunk is the most taken from the input at once: a pipe's default size.
const chunk = 64 << 10

// buffers are shared by all the pumps of a process: one is needed only
// while a piece is being copied, so idle loggers (sv-scan has one per
// service) hold none.
var buffers = sync.Pool{New: func() any { return new([chunk]byte) }}

// errNotPipe: the input is not a pipe (a file, a terminal), so tee cannot
// be used on it.
var errNotPipe = errors.New("input is not a pipe")

// tee is a private pipe that holds the copy of what is being written.
type tee [2]int

func newTee() (tee, error) {
	var p tee
	err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK)
	return p, err
}

func (p tee) close() {
	unix.Close(p[0])
	unix.Close(p[1])
}

// step copies what is in the pipe fd now (up to chunk) to the log, then
// takes it from the pipe. It returns false at the end of input (no writer
// left, nothing in the pipe) and unix.EAGAIN when there is nothing yet.
func (l *Logger) step(fd int, p tee) (more bool, err error) {
	n, err := unix.Tee(fd, p[1], chunk, unix.SPLICE_F_NONBLOCK)
	switch {
	case errors.Is(err, unix.EINTR):
		return true, unix.EAGAIN
	case errors.Is(err, unix.EINVAL):
		return true, errNotPipe
	case errors.Is(err, unix.EAGAIN):
		return true, err
	case err != nil:
		return true, fmt.Errorf("tee: %w", err)
	case n == 0:
		l.Finish() // no writer left and nothing in the pipe: the end
		return false, nil
	}
	buf := buffers.Get().(*[chunk]byte)
	defer buffers.Put(buf)
	k, err := unix.Read(p[0], buf[:n])
	if err != nil {
		return true, err
	}
	l.Write(buf[:k]) // Write copies: buf is free again
	// Now take from the pipe what was written; it is there, so this does
	// not block.
	for taken := 0; taken < k; {
		m, err := unix.Read(fd, buf[:k-taken])
		if err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			return true, err
		}
		taken += max(m, 0)
	}
	return true, nil
}

// Pump copies the pipe or FIFO fd into the logger until its end (Pump then
// ends the last line) or until stop is readable (an unfinished line stays
// unfinished, for the next logger). It waits in poll(2), holding a thread:
// for a program with one logger, such as sv-log, whose input may be any
// kind of file and is not its own to make non-blocking.
func (l *Logger) Pump(fd, stop int) error {
	p, err := newTee()
	if err != nil {
		return err
	}
	defer p.close()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(stop), Events: unix.POLLIN}}
	nfds := 2
	if stop < 0 {
		nfds = 1
	}
	for {
		if _, err := unix.Poll(fds[:nfds], -1); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if nfds == 2 && fds[1].Revents != 0 {
			return nil
		}
		if fds[0].Revents == 0 {
			continue
		}
		more, err := l.step(fd, p)
		switch {
		case errors.Is(err, errNotPipe):
			return l.copyPlain(fd, fds[:nfds])
		case errors.Is(err, unix.EAGAIN):
		case err != nil || !more:
			return err
		}
	}
}

// PumpFile is Pump for a pipe or FIFO opened non-blocking by the caller:
// it waits in Go's poller, without a thread of its own, so that sv-scan
// can pump the output of hundreds of services at no cost while they are
// quiet. It ends at the end of input, or with nil when f's read deadline
// passes: f.SetReadDeadline(time.Now()) is how the caller stops it.
func (l *Logger) PumpFile(f *os.File) error {
	p, err := newTee()
	if err != nil {
		return err
	}
	defer p.close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var stepErr error
	more := true
	err = rc.Read(func(fd uintptr) bool {
		for more {
			if more, stepErr = l.step(int(fd), p); stepErr != nil {
				return !errors.Is(stepErr, unix.EAGAIN) // false: wait until readable
			}
		}
		return true
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case err != nil:
		return err
	}
	return stepErr
}

// copyPlain reads and writes, for input that is not a pipe.
func (l *Logger) copyPlain(fd int, fds []unix.PollFd) error {
	buf := buffers.Get().(*[chunk]byte)
	defer buffers.Put(buf)
	for {
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if len(fds) == 2 && fds[1].Revents != 0 {
			return nil
		}
		n, err := unix.Read(fd, buf[:])
		if n > 0 {
			l.Write(buf[:n])
		}
		if n == 0 && err == nil {
			l.Finish()
			return nil
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Drain writes what is in the pipe now, without waiting for more.
func (l *Logger) Drain(fd int) error {
	buf := buffers.Get().(*[chunk]byte)
	defer buffers.Put(buf)
	for {
		n, err := unix.Read(fd, buf[:])
		if n > 0 {
			l.Write(buf[:n])
		}
		switch {
		case errors.Is(err, unix.EAGAIN), n == 0 && err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return err
		}
	}
}
