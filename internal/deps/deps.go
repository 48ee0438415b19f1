// Package deps is the dependency model of a tree of services: who needs,
// wants, uses or comes after whom (SVC_NEED, SVC_WANT, SVC_USE,
// SVC_AFTER and SVC_BEFORE), the cycles that make an order impossible,
// and the one pure function that says whether a service may start now
// given what the services it depends on are doing. sv-scan applies it at
// each start; sv-gen check and sv-ctl read the same graph.
package deps

import (
	"slices"
	"strings"

	"github.com/supervision-suite/supervision/internal/options"
)

// Kind is how a service depends on another.
type Kind int

const (
	// Need: it waits until the other is ready, and does not start while
	// the other cannot (failed, down, absent); it stops before the other
	// does.
	Need Kind = iota
	// Want: it waits for the other's start to end, whatever its outcome.
	Want
	// Use: as Want, for a service started only when the other is in the
	// tree; nothing pulls the other in (OpenRC's use).
	Use
	// After: order only, when both start (SVC_AFTER, and SVC_BEFORE seen
	// from the other side).
	After
	numKinds
)

var kindNames = [numKinds]string{Need: "need", Want: "want", Use: "use", After: "after"}

func (k Kind) String() string { return kindNames[k] }

// Edge is one dependency of a service.
type Edge struct {
	On   string // the service depended on
	Kind Kind
}

// Edges lists a service's own dependencies from its OPTIONS, the
// strongest kind once per service: SVC_NEED=db SVC_AFTER=db is a need.
// SVC_BEFORE names the services that depend on this one; Graph turns
// them around.
func Edges(d options.Deps) []Edge {
	var out []Edge
	add := func(names []string, k Kind) {
		for _, n := range Names(names) {
			if i := slices.IndexFunc(out, func(e Edge) bool { return e.On == n }); i >= 0 {
				out[i].Kind = min(out[i].Kind, k)
				continue
			}
			out = append(out, Edge{On: n, Kind: k})
		}
	}
	add(d.Need, Need)
	add(d.Want, Want)
	add(d.Use, Use)
	add(d.After, After)
	return out
}

// openrcPrefix is how OpenRC names a service of a tree (sv.NAME); OPTIONS
// may name a dependency either way.
const openrcPrefix = "sv."

// Names are service names as OPTIONS give them, OpenRC's sv.NAME as NAME.
func Names(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimPrefix(n, openrcPrefix)
	}
	return out
}

// Status is what a service depended on is doing, as a start sees it.
type Status int

const (
	// Absent: no such service in the tree.
	Absent Status = iota
	// Down: it is not running and nothing will start it (stopped, or
	// leaving).
	Down
	// Pending: it is to run but does not yet: it waits for its own
	// dependencies.
	Pending
	// Backoff: its last start failed, and it starts again after a delay.
	Backoff
	// Starting: it runs, not ready yet (a oneshot: it runs).
	Starting
	// Ready: a longrun that is ready (running, when it has no readiness
	// of its own); a oneshot that exited 0 (done).
	Ready
	// Failed: given up (fatal), or blocked on a need of its own.
	Failed
)

// State is a service as its dependents see it.
type State struct {
	Status Status
	// Why says more, for a dependent's message: "fatal: exit 1",
	// "blocked: needs nfs (down)", "cannot take it up: ...".
	Why string
	// Leaving: it is to stop (asked down, or sv-scan is stopping), so a
	// service that needs it stops first.
	Leaving bool
	// Active: a process of it runs, so a service it depends on that is
	// stopping waits for it.
	Active bool
}

// Verdict is whether a service may start now.
type Verdict struct {
	Start bool
	// Blocked: it cannot start until something outside changes (a needed
	// service failed, is down or absent); otherwise it waits for a start
	// under way.
	Blocked bool
	Reason  string // "needs db (fatal: exit 1)", "waiting for db"
}

// Gate decides whether a service with edges may start, given the state
// of each service it depends on. A blocking reason wins over a waiting
// one, and the first edge in the OPTIONS' order says it.
func Gate(edges []Edge, look func(name string) State) Verdict {
	var wait string
	for _, e := range edges {
		st := look(e.On)
		if e.Kind == Need {
			if why, blocked := needBlocked(e.On, st); blocked {
				return Verdict{Blocked: true, Reason: why}
			}
		}
		if wait == "" && waits(e.Kind, st) {
			wait = "waiting for " + e.On
			if (st.Status == Pending || st.Status == Backoff) && st.Why != "" {
				wait += " (" + st.Why + ")"
			}
		}
	}
	if wait != "" {
		return Verdict{Reason: wait}
	}
	return Verdict{Start: true}
}

// needBlocked: a needed service that cannot be ready without a change
// from outside blocks the start.
func needBlocked(name string, st State) (string, bool) {
	switch {
	case st.Status == Absent:
		return "needs " + name + " (no such service)", true
	case st.Status == Failed:
		return "needs " + name + " (" + st.Why + ")", true
	case st.Status == Down || st.Leaving:
		return "needs " + name + " (down)", true
	}
	return "", false
}

// waits: the dependency's start is under way, and the kind waits for it:
// a need until it is ready, the others until a start has ended (a start
// that failed, in its backoff, has ended).
func waits(k Kind, st State) bool {
	switch st.Status {
	case Pending, Starting:
		return true
	case Backoff:
		return k == Need
	}
	return false
}

