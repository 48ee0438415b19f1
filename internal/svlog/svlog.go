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

	"github.com/supervision-suite/supervision/internal/svdir"
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
	// Console, when set, takes the lines instead of a directory (Dir,
	// Size, Files and Stamp do not apply), each begun with Prefix.
	Console *Console
	Prefix  string
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
//
// Output is written as it comes, an unfinished line included: a logger
// killed in the middle of a line loses nothing, and the next one, seeing
// that current does not end with a newline, continues the line.
type Logger struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex
	lock     *os.File // DIR/lock, held so that two loggers never share a dir
	cur      *os.File // DIR/current, nil while it cannot be opened
	size     int64
	midLine  bool      // the output so far ends inside a line
	lineLen  int       // how much of that line there is
	diskMid  bool      // current, on disk, ends inside a line
	pending  []segment // output waiting for the disk
	pendSize int
	status   Status
	retry    *time.Timer
	backoff  time.Duration
	onStatus func(Status)
	closed   bool
	conLine  []byte // to a Console: the line being gathered, prefix first
}

// segment is a piece of output ready to append: stamped if it starts a
// line, with its newline if it ends one.
type segment struct {
	b          []byte
	start, end bool
}

// Open prepares the directory and the current file. onStatus, if not nil,
// is called (with the logger's lock held: it must not call back) each time
// the health changes. A directory that cannot be written is not an error:
// the Logger starts in the failing state and keeps retrying. Only a second
// logger on the same directory is refused.
func Open(cfg Config, onStatus func(Status)) (*Logger, error) {
	if cfg.Pending <= 0 {
		cfg.Pending = DefaultPending
	}
	if cfg.Stamp == "" {
		cfg.Stamp = StampNone
	}
	l := &Logger{cfg: cfg, now: time.Now, onStatus: onStatus}
	if cfg.Console != nil {
		return l, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.openLocked(); err != nil {
		if errors.Is(err, errLocked) {
			return nil, err
		}
		l.failLocked(err)
	}
	l.midLine = l.diskMid // a line a previous logger did not finish goes on
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
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, "current"), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.cur, l.size, l.diskMid = f, fi.Size(), false
	if l.size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, l.size-1); err == nil && last[0] != '\n' {
			l.diskMid = true
		}
	}
	return nil
}

// Write takes output as it comes and writes it at once, stamping each line
// where it starts. Each byte is copied and scanned once.
func (l *Logger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Console != nil {
		l.toConsoleLocked(p)
		return len(p), nil
	}
	l.emitLocked(l.split(l.now(), p))
	return len(p), nil
}

// split cuts output into segments; a line longer than MaxLine is ended
// there and goes on as a new line.
func (l *Logger) split(now time.Time, p []byte) []segment {
	var segs []segment
	for len(p) > 0 {
		var seg segment
		if !l.midLine {
			seg.b, seg.start = l.prefix(now), true
		}
		room := MaxLine - l.lineLen
		i := bytes.IndexByte(p, '\n')
		switch {
		case i >= 0 && i <= room:
			seg.b, seg.end = append(seg.b, p[:i+1]...), true
			p = p[i+1:]
		case i < 0 && len(p) <= room:
			seg.b = append(seg.b, p...)
			l.midLine, l.lineLen = true, l.lineLen+len(p)
			segs = append(segs, seg)
			return segs
		default:
			seg.b, seg.end = append(append(seg.b, p[:room]...), '\n'), true
			p = p[room:]
		}
		l.midLine, l.lineLen = false, 0
		segs = append(segs, seg)
	}
	return segs
}

// Finish ends an unfinished last line, as when the output ends for good.
func (l *Logger) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Console != nil {
		if len(l.conLine) > len(l.cfg.Prefix) {
			l.conLine = append(l.conLine, '\n')
			l.emitConsoleLocked()
		}
		return
	}
	if l.midLine {
		l.midLine, l.lineLen = false, 0
		l.emitLocked([]segment{{b: []byte("\n"), end: true}})
	}
}

func (l *Logger) prefix(now time.Time) []byte {
	switch l.cfg.Stamp {
	case StampTAI64N:
		return []byte(svdir.TAI64NLabel(now) + " ")
	case StampISO:
		return []byte(now.UTC().Format("2006-01-02T15:04:05.000000Z "))
	}
	return nil
}

