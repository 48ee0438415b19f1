package svlog

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Pump copies the pipe or FIFO fd into the logger until its end (Pump then
// ends the last line) or until stop is readable (an unfinished line stays
// unfinished, for the next logger).
//
// Bytes leave the pipe only once they are written: tee(2) copies them to a
// private pipe without taking them, they are written, then taken. A logger
// killed in between leaves them for the next one: at worst a piece is
// written twice, nothing is lost.
func (l *Logger) Pump(fd, stop int) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 64<<10)
	discard := make([]byte, 64<<10)
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
		n, err := unix.Tee(fd, p[1], len(buf), unix.SPLICE_F_NONBLOCK)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL):
			// Not a pipe (a file, a terminal): read and write, the plain way.
			return l.copyPlain(fd, stop, buf)
		case err != nil:
			return fmt.Errorf("tee: %w", err)
		case n == 0:
			l.Finish() // no writer left and nothing in the pipe: the end
			return nil
		}
		k, err := unix.Read(p[0], buf[:n])
		if err != nil {
			return err
		}
		l.Write(buf[:k])
		// Now take from the pipe what was written; it is there, so this
		// does not block.
		for taken := 0; taken < k; {
			m, err := unix.Read(fd, discard[:k-taken])
			if err != nil && !errors.Is(err, unix.EINTR) {
				return err
			}
			taken += max(m, 0)
		}
	}
}

// copyPlain reads and writes, for input that is not a pipe.
func (l *Logger) copyPlain(fd, stop int, buf []byte) error {
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
		n, err := unix.Read(fd, buf)
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
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
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
