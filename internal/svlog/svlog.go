// Package svlog writes a service's output to a log directory laid out as
// svlogd and multilog do: lines appended to `current`, which is rotated by
// size into `@TAI64N.s` files, keeping a number of them. sv-scan runs it
// in-process (LOG=builtin) and sv-log runs it as a program.
//
// Policy when the directory cannot be written (disk full, read-only,
// permissions): reading the daemon's output never waits for the disk, so
// the daemon is never blocked or killed by its log. Lines wait in memory,
// up to a bound; past it the oldest are dropped and counted. The failure
// is reported (Status), writing is retried, and when it works again a line
// saying how many lines were lost comes first, then the waiting ones.
package svlog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/tai"
)

// Timestamp formats.
const (
	StampNone   = "none"
	StampTAI64N = "tai64n"
	StampISO    = "iso"
)

// Config says where and how to log.
type Config struct {
	Dir   string
	Size  int64  // rotate current when it would grow past this
	Files int    // rotated files to keep
	Stamp string // StampNone, StampTAI64N or StampISO
	// Pending bounds the memory that holds lines while the directory
	// cannot be written; 0 means DefaultPending.
	Pending int
}

// DefaultPending is how much output waits in memory while the log
// directory cannot be written.
const DefaultPending = 256 << 10

// MaxLine is the longest line written as one; a longer one is split, so
// that nothing is lost and memory stays bounded.
const MaxLine = 16 << 10

// Status is the logger's health, for supervise/state.json and sv-ctl.
type Status struct {
	Error   string    `json:"error,omitempty"`   // why writing fails, "" when it works
	Since   time.Time `json:"since,omitempty"`   // when it started failing
	Dropped uint64    `json:"dropped,omitempty"` // lines lost since the last success
	Pending int       `json:"pending,omitempty"` // bytes waiting in memory
}

// Logger writes lines to a log directory. It is safe for concurrent use.
type Logger struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	lock     *os.File // DIR/lock, held so that two loggers never share a dir
	cur      *os.File // DIR/current, nil while it cannot be opened
	size     int64
	partial  []byte   // the start of a line not yet ended
	pending  [][]byte // stamped lines waiting for the disk
	pendSize int
	status   Status
	retry    *time.Timer
	backoff  time.Duration
	onStatus func(Status)
	closed   bool
}

// Open prepares the directory and the current file. onStatus, if not nil,
// is called (with the logger's lock held: it must not call back) each time
// the health changes. A directory that cannot
// be written is not an error: the Logger starts in the failing state and
// keeps retrying. Only a second logger on the same directory is refused.
func Open(cfg Config, onStatus func(Status)) (*Logger, error) {
	if cfg.Pending <= 0 {
		cfg.Pending = DefaultPending
	}
	if cfg.Stamp == "" {
		cfg.Stamp = StampNone
	}
	l := &Logger{cfg: cfg, now: time.Now, onStatus: onStatus}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.openLocked(); err != nil {
		if errors.Is(err, errLocked) {
			return nil, err
		}
		l.failLocked(err)
	}
	return l, nil
}

var errLocked = errors.New("another logger holds the lock")

func (l *Logger) openLocked() error {
	if err := os.MkdirAll(l.cfg.Dir, 0o755); err != nil {
		return err
	}
	if l.lock == nil {
		f, err := os.OpenFile(filepath.Join(l.cfg.Dir, "lock"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", l.cfg.Dir, errLocked)
		}
		l.lock = f
	}
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, "current"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.cur, l.size = f, fi.Size()
	return nil
}

// Write takes output as it comes: it stamps and writes each complete line,
// keeping an unfinished one until its newline (or until it is too long).
// Each byte is copied and scanned once, however small the pieces.
func (l *Logger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	scanFrom := len(l.partial) // the bytes before hold no newline
	l.partial = append(l.partial, p...)
	var out [][]byte
	start := 0
	for {
		i := bytes.IndexByte(l.partial[scanFrom:], '\n')
		end := -1
		if i >= 0 {
			end = scanFrom + i
		}
		switch {
		case end >= 0 && end-start <= MaxLine:
			out = append(out, l.stamp(now, l.partial[start:end]))
			start, scanFrom = end+1, end+1
			continue
		case len(l.partial)-start > MaxLine:
			out = append(out, l.stamp(now, l.partial[start:start+MaxLine]))
			start += MaxLine
			scanFrom = max(scanFrom, start)
			continue
		}
		break
	}
	if start > 0 {
		l.partial = append(l.partial[:0], l.partial[start:]...)
	}
	l.emitLocked(out)
	return len(p), nil
}

// Flush writes an unfinished last line, as when the output ends.
func (l *Logger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		line := l.stamp(l.now(), l.partial)
		l.partial = nil
		l.emitLocked([][]byte{line})
	}
}

