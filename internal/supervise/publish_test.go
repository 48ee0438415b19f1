package supervise

import (
	"path/filepath"
	"testing"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// TestEventAfterState: a change is recorded in the events only once the
// service's state.json and status say it, so that a reader woken by the
// event (sv-http's page, a hook running sv-ctl status) reads the state
// it tells of, not the one before.
func TestEventAfterState(t *testing.T) {
	dir := t.TempDir()
	ring := filepath.Join(dir, "events")
	w, err := events.Create(ring)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sup, err := svdir.Acquire(filepath.Join(dir, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Close()
	s := &service{sc: &Scanner{events: w}, name: "web"}
	// The log unit: no hooks are told of its changes.
	u := &unit{w: s, svc: s, isLog: true, name: "web/log", cfg: &s.cfg, sup: sup, io: &unitIO{}}
	s.log = u
	u.phase = phaseStarting
	s.sc.emit(u, phaseDown, "started")
	if evs, _ := events.Since(ring, 0); len(evs) != 0 {
		t.Fatalf("the change was recorded before the state files were written: %+v", evs)
	}
	s.writeStatus()
	evs, err := events.Since(ring, 0)
	if err != nil || len(evs) != 1 || evs[0].To != "starting" || evs[0].Seq != 1 {
		t.Fatalf("after writeStatus, the events are %+v, %v; want the change to starting", evs, err)
	}
	st, err := svdir.ReadState(sup.Dir)
	if err != nil || st.Phase != "starting" {
		t.Fatalf("state.json: %+v, %v", st, err)
	}
	s.writeStatus() // nothing new: nothing recorded again
	if evs, _ := events.Since(ring, 0); len(evs) != 1 {
		t.Fatalf("a second writeStatus recorded %d events", len(evs))
	}
}
