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
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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
	lineLen  int       // how much of the line the output ends inside there is
	pending  []segment // output waiting for the disk
	pendSize int
	status   Status
	retry    *time.Timer
	backoff  time.Duration
	onStatus func(Status)
	syncing  sync.WaitGroup // the sync of the last rotated file
	conLine  []byte         // to a Console: the line being gathered, prefix first
	midLine  bool           // the output so far ends inside a line
	diskMid  bool           // current, on disk, ends inside a line
	closed   bool
	noSplice bool // current's file system takes no splice(2)
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
	if l.lock != nil {
		l.finishUnsynced()
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
	// Not O_APPEND, which splice(2) refuses: this logger is the only
	// writer (the lock), and writes at the end it seeks to.
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, "current"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		f.Close()
		return err
	}
	l.cur, l.size, l.diskMid, l.noSplice = f, fi.Size(), false, false
	if l.size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, l.size-1); err == nil && last[0] != '\n' {
			l.diskMid = true
		}
	}
	return nil
}

// Write takes output as it comes and writes it at once, stamping each line
// where it starts. The lines are not copied one by one: without a
// timestamp the output is written as it came (cut only where a file
// rotates, and copied only to end a line longer than MaxLine); with one,
// it is copied once into a pooled buffer, one stamp for the whole call.
func (l *Logger) Write(p []byte) (int, error) {
	return l.write(p, nil)
}

// write is Write for p still at the front of the pipe src (if not nil),
// which it takes from there as soon as it is written: a logger killed
// then writes no more than the rest twice. Output that is written as it
// came moves from the pipe to the file in one splice(2), which takes what
// it writes: none of it can be written twice.
func (l *Logger) write(p []byte, src *source) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Console != nil {
		l.toConsoleLocked(p)
		return len(p), nil
	}
	now := l.now()
	if l.status.Error != "" {
		l.emitLocked(l.split(now, p))
		return len(p), nil
	}
	l.writeLocked(now, p, src)
	return len(p), nil
}

// piece is the next piece of output: n bytes of the input; whether it
// starts a line (start: it gets the stamp), ends one (end), and whether
// that end is a newline of ours, at MaxLine (nl).
type piece struct {
	n              int
	start, end, nl bool
}

// cutter is where the output stands: inside a line (mid), of which there
// is lineLen.
type cutter struct {
	mid     bool
	lineLen int
}

// next cuts the next piece from p (not empty); a line longer than MaxLine
// is ended there and goes on as a new line.
func (c *cutter) next(p []byte) piece {
	pc := piece{start: !c.mid}
	room := MaxLine - c.lineLen
	i := bytes.IndexByte(p[:min(len(p), room+1)], '\n')
	switch {
	case i >= 0:
		pc.n, pc.end = i+1, true
	case len(p) <= room:
		pc.n = len(p)
		c.mid, c.lineLen = true, c.lineLen+len(p)
		return pc
	default:
		pc.n, pc.end, pc.nl = room, true, true
	}
	c.mid, c.lineLen = false, 0
	return pc
}

// size is what the piece takes in the log.
func (pc piece) size(prefix int) int {
	n := pc.n
	if pc.start {
		n += prefix
	}
	if pc.nl {
		n++
	}
	return n
}

// split cuts output into segments of their own, to wait in memory.
func (l *Logger) split(now time.Time, p []byte) []segment {
	var segs []segment
	c := cutter{l.midLine, l.lineLen}
	var stamp [40]byte
	prefix := l.appendPrefix(stamp[:0], now)
	for len(p) > 0 {
		pc := c.next(p)
		var seg segment
		if pc.start {
			seg.b, seg.start = append(seg.b, prefix...), true
		}
		seg.b, seg.end = append(seg.b, p[:pc.n]...), pc.end
		if pc.nl {
			seg.b = append(seg.b, '\n')
		}
		p = p[pc.n:]
		segs = append(segs, seg)
	}
	l.midLine, l.lineLen = c.mid, c.lineLen
	return segs
}

// outSize is the pooled buffer that stamped output is gathered in before
// it is written; more is written in several writes.
const outSize = 2 * chunk

