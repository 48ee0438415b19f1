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
	reading chan struct{} // closed when the reader goroutine ends
	stop    bool
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

// startLogger writes what comes through the FIFO to a log directory.
func (o *output) startLogger(cfg svlog.Config, onStatus func(svlog.Status)) error {
	l, err := svlog.Open(cfg, onStatus)
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.logger, o.stop, o.reading = l, false, make(chan struct{})
	o.mu.Unlock()
	go o.read(l)
	return nil
}

func (o *output) read(l *svlog.Logger) {
	defer close(o.reading)
	buf := make([]byte, 16<<10)
	for {
		n, err := o.hold.Read(buf)
		if n > 0 {
			l.Write(buf[:n])
		}
		if err != nil {
			o.mu.Lock()
			stop := o.stop
			o.mu.Unlock()
			if stop || errors.Is(err, os.ErrClosed) {
				return
			}
		}
	}
}

// stopLogger ends the reader (a past read deadline wakes it) and closes the
// logger; what is in the FIFO stays there for the next reader.
func (o *output) stopLogger() {
	o.mu.Lock()
	l, reading := o.logger, o.reading
	o.logger, o.stop = nil, true
	o.mu.Unlock()
	if l == nil {
		return
	}
	o.hold.SetReadDeadline(time.Unix(1, 0))
	<-reading
	o.hold.SetReadDeadline(time.Time{})
	o.drain(l)
	l.Close()
}

// drain writes what waits in the FIFO now: FIONREAD (TIOCINQ) says how
// much, so the
// reads cannot block.
func (o *output) drain(l *svlog.Logger) {
	raw, err := o.hold.SyscallConn()
	if err != nil {
		return
	}
	for {
		var n int
		raw.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
		if err != nil || n <= 0 {
			return
		}
		buf := make([]byte, n)
		k, err := o.hold.Read(buf)
		l.Write(buf[:k])
		if err != nil {
			return
		}
	}
}

// close stops the logger and lets go of the FIFO. The file stays: a daemon
// that outlives sv-scan still writes into it, for the next one to read.
func (o *output) close() {
	o.stopLogger()
	o.hold.Close()
}
