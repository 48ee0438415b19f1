package supervise

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// An Addon is an optional part of sv-scan that acts on the scan dir's
// services from beside the engine, through the Scanner's methods below:
// OpenRC's start requests are one (package openrc). The engine knows
// nothing of what an addon is for.
type Addon interface {
	// Open is called once the scanner holds the scan dir, before its
	// first scan: what clients look for must exist by then.
	Open(sc *Scanner) error
	// Run runs for as long as the scanner does; ctx ends with it.
	Run(ctx context.Context, sc *Scanner)
}

// Dir is the scan directory.
func (s *Scanner) Dir() string { return s.dir }

// Spawn starts a helper process through the scanner's reaper (which
// reaps every child of sv-scan): in a session of its own, its exit told
// to spec.OnExit.
func (s *Scanner) Spawn(spec proc.Spec) (*proc.Process, error) { return s.reaper.Start(spec) }

// Environ is the environment sv-scan gives its children.
func (s *Scanner) Environ() []string { return s.environ }

// Logf writes one line to sv-scan's log; Vlogf only with --verbose.
func (s *Scanner) Logf(format string, args ...any)  { s.logf(format, args...) }
func (s *Scanner) Vlogf(format string, args ...any) { s.vlogf(format, args...) }

// Vet is what an addon checks before TakeUp takes a service up: Dir on
// the service dir, before it is read; Loaded on its OPTIONS. Each returns
// why not, or "".
type Vet struct {
	Dir    func() string
	Loaded func(*options.Service) string
}

// Taken is a service TakeUp took up and started.
type Taken struct {
	Sent     time.Time // when its start was made
	Restarts int       // the restart count before it
	Service  *options.Service
	Watch    *Watch // follows its state from before the start on
}

// TakeUp links the service dir dir into the scan dir as name, takes it up
// and starts it at once, `down` file or not, unless it is supervised or
// linked already, vet declines it, or it has no OPTIONS that load: then
// it says why, and nothing is left half done. The caller closes the
// Watch.
func (s *Scanner) TakeUp(name, dir string, vet Vet) (taken *Taken, why string) {
	s.awaitLeaving(name)
	if !s.onLoop(func() { taken, why = s.takeUp(name, dir, vet) }) {
		return nil, "sv-scan is stopping"
	}
	return taken, why
}

// takeUp is TakeUp, in the scan loop.
func (s *Scanner) takeUp(name, dir string, vet Vet) (*Taken, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	link := filepath.Join(s.dir, name)
	if old, ok := s.services[name]; ok && !s.forgetDone(name, old) {
		return nil, "supervised already"
	}
	if _, err := os.Lstat(link); err == nil {
		return nil, "in the scan dir already"
	}
	if why := vet.Dir(); why != "" {
		return nil, why
	}
	resolved, err := filepath.EvalSymlinks(dir) // as a scan resolves a link
	if err != nil {
		return nil, err.Error()
	}
	s.configs.beginPass()
	defer s.configs.endPass()
	cfg := s.configs.inPass(resolved)
	switch {
	case cfg.err != "":
		return nil, "OPTIONS: " + cfg.err
	case cfg.svc == nil:
		return nil, "no OPTIONS"
	}
	if why := vet.Loaded(cfg.svc); why != "" {
		return nil, why
	}
	if err := renameio.Symlink(dir, link); err != nil {
		return nil, "link: " + err.Error()
	}
	up := &upNow{watch: newWatch()}
	svc, err := newService(s, name, link, resolved, up)
	if err != nil {
		os.Remove(link)
		return nil, err.Error()
	}
	s.register(name, svc)
	return &Taken{Sent: up.sent, Restarts: up.restarts, Service: cfg.svc, Watch: up.watch}, ""
}

// onLoop runs f in the scan loop, between two scans, and waits for it;
// false if the loop has ended. A scan reads the scan dir before it takes
// s.mu: a link made and taken up meanwhile would look gone to it.
func (s *Scanner) onLoop(f func()) bool {
	done := make(chan struct{})
	select {
	case s.calls <- func() { f(); close(done) }:
	case <-s.loopDone:
		return false
	}
	<-done
	return true
}

// leavingWait bounds the wait for a service on its way out.
const leavingWait = 5 * time.Second

// awaitLeaving waits, leavingWait at most, until a service of that name
// that left the scan dir is done: a stop that took it out returns once
// its supervisor let go of supervise/ok, a moment before it is done.
func (s *Scanner) awaitLeaving(name string) {
	s.mu.Lock()
	svc, ok := s.services[name]
	s.mu.Unlock()
	if !ok {
		return
	}
	if _, err := os.Lstat(filepath.Join(s.dir, name)); err == nil {
		return // linked: not leaving
	}
	t := time.NewTimer(leavingWait)
	defer t.Stop()
	select {
	case <-svc.done:
	case <-t.C:
	}
}

// forgetDone forgets a service that is done ('x', its supervisor gone),
// as forget is about to, and says whether it was; s.mu is held. A
// stop that took the service out returns once its supervisor let go,
// which may be before the scan that forgets it: a start made right after
// must not find it supervised.
func (s *Scanner) forgetDone(name string, svc *service) bool {
	select {
	case <-svc.done:
		delete(s.services, name)
		return true
	default:
		return false
	}
}

// upNow has newService start the service as soon as it is set up, and
// says when and from what restart count, for TakeUp.
type upNow struct {
	sent     time.Time
	restarts int
	watch    *Watch
}

// Watch follows the state of one service taken up by TakeUp: the
// state.json the engine writes, handed over in process. It never holds
// the engine up: C holds at most one wake-up, and State is the latest.
type Watch struct {
	C      chan struct{}
	mu     sync.Mutex
	state  svdir.State
	seen   bool // a state was set
	closed bool
}

func newWatch() *Watch { return &Watch{C: make(chan struct{}, 1)} }

// ErrNoState: the service has not written its first state yet.
var ErrNoState = errors.New("no state yet")

// State is the service's latest state.
func (w *Watch) State() (svdir.State, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.seen {
		return svdir.State{}, ErrNoState
	}
	return w.state, nil
}

// Close stops the hand-over.
func (w *Watch) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// set hands over a new state, copied: the engine goes on changing its own.
func (w *Watch) set(st svdir.State) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if st.LastExit != nil {
		e := *st.LastExit
		st.LastExit = &e
	}
	if st.Log != nil {
		l := *st.Log
		st.Log = &l
	}
	w.state, w.seen = st, true
	w.mu.Unlock()
	select {
	case w.C <- struct{}{}:
	default:
	}
}