// outBuffers, like buffers, are held only while a Write runs.
var outBuffers = sync.Pool{New: func() any { return new([outSize]byte) }}

// batch is the output gathered since the last write to current: a run of
// the input itself (direct) or, once something has to be added (a stamp,
// a newline at MaxLine), a copy in a pooled buffer.
type batch struct {
	p       []byte
	a, b    int            // direct: p[a:b]
	buf     *[outSize]byte // copied: buf[:n]
	n       int
	lastEnd bool   // the last piece ends a line
	from    int    // the input offset of the first piece
	state   cutter // the cutter before that piece
	src     *source
}

func (b *batch) len() int {
	if b.buf != nil {
		return b.n
	}
	return b.b - b.a
}

func (b *batch) bytes() []byte {
	if b.buf != nil {
		return b.buf[:b.n]
	}
	return b.p[b.a:b.b]
}

// writeLocked writes p to current at once, rotating before a line that
// would take current past the size; what cannot be written waits, as
// segments (emitLocked's path).
func (l *Logger) writeLocked(now time.Time, p []byte, src *source) {
	var stamp [40]byte
	prefix := l.appendPrefix(stamp[:0], now)
	c := cutter{l.midLine, l.lineLen}
	b := batch{p: p, state: c, src: src}
	defer func() {
		if b.buf != nil {
			outBuffers.Put(b.buf)
		}
	}()
	for off := 0; off < len(p); {
		before := c
		pc := c.next(p[off:])
		size := pc.size(len(prefix))
		// A line may start a new file only where the output so far ends
		// a line: on disk, or in what waits to be written.
		atLineEnd := !l.diskMid
		if b.len() > 0 {
			atLineEnd = b.lastEnd
		}
		pend := int64(b.len())
		if pc.start && atLineEnd && l.cfg.Size > 0 && l.size+pend+int64(size) > l.cfg.Size && l.size+pend > 0 {
			if !l.flushBatchLocked(&b, now, off, before, len(prefix)) {
				return
			}
			if err := l.rotateLocked(); err != nil {
				l.queueFromLocked(now, p[off:], before)
				l.failLocked(err)
				return
			}
		}
		if b.len() == 0 {
			b.from, b.state, b.a, b.b, b.n = off, before, off, off, 0
			if b.buf != nil && len(prefix) == 0 {
				outBuffers.Put(b.buf) // back to writing the input as it came
				b.buf = nil
			}
		}
		if b.buf == nil && ((pc.start && len(prefix) > 0) || pc.nl) {
			if b.len()+size > outSize { // written as it came, first
				if !l.flushBatchLocked(&b, now, off, before, len(prefix)) {
					return
				}
				b.from, b.state = off, before
			}
			b.buf = outBuffers.Get().(*[outSize]byte)
			b.n = copy(b.buf[:], p[b.a:b.b])
		}
		if b.buf != nil && b.n+size > outSize {
			if !l.flushBatchLocked(&b, now, off, before, len(prefix)) {
				return
			}
			b.from, b.state = off, before
		}
		if b.buf == nil {
			b.b = off + pc.n
		} else {
			if pc.start {
				b.n += copy(b.buf[b.n:], prefix)
			}
			b.n += copy(b.buf[b.n:], p[off:off+pc.n])
			if pc.nl {
				b.buf[b.n] = '\n'
				b.n++
			}
		}
		b.lastEnd = pc.end
		off += pc.n
	}
	l.midLine, l.lineLen = c.mid, c.lineLen
	l.flushBatchLocked(&b, now, len(p), c, len(prefix))
}

