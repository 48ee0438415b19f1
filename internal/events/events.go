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
	"github.com/supervision-suite/supervision/internal/svdir"
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
	// How the process ended, on a change that ends a run (EndsRun): its
	// exit code (-1 when a signal killed it) and the signal. Nil when it
	// could not be known: an adopted daemon is not sv-scan's child.
	ExitCode *int   `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
	// Expected: the end was asked for (a stop, a restart) or is what the
	// service does (a oneshot's exit 0); not a crash.
	Expected bool   `json:"expected,omitempty"`
	Restarts int    `json:"restarts"`
	Ready    bool   `json:"ready"`
	Reason   string `json:"reason,omitempty"` // why: see docs/EVENTS.md
	// Detail says more where the reason alone does not: the last health
	// check's output, for unhealthy.
	Detail string `json:"detail,omitempty"`
	// Dropped, in a record of its own, counts the events a reader missed
	// between the one it had and the next it gets.
	Dropped uint64 `json:"dropped,omitempty"`
	// App, in a record of its own, is an application whose state or
	// failures changed: From and To are its states (STOPPED, STARTING,
	// RUNNING, STOPPING), Major and Minor its failures, Reason the member
	// behind the first.
	App   string `json:"app,omitempty"`
	Major bool   `json:"major_failure,omitempty"`
	Minor bool   `json:"minor_failure,omitempty"`
	// Hook, in a record of its own, is a hook of Service that failed: the
	// event it ran for (exit, crash...), the Action, and in Reason how it
	// failed (killed past HOOK_TIMEOUT, its exit, a delivery dropped).
	Hook   string `json:"hook,omitempty"`
	Action string `json:"action,omitempty"`
}

// wire is an Event as a line of the ring. It differs from Event's own
// encoding in two places: expected is written on every event that ends a
// run, false too, so that a crash does not read as a field left out; and
// a dropped record carries none of a unit's fields.
type wire struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	App      string    `json:"app,omitempty"`
	Service  string    `json:"service,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Pid      int       `json:"pid,omitempty"`
	ExitCode *int      `json:"exit_code,omitempty"`
	Signal   string    `json:"signal,omitempty"`
	Expected *bool     `json:"expected,omitempty"`
	Restarts *int      `json:"restarts,omitempty"`
	Ready    *bool     `json:"ready,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Dropped  uint64    `json:"dropped,omitempty"`
	Major    *bool     `json:"major_failure,omitempty"`
	Minor    *bool     `json:"minor_failure,omitempty"`
	Hook     string    `json:"hook,omitempty"`
	Action   string    `json:"action,omitempty"`
}

// MarshalJSON writes ev as the ring and sv-ctl events --json do.
func (ev Event) MarshalJSON() ([]byte, error) {
	if ev.Dropped > 0 {
		return json.Marshal(wire{Seq: ev.Seq, Time: ev.Time, Dropped: ev.Dropped})
	}
	if ev.Hook != "" {
		return json.Marshal(wire{Seq: ev.Seq, Time: ev.Time, Service: ev.Service, Hook: ev.Hook, Action: ev.Action, Reason: ev.Reason})
	}
	if ev.App != "" { // both failure flags always, false too
		return json.Marshal(wire{Seq: ev.Seq, Time: ev.Time, App: ev.App, From: ev.From, To: ev.To,
			Major: &ev.Major, Minor: &ev.Minor, Reason: ev.Reason})
	}
	w := wire{Seq: ev.Seq, Time: ev.Time, Service: ev.Service, From: ev.From, To: ev.To, Pid: ev.Pid,
		ExitCode: ev.ExitCode, Signal: ev.Signal, Restarts: &ev.Restarts, Ready: &ev.Ready, Reason: ev.Reason, Detail: ev.Detail}
	if ev.EndsRun() || ev.Expected {
		w.Expected = &ev.Expected
	}
	return json.Marshal(w)
}

// EndsRun reports whether the event is the end of a run: a change from a
// phase in which it runs (starting, up, stopping) to one in which it does
// not. Such an event says how the run ended (ExitCode, unless that could
// not be known) and whether it was Expected.
func (ev Event) EndsRun() bool {
	return running(ev.From) && !running(ev.To)
}

func running(phase string) bool {
	return phase == svdir.PhaseStarting || phase == svdir.PhaseUp || phase == svdir.PhaseStopping
}

// The ring's files, in Dir: current takes the new events; when it holds
// PerFile of them it becomes previous, and a new current begins. The ring
// so keeps the last PerFile to 2*PerFile events.
const (
	CurrentFile  = "current"
	PreviousFile = "previous"
	PerFile      = 2048
)

// Dir is where the events of the scan dir scanDir are kept.
func Dir(scanDir string) string { return filepath.Join(scanDir, ".sv-scan", "events") }

// Writer appends events to the ring. It is safe for concurrent use.
type Writer struct {
	dir     string
	perFile int
	mu      sync.Mutex
	f       *os.File // nil until opened, and after a rotation that could not open the next
	seq     uint64   // the last number given
	n       int      // events in current
	// torn: current may end in part of a line (a write that failed half-way,
	// or a writer killed in one). The next line begins with a newline, so
	// that only the torn one is lost, not the one after it too.
	torn bool
}

// Create opens the ring in dir (made if need be) for appending, numbering
// on from the last event there.
func Create(dir string) (*Writer, error) { return create(dir, PerFile) }

// create is Create with perFile events to a file, which the tests make
// small to rotate the ring in a few events.
func create(dir string, perFile int) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	w := &Writer{dir: dir, perFile: perFile}
	for _, name := range []string{PreviousFile, CurrentFile} {
		evs, whole, _ := readFile(filepath.Join(dir, name))
		if len(evs) > 0 {
			w.seq = max(w.seq, evs[len(evs)-1].Seq)
		}
		if name == CurrentFile {
			w.n, w.torn = len(evs), !whole
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
// in one write. It never blocks on a reader. A number is given only to an
// event written: a failed Append leaves no gap in the numbering.
func (w *Writer) Append(ev Event) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n >= w.perFile {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	if w.f == nil {
		if err := w.open(); err != nil {
			return 0, err
		}
	}
	ev.Seq = w.seq + 1
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("events: %w", err)
	}
	if w.torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := w.f.Write(append(line, '\n')); err != nil {
		w.torn = true
		return 0, fmt.Errorf("events: %w", err)
	}
	w.seq, w.n, w.torn = ev.Seq, w.n+1, false
	return ev.Seq, nil
}

// rotate makes current the previous file (the one before is dropped) and
// begins a new current.
func (w *Writer) rotate() error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if err := os.Rename(filepath.Join(w.dir, CurrentFile), filepath.Join(w.dir, PreviousFile)); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	w.n, w.torn = 0, false
	return w.open()
}

// Close closes the ring's file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// maxFile bounds what a reader takes of a ring file: PerFile events of a
// few hundred bytes each.
const maxFile = 8 << 20

// readFile reads the complete events of a ring file: a last line still
// being written is left for the next read (whole is false), and a line
// that does not decode is skipped, not fatal (Since counts it dropped).
func readFile(path string) (evs []Event, whole bool, err error) {
	data, err := safefile.ReadFile(path, maxFile)
	if err != nil {
		return nil, true, err
	}
	whole = len(data) == 0 || data[len(data)-1] == '\n'
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), maxFile)
	for sc.Scan() {
		if ev, err := Decode(sc.Bytes()); err == nil {
			evs = append(evs, ev)
		}
	}
	return evs, whole, nil
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

// Since returns the events of the ring after since, in order. Where the
// ring no longer holds the events that come next (rotated out since, or a
// line that could not be read), a record says how many are missing, in
// their place: its Seq is the last one missed. since 0 means from the
// oldest kept, with no such record before it.
func Since(dir string, since uint64) ([]Event, error) {
	all, err := readRing(dir)
	if err != nil {
		return nil, err
	}
	var out []Event
	last := since
	for _, ev := range all {
		if ev.Seq <= last {
			continue // before since, or read twice (see readRing)
		}
		if last > 0 && ev.Seq > last+1 {
			out = append(out, Event{Seq: ev.Seq - 1, Time: ev.Time, Dropped: ev.Seq - last - 1})
		}
		out = append(out, ev)
		last = ev.Seq
	}
	return out, nil
}

// readRing reads current, then previous, and returns them oldest first.
// The writer may turn current into previous between the two reads: then
// previous holds what current held, and more, and Since skips the events
// read twice. (Reading previous first would then miss what current held,
// the newest events, with nothing to tell.)
func readRing(dir string) ([]Event, error) {
	cur, _, err := readFile(filepath.Join(dir, CurrentFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	prev, _, err := readFile(filepath.Join(dir, PreviousFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return append(prev, cur...), nil
}

// Follow calls fn with each event after since, in order, as they come,
// until ctx ends (nil) or fn fails. It waits for the ring's directory to
// exist, then for each change of it through inotify; it reads the ring
// again at least every recheck, should a change go unseen (the directory
// removed and made again).
func Follow(ctx context.Context, dir string, since uint64, fn func(Event) error) error {
	dir, err := filepath.Abs(dir) // WaitPaths walks down from the root
	if err != nil {
		return err
	}
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
	t := &tail{dir: dir, last: since}
	defer t.close()
	for {
		evs, err := t.read()
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ctx.Err() != nil {
				return nil
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
		if _, err := w.Next(ctx, recheck); err != nil {
			return nil // ctx ended
		}
	}
}

// recheck bounds a follower's wait between two changes it was told of.
const recheck = 5 * time.Second