// MustStop reports whether a running service with edges must stop
// because a service it needs is leaving, or, with withRestarts
// (SVC_NEED_RESTART), is no longer ready (it restarts); the reason names
// it.
func MustStop(edges []Edge, withRestarts bool, look func(name string) State) (string, bool) {
	for _, e := range edges {
		if e.Kind != Need {
			continue
		}
		st := look(e.On)
		if st.Leaving || st.Status == Down || st.Status == Absent {
			return "needs " + e.On + " (stopping)", true
		}
		if withRestarts && st.Status != Ready {
			return "needs " + e.On + " (restarting)", true
		}
	}
	return "", false
}

// Graph is the dependencies of every service of a tree.
type Graph struct {
	deps       map[string][]Edge // each service's own, SVC_BEFORE turned around
	dependents map[string][]string
}

// NewGraph builds the graph of services from each one's own edges and
// its SVC_BEFORE list.
func NewGraph(own map[string][]Edge, before map[string][]string) *Graph {
	g := &Graph{deps: map[string][]Edge{}, dependents: map[string][]string{}}
	for name, edges := range own {
		g.deps[name] = slices.Clone(edges)
	}
	names := sortedKeys(before)
	for _, name := range names {
		for _, later := range before[name] {
			edges := g.deps[later]
			if slices.ContainsFunc(edges, func(e Edge) bool { return e.On == name }) {
				continue
			}
			g.deps[later] = append(edges, Edge{On: name, Kind: After})
		}
	}
	for _, name := range sortedKeys(g.deps) {
		for _, e := range g.deps[name] {
			if !slices.Contains(g.dependents[e.On], name) {
				g.dependents[e.On] = append(g.dependents[e.On], name)
			}
		}
	}
	return g
}

// Deps is what name depends on.
func (g *Graph) Deps(name string) []Edge { return g.deps[name] }

// Dependents is what depends on name, sorted.
func (g *Graph) Dependents(name string) []string { return g.dependents[name] }

// Cycles returns each cycle of the graph once, as the names along it
// with the first repeated at the end (a b c a), starting from its
// smallest name; services not in the graph are not followed.
func (g *Graph) Cycles() [][]string {
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[string]int{}
	var path []string
	seen := map[string]bool{}
	var out [][]string
	var visit func(n string)
	visit = func(n string) {
		mark[n] = onPath
		path = append(path, n)
		for _, e := range g.deps[n] {
			switch mark[e.On] {
			case unseen:
				if _, ok := g.deps[e.On]; ok {
					visit(e.On)
				}
			case onPath:
				c := cycleFrom(path, e.On)
				if key := strings.Join(c, " "); !seen[key] {
					seen[key] = true
					out = append(out, c)
				}
			}
		}
		path = path[:len(path)-1]
		mark[n] = done
	}
	for _, n := range sortedKeys(g.deps) {
		if mark[n] == unseen {
			visit(n)
		}
	}
	return out
}

// cycleFrom is the cycle closed by an edge back to start, turned to begin
// at its smallest name, and closed.
func cycleFrom(path []string, start string) []string {
	c := slices.Clone(path[slices.Index(path, start):])
	least := 0
	for i, n := range c {
		if n < c[least] {
			least = i
		}
	}
	c = append(c[least:], c[:least]...)
	return append(c, c[0])
}

// InCycle reports the services on some cycle, each mapped to its cycle
// written as "a -> b -> a".
func (g *Graph) InCycle() map[string]string {
	out := map[string]string{}
	for _, c := range g.Cycles() {
		s := strings.Join(c, " -> ")
		for _, n := range c[:len(c)-1] {
			if _, ok := out[n]; !ok {
				out[n] = s
			}
		}
	}
	return out
}

// PullsIn is what bringing name up brings up too: what it needs or
// wants, and what those need or want, each once, dependencies first.
func (g *Graph) PullsIn(name string) []string {
	return g.closure(name, func(n string) []string {
		var out []string
		for _, e := range g.deps[n] {
			if e.Kind == Need || e.Kind == Want {
				out = append(out, e.On)
			}
		}
		return out
	})
}

// NeededBy is what taking name down takes down too: what needs it, and
// what needs those, each once, dependents first.
func (g *Graph) NeededBy(name string) []string {
	return g.closure(name, func(n string) []string {
		var out []string
		for _, d := range g.dependents[n] {
			if slices.Contains(g.deps[d], Edge{On: n, Kind: Need}) {
				out = append(out, d)
			}
		}
		return out
	})
}

// closure walks next from name depth first, and lists each service
// reached once, after those it reaches (a cycle is walked once).
func (g *Graph) closure(name string, next func(string) []string) []string {
	var out []string
	seen := map[string]bool{name: true}
	var visit func(n string)
	visit = func(n string) {
		for _, m := range next(n) {
			if !seen[m] {
				seen[m] = true
				visit(m)
				out = append(out, m)
			}
		}
	}
	visit(name)
	return out
}

// Order sorts names so that each comes after what it depends on among
// them (of any kind), otherwise by name; a cycle is broken where it is
// met.
func (g *Graph) Order(names []string) []string {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	var out []string
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, e := range g.deps[n] {
			if in[e.On] {
				visit(e.On)
			}
		}
		out = append(out, n)
	}
	for _, n := range sorted {
		visit(n)
	}
	return out
}

// Names are the services of the graph: those with dependencies, and
// those depended on, sorted.
func (g *Graph) Names() []string {
	set := map[string]bool{}
	for n, edges := range g.deps {
		set[n] = true
		for _, e := range edges {
			set[e.On] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
