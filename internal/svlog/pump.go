package svlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Bytes leave the input pipe only once they are written: tee(2) copies
// them to a private pipe without taking them, they are read from there and
// written, then taken (splice(2) into /dev/null, so they are not copied
// again), the part before a rotation as soon as it is written. A logger
// killed in between leaves them for the next one: at worst a piece is
// written twice, nothing is lost.

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

// devNull takes the bytes of the input once they are written: splice(2)
// drops them there without copying them out of the kernel. -1 when it
// cannot be opened (then they are read).
var devNull = sync.OnceValue(func() int {
	fd, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
})

// step copies what is in the pipe fd now (up to chunk) to the log, then
// takes it from the pipe. It returns how much it copied, false at the end
// of input (no writer left, nothing in the pipe) and unix.EAGAIN when
// there is nothing yet.
func (l *Logger) step(fd int, p tee) (int, bool, error) {
	t, err := unix.Tee(fd, p[1], chunk, unix.SPLICE_F_NONBLOCK)
	for errors.Is(err, unix.EINTR) {
		t, err = unix.Tee(fd, p[1], chunk, unix.SPLICE_F_NONBLOCK)
	}
	n := int(t)
	switch {
	case errors.Is(err, unix.EINVAL):
		return 0, true, errNotPipe
	case errors.Is(err, unix.EAGAIN):
		return 0, true, err
	case err != nil:
		return 0, true, fmt.Errorf("tee: %w", err)
	case n == 0:
		l.Finish() // no writer left and nothing in the pipe: the end
		return 0, false, nil
	}
	buf := buffers.Get().(*[chunk]byte)
	defer buffers.Put(buf)
	k, err := unix.Read(p[0], buf[:n])
	if err != nil {
		return 0, true, err
	}
	src := source{fd: fd, buf: buf[:k]}
	l.write(buf[:k], &src) // nothing of buf is kept: it is free again
	src.takeTo(k)
	if src.err != nil {
		return k, true, src.err
	}
	return k, true, nil
}

// source is a pipe whose first bytes are being written: how many of
// them are taken from it already, and the first error taking them.
type source struct {
	fd    int
	taken int
	buf   []byte // a copy of them, written already when it is read into
	err   error
}

// takeTo takes from the pipe what is not yet taken of its first n bytes
// (written now): into /dev/null, or else read into buf. It does not block:
// they are there.
func (s *source) takeTo(n int) {
	for s.taken < n && s.err == nil {
		var m int
		var err error
		if null := devNull(); null >= 0 {
			var m64 int64
			m64, err = unix.Splice(s.fd, nil, null, nil, n-s.taken, unix.SPLICE_F_NONBLOCK)
			m = int(m64)
		}
		if devNull() < 0 || errors.Is(err, unix.EINVAL) {
			m, err = unix.Read(s.fd, s.buf[:n-s.taken])
		}
		if err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			s.err = err
		}
		s.taken += max(m, 0)
	}
}

// spliceTo moves the next n bytes of the pipe to f, at its offset: each
// byte leaves the pipe as it is written, in the same system call. It
// returns how many moved.
func (s *source) spliceTo(f *os.File, n int) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, unix.EINVAL
	}
	done := 0
	var serr error
	rc.Write(func(out uintptr) bool {
		for done < n {
			m, err := unix.Splice(s.fd, nil, int(out), nil, n-done, unix.SPLICE_F_NONBLOCK)
			done += max(int(m), 0)
			s.taken += max(int(m), 0)
			switch {
			case errors.Is(err, unix.EINTR):
			case err != nil:
				serr = err
				return true
			case m == 0:
				serr = io.ErrUnexpectedEOF // the pipe holds less than was read from it
				return true
			}
		}
		return true
	})
	return done, serr
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
	full := false // the last step took a whole chunk: more is likely there
	for {
		timeout := -1
		if full {
			timeout = 0 // only to see stop
		}
		if _, err := unix.Poll(fds[:nfds], timeout); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if nfds == 2 && fds[1].Revents != 0 {
			return nil
		}
		if fds[0].Revents == 0 && !full {
			continue
		}
		n, more, err := l.step(fd, p)
		full = n == chunk
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
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var feed *Feed
	if err := rc.Control(func(fd uintptr) { feed, err = l.NewFeed(int(fd)) }); err != nil {
		return err
	}
	if err != nil {
		return err
	}
	defer feed.Close()
	var feedErr error
	err = rc.Read(func(fd uintptr) bool {
		var more bool
		more, feedErr = feed.Readable()
		return !more || feedErr != nil // false: wait until readable
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case err != nil:
		return err
	}
	return feedErr
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
