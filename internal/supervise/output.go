package supervise

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svlog"
)

// output is the channel between a service and its log: a FIFO in the
// supervise directory, not an anonymous pipe, so that it outlives sv-scan.
// sv-scan holds it open read-write (it never sees EOF, and lines wait in it
// while a daemon or a logger restarts). The daemon's stdout is opened
// read-write too: with a reader always there, the daemon never gets
// SIGPIPE, even while sv-scan itself is gone; it blocks when the FIFO is
// full, and a restarted sv-scan drains it.
type output struct {
	path string
	hold *os.File

	mu      sync.Mutex
	logger  *svlog.Logger
	in      *os.File      // the logger's own read end (non-blocking, in Go's poller)
	inFd    int           // its descriptor, read directly by Drain
	reading chan struct{} // closed when the pump ends
}

// pipeSize is what the FIFO holds before a writer blocks: enough for bursts
// while a logger restarts (the kernel caps it at fs.pipe-max-size).
const pipeSize = 1 << 20

func openOutput(supDir string) (*output, error) {
	path := filepath.Join(supDir, "output")
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	hold, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if raw, err := hold.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
	}
	return &output{path: path, hold: hold}, nil
}

// writeEnd opens the daemon's stdout: read-write (see output), blocking.
func (o *output) writeEnd() (*os.File, error) {
	fd, err := unix.Open(o.path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: o.path, Err: err}
	}
	return os.NewFile(uintptr(fd), o.path), nil
}

// readEnd opens the log program's stdin.
func (o *output) readEnd() (*os.File, error) {
	fd, err := unix.Open(o.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: o.path, Err: err}
	}
	unix.SetNonblock(fd, false)
	return os.NewFile(uintptr(fd), o.path), nil
}

// startLogger writes what comes through the FIFO to a log directory. The
// pump takes bytes from the FIFO only once they are written (svlog.Pump);
// it waits in Go's poller, so a quiet service costs no thread.
func (o *output) startLogger(cfg svlog.Config, onStatus func(svlog.Status)) error {
	l, err := svlog.Open(cfg, onStatus)
	if err != nil {
		return err
	}
	fd, err := unix.Open(o.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		l.Close()
		return &os.PathError{Op: "open", Path: o.path, Err: err}
	}
	in := os.NewFile(uintptr(fd), o.path) // non-blocking: pollable
	o.mu.Lock()
	o.logger, o.in, o.inFd, o.reading = l, in, fd, make(chan struct{})
	o.mu.Unlock()
	go func() {
		defer close(o.reading)
		if err := l.PumpFile(in); err != nil {
			onStatus(svlog.Status{Error: "reading the output: " + err.Error(), Since: time.Now()})
		}
	}()
	return nil
}

// stopLogger ends the pump and closes the logger; what is still in the
// FIFO stays there for the next reader. With final, the service is gone:
// what remains is written, and an unfinished last line ended.
func (o *output) stopLogger(final bool) {
	o.mu.Lock()
	l := o.logger
	o.logger = nil
	o.mu.Unlock()
	if l == nil {
		return
	}
	o.in.SetReadDeadline(time.Now()) // wakes the pump, which returns
	<-o.reading
	if final {
		l.Drain(o.inFd)
		l.Finish()
	}
	o.in.Close()
	l.Close()
}

// endInput lets go of sv-scan's own write end, for good: once the daemon
// is gone too, the log program reads the end of its input after the last
// line. Nothing can be written into the FIFO afterwards.
func (o *output) endInput() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.hold != nil {
		o.hold.Close()
		o.hold = nil
	}
}

// close stops the logger and lets go of the FIFO. The file stays: a daemon
// that outlives sv-scan still writes into it, for the next one to read.
func (o *output) close(final bool) {
	o.stopLogger(final)
	o.endInput()
}
