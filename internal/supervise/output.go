package supervise

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/poller"
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

	mu     sync.Mutex
	logger *svlog.Logger
	inFd   int           // the logger's own read end, non-blocking
	feed   *svlog.Feed   // copies it into the logger
	watch  *poller.Watch // the read end in the scanner's poller
	// pumping is held while a goroutine copies what came; stopLogger
	// takes it, so that no copy runs on a closed descriptor.
	pumping sync.Mutex
	stopped bool // under pumping: the logger is stopped
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
// feed takes bytes from the FIFO only once they are written. The FIFO
// waits in the scanner's poller, and a goroutine copies only while there
// is something to copy: a quiet service costs no goroutine, and its
// logger holds no buffer.
func (o *output) startLogger(p *poller.Poller, cfg svlog.Config, onStatus func(svlog.Status)) error {
	l, err := svlog.Open(cfg, onStatus)
	if err != nil {
		return err
	}
	fd, err := unix.Open(o.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		l.Close()
		return &os.PathError{Op: "open", Path: o.path, Err: err}
	}
	feed, err := l.NewFeed(fd)
	if err != nil {
		unix.Close(fd)
		l.Close()
		return err
	}
	// Held until feed and watch are set: the FIFO may hold lines already
	// (a daemon adopted after kill -9), and the handler may start a pump
	// before Add returns.
	o.pumping.Lock()
	defer o.pumping.Unlock()
	o.stopped, o.feed = false, feed
	watch, err := p.Add(fd, false, func() poller.Next {
		// Writing may wait for the disk: never on the poller's goroutine.
		go o.pump(onStatus)
		return poller.Later
	})
	if err != nil {
		o.stopped, o.feed = true, nil
		feed.Close()
		unix.Close(fd)
		l.Close()
		return err
	}
	o.watch = watch
	o.mu.Lock()
	o.logger, o.inFd = l, fd
	o.mu.Unlock()
	return nil
}

// pump copies what is in the FIFO, then waits for more.
func (o *output) pump(onStatus func(svlog.Status)) {
	o.pumping.Lock()
	defer o.pumping.Unlock()
	if o.stopped {
		return
	}
	more, err := o.feed.Readable()
	switch {
	case err != nil:
		onStatus(svlog.Status{Error: "reading the output: " + err.Error(), Since: time.Now()})
	case more:
		o.watch.Resume()
	}
}

// catchUp has the logger write what the FIFO holds now: a hook that reads
// the log's tail after a daemon's end finds its last lines in it.
func (o *output) catchUp() {
	o.pumping.Lock()
	defer o.pumping.Unlock()
	if o.stopped || o.feed == nil {
		return
	}
	o.feed.Readable()
}

// stopLogger ends the copying and closes the logger; what is still in the
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
	o.watch.Stop()
	o.pumping.Lock()
	o.stopped = true
	o.pumping.Unlock()
	if final {
		l.Drain(o.inFd)
		l.Finish()
	}
	o.feed.Close()
	unix.Close(o.inFd)
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