// stamp returns the line with its timestamp and newline.
func (l *Logger) stamp(now time.Time, line []byte) []byte {
	var prefix string
	switch l.cfg.Stamp {
	case StampTAI64N:
		prefix = tai.Label(now) + " "
	case StampISO:
		prefix = now.UTC().Format("2006-01-02T15:04:05.000000Z ")
	}
	b := make([]byte, 0, len(prefix)+len(line)+1)
	b = append(b, prefix...)
	b = append(b, line...)
	return append(b, '\n')
}

// emitLocked writes lines, or queues them when the disk is failing.
func (l *Logger) emitLocked(lines [][]byte) {
	if len(lines) == 0 {
		return
	}
	if l.status.Error != "" {
		// New output is the moment to try again; it joins what waits, and
		// the bound applies only if the try fails.
		for _, line := range lines {
			l.pending = append(l.pending, line)
			l.pendSize += len(line)
		}
		l.recoverLocked()
		return
	}
	if n, err := l.writeLinesLocked(lines); err != nil {
		l.queueLocked(lines[n:])
		l.failLocked(err)
	}
}

// writeLinesLocked writes lines to current, rotating first when a line
// would take current past the size. It returns how many lines it wrote
// whole; the caller decides what to do with the rest.
func (l *Logger) writeLinesLocked(lines [][]byte) (int, error) {
	first := 0 // index of the first line in buf
	var buf []byte
	fail := func(err error, from int) (int, error) {
		var sw *shortWrite
		if errors.As(err, &sw) {
			from += sw.doneLines
		}
		return from, err
	}
	for i, line := range lines {
		if l.cfg.Size > 0 && l.size+int64(len(buf)+len(line)) > l.cfg.Size && l.size+int64(len(buf)) > 0 {
			if err := l.flushBufLocked(buf); err != nil {
				return fail(err, first)
			}
			buf, first = nil, i
			if err := l.rotateLocked(); err != nil {
				return i, err
			}
		}
		buf = append(buf, line...)
	}
	if err := l.flushBufLocked(buf); err != nil {
		return fail(err, first)
	}
	return len(lines), nil
}

func countLines(b []byte) int { return bytes.Count(b, []byte("\n")) }

// flushBufLocked writes whole lines. On a short write the lines written
// completely are done; the caller queues the rest (buf minus its done part:
// the lines from the first one not completely written). A torn line is
// ended, so that the retried copy starts on a line of its own.
func (l *Logger) flushBufLocked(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if l.cur == nil {
		return errors.New("current is not open")
	}
	n, err := l.cur.Write(buf)
	l.size += int64(n)
	if err != nil && n > 0 && buf[n-1] != '\n' {
		if k, _ := l.cur.Write([]byte("\n")); k == 1 {
			l.size++
		}
	}
	if err != nil {
		// What the caller queues is counted from the end of buf: drop the
		// lines that did get written whole.
		done := bytes.LastIndexByte(buf[:n], '\n') + 1
		return &shortWrite{err: err, doneLines: countLines(buf[:done])}
	}
	return nil
}

// shortWrite is a failed write after which some lines were written whole.
type shortWrite struct {
	err       error
	doneLines int
}

func (e *shortWrite) Error() string { return e.err.Error() }
func (e *shortWrite) Unwrap() error { return e.err }

