// Package events is the stream of what happens to the services of a scan
// dir: every change of phase of every unit, numbered, as sv-scan's engine
// makes it. sv-scan appends the events to a bounded ring of two files in
// the scan dir's runtime state (SCANDIR/.sv-scan/events: current, then
// previous), which survives a restart of sv-scan (it numbers on from the
// last); readers (sv-ctl events, and what stands on the stream) read the
// files themselves, from a sequence number, and follow them with inotify.
// A reader can never slow or stop the writer; one that falls behind the
// ring gets a record saying how many events it missed, never a silent gap.
//
// The format, one JSON object a line, is documented in docs/EVENTS.md.
package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// Event is one change of phase of one unit, or, Dropped set, the events a
// reader missed.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Service string    `json:"service,omitempty"` // NAME, or NAME/log for its log service
	From    string    `json:"from,omitempty"`    // the phase before (state.json's names)
	To      string    `json:"to,omitempty"`      // the phase after
	Pid     int       `json:"pid,omitempty"`     // the process the change is about
	// How the process ended, on a change that ends a run: its exit code
	// (-1 when a signal killed it) and the signal.
	ExitCode *int   `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
	// Expected: the end was asked for (a stop, a restart) or is what the
	// service does (a oneshot's exit 0); not a crash.
	Expected bool   `json:"expected,omitempty"`
	Restarts int    `json:"restarts"`
	Ready    bool   `json:"ready"`
	Reason   string `json:"reason,omitempty"` // why: see docs/EVENTS.md
	// Dropped, in a record of its own, counts the events a reader missed
	// between the one it had and the next it gets.
	Dropped uint64 `json:"dropped,omitempty"`
}

// The ring's files, in Dir: current takes the new events; when it holds
// PerFile of them it becomes previous, and a new current begins.
const (
	CurrentFile  = "current"
	PreviousFile = "previous"
	PerFile      = 2048
)

// Dir is where the events of the scan dir scanDir are kept.
func Dir(scanDir string) string { return filepath.Join(scanDir, ".sv-scan", "events") }

// Writer appends events to the ring. It is safe for concurrent use.
type Writer struct {
	dir string
	mu  sync.Mutex
	f   *os.File
	seq uint64 // the last number given
	n   int    // events in current
}

// Create opens the ring in dir (made if need be) for appending, numbering
// on from the last event there.
func Create(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	w := &Writer{dir: dir}
	for _, name := range []string{PreviousFile, CurrentFile} {
		evs, _, _ := readFile(filepath.Join(dir, name))
		if len(evs) > 0 {
			w.seq = max(w.seq, evs[len(evs)-1].Seq)
		}
		if name == CurrentFile {
			w.n = len(evs)
		}
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(filepath.Join(w.dir, CurrentFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	w.f = f
	return nil
}

// Append numbers ev, dates it if it has no time, and adds it to the ring,
// in one write. It never blocks on a reader.
func (w *Writer) Append(ev Event) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n >= PerFile {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	w.seq++
	ev.Seq = w.seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	if _, err := w.f.Write(append(line, '\n')); err != nil {
		return 0, fmt.Errorf("events: %w", err)
	}
	w.n++
	return ev.Seq, nil
}

// rotate makes current the previous file (the one before is dropped) and
// begins a new current.
func (w *Writer) rotate() error {
	w.f.Close()
	if err := os.Rename(filepath.Join(w.dir, CurrentFile), filepath.Join(w.dir, PreviousFile)); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	w.n = 0
	return w.open()
}

// Close closes the ring's file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// maxFile bounds what a reader takes of a ring file: PerFile events of a
// few hundred bytes each.
const maxFile = 8 << 20

// readFile reads the complete events of a ring file: a last line still
// being written is left for the next read, and a line that does not
// decode is counted, not fatal.
func readFile(path string) (evs []Event, bad int, err error) {
	data, err := safefile.ReadFile(path, maxFile)
	if err != nil {
		return nil, 0, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), maxFile)
	for sc.Scan() {
		ev, err := Decode(sc.Bytes())
		if err != nil {
			bad++
			continue
		}
		evs = append(evs, ev)
	}
	return evs, bad, nil
}

// Decode reads one line of the ring.
func Decode(line []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return Event{}, err
	}
	if ev.Seq == 0 {
		return Event{}, errors.New("an event with no sequence number")
	}
	return ev, nil
}

// Since returns the events of the ring after since, in order. When the
// ring no longer holds those right after since, the first is a record
// saying how many are gone. since 0 means from the oldest kept, with no
// such record.
func Since(dir string, since uint64) ([]Event, error) {
	all, err := readRing(dir)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, ev := range all {
		if ev.Seq <= since {
			continue
		}
		if len(out) == 0 && since > 0 && ev.Seq > since+1 {
			out = append(out, Event{Seq: ev.Seq - 1, Time: ev.Time, Dropped: ev.Seq - since - 1})
		}
		if len(out) > 0 && ev.Seq <= out[len(out)-1].Seq {
			continue // previous renamed to current between the two reads
		}
		out = append(out, ev)
	}
	return out, nil
}

// readRing reads previous, then current. The writer may turn current into
// previous between the two reads, which leaves a gap: then it reads again.
func readRing(dir string) ([]Event, error) {
	for try := 0; ; try++ {
		prev, _, err := readFile(filepath.Join(dir, PreviousFile))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		cur, _, err := readFile(filepath.Join(dir, CurrentFile))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		rotated := len(prev) > 0 && len(cur) > 0 && cur[0].Seq > prev[len(prev)-1].Seq+1
		if !rotated || try == 2 {
			return append(prev, cur...), nil
		}
	}
}

// Follow calls fn with each event after since, in order, as they come,
// until ctx ends (nil) or fn fails. It waits for the ring to exist, and
// for each change of it through inotify; the recheck every recheck is
// only a bound.
func Follow(ctx context.Context, dir string, since uint64, fn func(Event) error) error {
	if err := inotify.WaitPaths(ctx, []string{dir}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	w, err := inotify.New()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		return err
	}
	for {
		evs, err := Since(dir, since)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
			since = ev.Seq
		}
		if _, err := w.Next(ctx, recheck); err != nil {
			return nil // ctx ended
		}
	}
}

// recheck bounds a follower's wait between two changes it was told of.
const recheck = 5 * time.Second
