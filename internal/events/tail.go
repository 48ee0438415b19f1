package events

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// tail reads the events appended to the ring as they come, from the file
// it holds open: a follower woken by each event decodes that event only,
// not the thousands the ring keeps (a whole read of the ring takes
// milliseconds; one line, microseconds).
type tail struct {
	dir     string
	f       *os.File // current, as it was when opened: previous after a rotation
	partial []byte   // the start of a line still being written
	last    uint64   // the last event given
	begun   bool
}

// read returns the events after t.last written since the last read, in
// order, a dropped record where numbers are missing (as Since does).
func (t *tail) read() ([]Event, error) {
	if !t.begun {
		return t.begin()
	}
	out, err := t.drain()
	if err != nil {
		return out, err
	}
	rotated, err := t.rotated()
	if err != nil || !rotated {
		return out, err
	}
	// The writer made our file previous, maybe more than once since: what
	// it wrote there before is read now, the rest from the whole ring
	// (once every PerFile events), which says what it no longer holds.
	evs, err := t.drain()
	out = append(out, evs...)
	t.f.Close()
	t.f, t.partial = nil, nil
	if err != nil {
		return out, err
	}
	evs, err = t.begin()
	return append(out, evs...), err
}

// begin opens current, then reads the whole ring: an event written
// between the two is in both, and given once (drain skips what the read
// gave).
func (t *tail) begin() ([]Event, error) {
	if err := t.open(); err != nil {
		return nil, err
	}
	evs, err := Since(t.dir, t.last)
	if err != nil {
		return nil, err
	}
	if len(evs) > 0 {
		t.last = evs[len(evs)-1].Seq
	}
	t.begun = true
	more, err := t.drain()
	return append(evs, more...), err
}

// open opens current; none yet (a rotation half done, or a ring never
// written) is not an error: the next read tries again.
func (t *tail) open() error {
	f, err := os.Open(filepath.Join(t.dir, CurrentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	t.f = f
	return nil
}

// drain decodes the complete lines added to the open file.
func (t *tail) drain() ([]Event, error) {
	if t.f == nil {
		return nil, t.open()
	}
	data, err := io.ReadAll(io.LimitReader(t.f, maxFile))
	if err != nil {
		return nil, err
	}
	data = append(t.partial, data...)
	end := bytes.LastIndexByte(data, '\n') + 1
	t.partial = append([]byte(nil), data[end:]...)
	var out []Event
	for line := range bytes.Lines(data[:end]) {
		ev, err := Decode(line)
		if err != nil || ev.Seq <= t.last {
			continue // a torn line (counted by the gap it leaves), or one given already
		}
		if t.last > 0 && ev.Seq > t.last+1 {
			out = append(out, Event{Seq: ev.Seq - 1, Time: ev.Time, Dropped: ev.Seq - t.last - 1})
		}
		out = append(out, ev)
		t.last = ev.Seq
	}
	return out, nil
}

// rotated reports whether current is no longer the file held open.
func (t *tail) rotated() (bool, error) {
	if t.f == nil {
		return false, nil
	}
	held, err := t.f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Stat(filepath.Join(t.dir, CurrentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // being rotated: the new one comes next
	}
	if err != nil {
		return false, err
	}
	return !os.SameFile(held, now), nil
}

func (t *tail) close() {
	if t.f != nil {
		t.f.Close()
	}
}