// rotateLocked closes current as a finished file, as svlogd does: mode
// 0744, then renamed to @TAI64N.s; then old files beyond Files go.
func (l *Logger) rotateLocked() error {
	if l.cur == nil {
		return errors.New("current is not open")
	}
	if err := l.cur.Sync(); err != nil {
		return err
	}
	l.cur.Chmod(0o744)
	name := filepath.Join(l.cfg.Dir, tai.Label(l.now())+".s")
	if err := os.Rename(filepath.Join(l.cfg.Dir, "current"), name); err != nil {
		return err
	}
	l.cur.Close()
	l.cur = nil
	if err := l.openLocked(); err != nil {
		return err
	}
	return l.pruneLocked()
}

// pruneLocked removes the oldest rotated files beyond Files. TAI64N labels
// sort by time.
func (l *Logger) pruneLocked() error {
	old, err := Rotated(l.cfg.Dir)
	if err != nil {
		return err
	}
	for len(old) > l.cfg.Files {
		if err := os.Remove(old[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		old = old[1:]
	}
	return nil
}

// Rotated lists the finished log files of dir, oldest first.
func Rotated(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "@") && (strings.HasSuffix(n, ".s") || strings.HasSuffix(n, ".u")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// queueLocked keeps lines in memory, dropping the oldest beyond the bound.
func (l *Logger) queueLocked(lines [][]byte) {
	for _, line := range lines {
		l.pending = append(l.pending, line)
		l.pendSize += len(line)
	}
	for l.pendSize > l.cfg.Pending && len(l.pending) > 0 {
		l.pendSize -= len(l.pending[0])
		l.pending = l.pending[1:]
		l.status.Dropped++
	}
	l.status.Pending = l.pendSize
}

// failLocked enters the failing state: report, and retry on a timer that
// backs off, so a dead disk costs next to nothing.
func (l *Logger) failLocked(err error) {
	// Reopen on retry: a new current may be writable where the old file
	// is not (it was removed, or the directory was remounted).
	if l.cur != nil {
		l.cur.Close()
		l.cur = nil
	}
	if l.status.Error == "" {
		l.status.Since = l.now()
		l.backoff = 0
	}
	l.status.Error = err.Error()
	l.status.Pending = l.pendSize
	l.report()
	l.scheduleRetryLocked()
}

func (l *Logger) scheduleRetryLocked() {
	if l.closed || l.retry != nil {
		return
	}
	switch {
	case l.backoff == 0:
		l.backoff = 500 * time.Millisecond
	case l.backoff < 30*time.Second:
		l.backoff *= 2
	}
	l.retry = time.AfterFunc(l.backoff, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.retry = nil
		l.recoverLocked()
	})
}

// recoverLocked tries to write what waits; on success the failure is over.
func (l *Logger) recoverLocked() {
	if l.closed || l.status.Error == "" {
		return
	}
	if l.cur == nil {
		if err := l.openLocked(); err != nil {
			l.failLocked(err)
			return
		}
	}
	waiting := l.pending
	l.pending, l.pendSize = nil, 0
	lines := waiting
	if l.status.Dropped > 0 {
		note := fmt.Sprintf("sv-log: %d lines lost while %s could not be written (%s)", l.status.Dropped, l.cfg.Dir, l.status.Error)
		lines = append([][]byte{l.stamp(l.now(), []byte(note))}, waiting...)
	}
	n, err := l.writeLinesLocked(lines)
	if err != nil {
		if len(lines) > len(waiting) { // the note came first
			if n > 0 {
				l.status.Dropped = 0 // the note is written: the count is told
				n--
			}
		}
		l.queueLocked(waiting[n:])
		l.failLocked(err)
		return
	}
	l.status = Status{}
	l.report()
}

func (l *Logger) report() {
	if l.onStatus != nil {
		l.onStatus(l.status)
	}
}

// Status returns the logger's health now.
func (l *Logger) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Close flushes an unfinished line and releases the directory.
func (l *Logger) Close() error {
	l.Flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.retry != nil {
		l.retry.Stop()
	}
	var err error
	if l.cur != nil {
		err = l.cur.Close()
	}
	if l.lock != nil {
		l.lock.Close()
	}
	return err
}