// line makes one whole line of the logger's own.
func (l *Logger) line(now time.Time, text string) segment {
	return segment{b: append(append(l.prefix(now), text...), '\n'), start: true, end: true}
}

// emitLocked writes segments, or queues them when the disk is failing.
func (l *Logger) emitLocked(segs []segment) {
	if len(segs) == 0 {
		return
	}
	if l.status.Error != "" {
		// New output is the moment to try again; it joins what waits, and
		// the bound applies only if the try fails.
		for _, seg := range segs {
			l.pending = append(l.pending, seg)
			l.pendSize += len(seg.b)
		}
		l.recoverLocked()
		return
	}
	if n, err := l.writeSegsLocked(segs); err != nil {
		l.queueLocked(segs[n:])
		l.failLocked(err)
	}
}

// writeSegsLocked appends segments to current, rotating before a line that
// would take current past the size. It returns how many it wrote whole.
func (l *Logger) writeSegsLocked(segs []segment) (int, error) {
	first := 0 // index of the first segment in buf
	var buf []byte
	for i, seg := range segs {
		// A line may start a new file only where the file ends a line:
		// on disk for the first segment, and after any earlier segment
		// of this chunk, since a segment that starts a line follows one
		// that ended the last.
		atLineEnd := i > first || !l.diskMid
		if seg.start && atLineEnd && l.cfg.Size > 0 && l.size+int64(len(buf)+len(seg.b)) > l.cfg.Size && l.size+int64(len(buf)) > 0 {
			if n, err := l.flushLocked(buf, segs[first:i]); err != nil {
				return first + n, err
			}
			buf, first = nil, i
			if err := l.rotateLocked(); err != nil {
				return i, err
			}
		}
		buf = append(buf, seg.b...)
	}
	n, err := l.flushLocked(buf, segs[first:])
	return first + n, err
}

// flushLocked writes buf, the bytes of segs; on a short write it says how
// many of segs were written whole. A torn one is retried whole: at worst a
// piece appears twice, nothing is lost.
func (l *Logger) flushLocked(buf []byte, segs []segment) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	if l.cur == nil {
		return 0, errors.New("current is not open")
	}
	n, err := l.cur.Write(buf)
	l.size += int64(n)
	if err == nil {
		l.diskMid = !segs[len(segs)-1].end
		return len(segs), nil
	}
	done, off := 0, 0
	for _, seg := range segs {
		if off+len(seg.b) > n {
			break
		}
		off += len(seg.b)
		done++
	}
	if n > 0 {
		l.diskMid = buf[n-1] != '\n'
	}
	return done, err
}

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
	name := filepath.Join(l.cfg.Dir, svdir.TAI64NLabel(l.now())+".s")
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

// queueLocked keeps output in memory, dropping the oldest beyond the bound
// and counting the lines that lose their start.
func (l *Logger) queueLocked(segs []segment) {
	for _, seg := range segs {
		l.pending = append(l.pending, seg)
		l.pendSize += len(seg.b)
	}
	for l.pendSize > l.cfg.Pending && len(l.pending) > 0 {
		if l.pending[0].start {
			l.status.Dropped++
		}
		l.pendSize -= len(l.pending[0].b)
		l.pending = l.pending[1:]
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
	segs := waiting
	var extra []segment
	if l.diskMid { // a line the failure cut: end it before our own
		extra = append(extra, segment{b: []byte("\n"), end: true})
	}
	if l.status.Dropped > 0 {
		note := fmt.Sprintf("sv-log: %d lines lost while %s could not be written (%s)", l.status.Dropped, l.cfg.Dir, l.status.Error)
		extra = append(extra, l.line(l.now(), note))
	}
	segs = append(extra, waiting...)
	n, err := l.writeSegsLocked(segs)
	if err != nil {
		if n >= len(extra) {
			l.status.Dropped = 0 // the note is written: the count is told
		}
		l.queueLocked(waiting[max(0, n-len(extra)):])
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

// Close releases the directory. An unfinished line stays unfinished in
// current, for the next logger to continue (Finish ends it).
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.cfg.Console != nil && len(l.conLine) > len(l.cfg.Prefix) {
		// Taken from the pipe already: better a line cut in two than lost.
		l.conLine = append(l.conLine, '\n')
		l.emitConsoleLocked()
	}
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
