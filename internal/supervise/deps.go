package supervise

import (
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/layout"
)

// depRegistry is the scanner's side of dependencies (package deps): the
// graph of what each supervised service depends on, as its OPTIONS say,
// and each service's state as its dependents see it. A service tells it
// of every change of its own state (publish); the registry then sends an
// event to each service that depends on it, or that it depends on, which
// checks again whether to start, to stop, or to go on with a held stop.
type depRegistry struct {
	mu     sync.RWMutex
	edges  map[string][]deps.Edge // each service's own dependencies
	before map[string][]string    // each service's SVC_BEFORE
	graph  *deps.Graph
	cycle  map[string]string // the services on a cycle: "a -> b -> a"
	byName map[string]*service
	// known are the names in the scan dir not taken up yet: a service
	// that needs one waits for it rather than being blocked on it.
	known map[string]bool
	// disabled are the names in the scan dir left out of the run
	// (SVC_ENABLE=no): what depends on them does not wait.
	disabled map[string]bool
}

func newDepRegistry() depRegistry {
	return depRegistry{
		edges: map[string][]deps.Edge{}, before: map[string][]string{},
		graph: deps.NewGraph(nil, nil), cycle: map[string]string{},
		byName: map[string]*service{}, known: map[string]bool{},
	}
}

// setEdges records a service's dependencies as its OPTIONS now say, and
// reports whether they changed.
func (r *depRegistry) setEdges(name string, edges []deps.Edge, before []string) bool {
	return r.setEdgesOf(map[string][]deps.Edge{name: edges}, map[string][]string{name: before})
}

// setEdgesOf records the dependencies of several services at once, with
// one rebuild at most, and reports whether any changed. A service without
// any, as before, costs no rebuild: starting many such services stays
// linear.
func (r *depRegistry) setEdgesOf(edges map[string][]deps.Edge, before map[string][]string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for name, e := range edges {
		b := before[name]
		if slices.Equal(r.edges[name], e) && slices.Equal(r.before[name], b) {
			continue
		}
		changed = true
		if len(e)+len(b) == 0 {
			delete(r.edges, name)
			delete(r.before, name)
		} else {
			r.edges[name], r.before[name] = e, b
		}
	}
	if changed {
		r.rebuild()
	}
	return changed
}

// dropEdges forgets the dependencies of a service no longer supervised.
func (r *depRegistry) dropEdges(name string) {
	r.setEdges(name, nil, nil)
}

// rebuild makes the graph again from every service's edges; r.mu is
// held. It runs when some service's dependencies change, not at events.
func (r *depRegistry) rebuild() {
	r.graph = deps.NewGraph(r.edges, r.before)
	r.cycle = r.graph.InCycle()
}

// setKnown records the names present in the scan dir, and those of them
// left out of the run.
func (r *depRegistry) setKnown(names []string, disabled map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known = map[string]bool{}
	for _, n := range names {
		r.known[n] = true
	}
	r.disabled = disabled
}

// register makes svc the service of its name, and tells those around it.
func (r *depRegistry) register(svc *service) {
	r.mu.Lock()
	r.byName[svc.name] = svc
	r.mu.Unlock()
	r.notifyAround(svc.name, svc)
}

// unregister forgets svc, once it is done, and tells those around it.
func (r *depRegistry) unregister(svc *service) {
	r.mu.Lock()
	if r.byName[svc.name] != svc {
		r.mu.Unlock()
		return
	}
	delete(r.byName, svc.name)
	r.mu.Unlock()
	r.notifyAround(svc.name, svc)
}

// notifyAround sends a dependency event to every supervised service that
// depends on name or that name depends on, but from.
func (r *depRegistry) notifyAround(name string, from *service) {
	notify(r.neighbours(name, from))
}

func notify(to []*service) {
	for _, svc := range to {
		svc.send(event{kind: evDeps})
	}
}

// neighbours are the supervised services that depend on name or that
// name depends on, but from.
func (r *depRegistry) neighbours(name string, from *service) []*service {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var to []*service
	add := func(n string) {
		if svc := r.byName[n]; svc != nil && svc != from && !slices.Contains(to, svc) {
			to = append(to, svc)
		}
	}
	for _, d := range r.graph.Dependents(name) {
		add(d)
	}
	for _, e := range r.graph.Deps(name) {
		add(e.On)
	}
	return to
}

// depsOf is what name depends on, and the cycle it is on ("" if none).
func (r *depRegistry) depsOf(name string) ([]deps.Edge, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.graph.Deps(name), r.cycle[name]
}