// flushBatchLocked writes the batch, which ends at the input offset off,
// where the cutter stands at next. On a failure what was not written
// whole waits (a piece torn by a short write is kept whole: at worst a
// piece appears twice, nothing is lost), the logger fails, and it returns
// false.
func (l *Logger) flushBatchLocked(b *batch, now time.Time, off int, next cutter, prefix int) bool {
	out := b.bytes()
	if len(out) == 0 {
		return true
	}
	var n int
	var err error
	spliced := false
	switch {
	case l.cur == nil:
		err = errors.New("current is not open")
	case b.src != nil && b.buf == nil && b.src.taken == b.a && !l.noSplice:
		n, err = b.src.spliceTo(l.cur, len(out))
		if spliced = !errors.Is(err, unix.EINVAL) || n > 0; !spliced {
			l.noSplice = true // not this file system: write and take
			n, err = l.cur.Write(out)
		}
	default:
		n, err = l.cur.Write(out)
	}
	l.size += int64(n)
	if err == nil {
		l.diskMid = !b.lastEnd
		b.a, b.b, b.n = off, off, 0
		if b.src != nil && !spliced {
			b.src.takeTo(off)
		}
		return true
	}
	if n > 0 {
		l.diskMid = out[n-1] != '\n'
	}
	// The first piece not written whole: cut again from the batch's start.
	from, c := b.from, b.state
	for done := 0; from < off; {
		before := c
		pc := c.next(b.p[from:])
		if done += pc.size(prefix); done > n {
			c = before
			break
		}
		from += pc.n
	}
	l.queueFromLocked(now, b.p[from:], c)
	l.failLocked(err)
	return false
}

// queueFromLocked makes p, the rest of the input with the cutter at c,
// wait in memory.
func (l *Logger) queueFromLocked(now time.Time, p []byte, c cutter) {
	l.midLine, l.lineLen = c.mid, c.lineLen
	l.queueLocked(l.split(now, p))
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

// appendPrefix appends the stamp of a line started at now, and its space.
func (l *Logger) appendPrefix(dst []byte, now time.Time) []byte {
	switch l.cfg.Stamp {
	case StampTAI64N:
		var b [12]byte
		svdir.PackTAI64N(b[:], now)
		return append(hex.AppendEncode(append(dst, '@'), b[:]), ' ')
	case StampISO:
		return now.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z ")
	}
	return dst
}

// line makes one whole line of the logger's own.
func (l *Logger) line(now time.Time, text string) segment {
	return segment{b: append(append(l.appendPrefix(nil, now), text...), '\n'), start: true, end: true}
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

// rotateLocked closes current as a finished file, as svlogd does: synced,
// mode 0744, named @TAI64N.s; then old files beyond Files go. The sync,
// most of a rotation's time, is not waited for: current is renamed at
// once to @TAI64N.u (svlogd's name for a file not known to be whole on
// disk) and the next file opened, while a goroutine syncs the old one and
// only then gives it its .s name and mode. One such sync runs at a time;
// a logger killed meanwhile leaves the .u, which the next one finishes
// (Open).
func (l *Logger) rotateLocked() error {
	if l.cur == nil {
		return errors.New("current is not open")
	}
	l.syncing.Wait()
	label := filepath.Join(l.cfg.Dir, svdir.TAI64NLabel(l.now()))
	if err := os.Rename(filepath.Join(l.cfg.Dir, "current"), label+".u"); err != nil {
		return err
	}
	old := l.cur
	l.cur = nil
	l.syncing.Add(1)
	go func() {
		defer l.syncing.Done()
		finishRotated(old, label)
	}()
	if err := l.openLocked(); err != nil {
		return err
	}
	return l.pruneLocked()
}

// finishRotated syncs a rotated file, then names it done: LABEL.s, mode
// 0744. A file that cannot be synced keeps its .u.
func finishRotated(f *os.File, label string) {
	defer f.Close()
	if err := syncFile(f); err != nil {
		return
	}
	f.Chmod(0o744)
	os.Rename(label+".u", label+".s")
}

// syncFile is f.Sync; tests that rotate thousands of times skip it.
var syncFile = (*os.File).Sync

// finishUnsynced finishes the .u files a killed logger left: whole, but
// not known to be on disk.
func (l *Logger) finishUnsynced() {
	old, _ := filepath.Glob(filepath.Join(l.cfg.Dir, "@*.u"))
	for _, name := range old {
		if f, err := os.OpenFile(name, os.O_RDONLY, 0); err == nil {
			finishRotated(f, strings.TrimSuffix(name, ".u"))
		}
	}
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
	l.syncing.Wait()
	var err error
	if l.cur != nil {
		err = l.cur.Close()
	}
	if l.lock != nil {
		l.lock.Close()
	}
	return err
}
