package svlog

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Feed copies a pipe or FIFO into a logger whenever the caller's poller
// says it is readable: for a program that waits on many inputs in one
// poller (epoll) rather than in a goroutine or thread per input. Bytes
// leave the input only once written, as with Pump.
//
// A Feed holds a private pipe (the tee) and no buffer: a quiet input costs
// its two descriptors and no memory of the process.
type Feed struct {
	l   *Logger
	fd  int
	tee tee
}

// NewFeed prepares to copy fd, a pipe or FIFO opened non-blocking, which
// stays the caller's (Close does not close it).
func (l *Logger) NewFeed(fd int) (*Feed, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, errNotPipe
	}
	p, err := newTee()
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return &Feed{l: l, fd: fd, tee: p}, nil
}

// Readable copies what is in the pipe now into the logger. It returns
// (true, nil) once the pipe is empty for now: wait for it to be readable
// again; and (false, nil) at the end of input (no writer left and nothing
// in the pipe), after ending an unfinished last line.
func (f *Feed) Readable() (more bool, err error) {
	for {
		_, more, err := f.l.step(f.fd, f.tee)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return true, nil
		case err != nil || !more:
			return more, err
		}
	}
}

// Close releases the feed's own pipe; the input is left as it is, what
// was not copied still in it.
func (f *Feed) Close() {
	if f.tee[0] >= 0 {
		f.tee.close()
		f.tee = tee{-1, -1}
	}
}