// stateOf is the state of the service name, as a dependent whose service
// dir is in svDir sees it. A service left out of the run (SVC_ENABLE=no)
// is ready: nothing is to wait for it. A name sv-scan does not supervise
// is looked
// for on disk: a service of the same tree not in the scan dir is down;
// a service of OpenRC's own (an init script that is not one of ours) is
// OpenRC's to order, and does not hold anything here; anything else does
// not exist.
func (r *depRegistry) stateOf(name, svDir string) deps.State {
	r.mu.RLock()
	svc, known, disabled := r.byName[name], r.known[name], r.disabled[name]
	r.mu.RUnlock()
	switch {
	case disabled:
		return deps.State{Status: deps.Ready, Why: "SVC_ENABLE=no"}
	case svc != nil:
		if st := svc.dep.Load(); st != nil {
			return *st
		}
		return deps.State{Status: deps.Pending, Why: "being taken up"}
	case known:
		return deps.State{Status: deps.Pending, Why: "being taken up"}
	}
	if fi, err := os.Stat(filepath.Join(svDir, name)); err == nil && fi.IsDir() {
		return deps.State{Status: deps.Down, Why: "not in the scan dir"}
	}
	if fi, err := os.Stat(filepath.Join(layout.RootOf(svDir), "etc/init.d", name)); err == nil && fi.Mode().IsRegular() {
		return deps.State{Status: deps.Ready}
	}
	return deps.State{Status: deps.Absent}
}

// depState is the unit's state as the services that depend on it see it.
func (u *unit) depState() deps.State {
	st := deps.State{Active: !u.gone(), Leaving: u.leaving()}
	switch u.phase {
	case phaseUp:
		st.Status = deps.Ready
		if u.policy().Oneshot { // a oneshot is done when it exits 0
			st.Status = deps.Starting
		}
	case phaseStarting:
		st.Status = deps.Starting
	case phaseDone:
		st.Status = deps.Ready
	case phaseWaiting:
		st.Status, st.Why = deps.Pending, u.waiting
	case phaseBlocked:
		st.Status, st.Why = deps.Failed, "blocked: "+u.waiting
	case phaseBackoff:
		st.Status = deps.Backoff
	case phaseFatal:
		st.Status, st.Why = deps.Failed, "fatal: "+u.fatal
	default: // down, or on the way there
		st.Status = deps.Down
		if u.want == wantUp {
			st.Status = deps.Pending // a restart comes
		}
	}
	return st
}

// publishDeps tells the registry of a change of the service's state, as
// its dependents see it; it runs after each event the service handled.
func (s *service) publishDeps() {
	s.publishApp()
	st := s.main.depState()
	if old := s.dep.Load(); old != nil && *old == st {
		return
	}
	s.dep.Store(&st)
	s.sc.deps.notifyAround(s.name, s)
	s.sc.apps.poke()
}

// setDeps records the dependencies the service's OPTIONS give, as last
// read. When they changed, the services around it before and after the
// change check again (a cycle made or undone reaches the others of the
// cycle through their own changes).
func (s *service) setDeps() {
	var edges []deps.Edge
	var before []string
	app := ""
	if o := s.cfg.svc; o != nil {
		edges, before, app = deps.Edges(o.Config.Deps), deps.Names(o.Config.Deps.Before), o.Config.GroupName
	}
	s.sc.apps.setMember(s, app)
	r := &s.sc.deps
	old := r.neighbours(s.name, s)
	if !r.setEdges(s.name, edges, before) {
		return
	}
	for _, svc := range r.neighbours(s.name, s) {
		if !slices.Contains(old, svc) {
			old = append(old, svc)
		}
	}
	notify(old)
}

// gate: whether the unit may start now: what it depends on allows it,
// and its SVC_WAIT_MOUNT points are mounted. A service on a cycle of
// dependencies never may: the cycle says why.
func (s *service) gate(u *unit) deps.Verdict {
	edges, cycle := s.sc.deps.depsOf(s.name)
	if cycle != "" {
		return deps.Verdict{Blocked: true, Reason: "dependency cycle: " + cycle}
	}
	if v := deps.Gate(edges, s.lookDeps); !v.Start {
		return v
	}
	return s.mountGate()
}

// needGone: whether the running unit must stop because a service it
// needs goes (or restarts, with SVC_NEED_RESTART).
func (s *service) needGone(u *unit) (string, bool) {
	edges, _ := s.sc.deps.depsOf(s.name)
	return deps.MustStop(edges, s.cfg.svc != nil && s.cfg.svc.Config.Deps.NeedRestart, s.lookDeps)
}

// dependentsRun: whether a service that depends on this one runs and is
// to stop (it needs this one, or it leaves too, as every service does
// when sv-scan stops), so that this one's stop waits for it. Services on
// a cycle with this one do not hold it.
func (s *service) dependentsRun(u *unit) bool {
	r := &s.sc.deps
	r.mu.RLock()
	dependents := r.graph.Dependents(s.name)
	mine := r.cycle[s.name]
	r.mu.RUnlock()
	for _, d := range dependents {
		edges, cycle := r.depsOf(d)
		if mine != "" && cycle == mine {
			continue
		}
		st := s.lookDeps(d)
		if !st.Active {
			continue
		}
		needs := slices.Contains(edges, deps.Edge{On: s.name, Kind: deps.Need})
		if needs || st.Leaving || s.sc.stopping.Load() {
			return true
		}
	}
	return false
}

func (s *service) lookDeps(name string) deps.State {
	return s.sc.deps.stateOf(name, filepath.Dir(s.dir))
}
