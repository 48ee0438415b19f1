package deps

import (
	"reflect"
	"testing"

	"github.com/supervision-suite/supervision/internal/options"
)

func TestEdgesKeepTheStrongestKindOnce(t *testing.T) {
	got := Edges(options.Deps{Need: []string{"db"}, Want: []string{"cache", "db"}, Use: []string{"dns"}, After: []string{"db", "syslog", "cache"}})
	want := []Edge{{"db", Need}, {"cache", Want}, {"dns", Use}, {"syslog", After}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Edges = %v, want %v", got, want)
	}
}

// states is a tree as Gate sees it: a name missing from it is absent.
type states map[string]State

func (s states) look(name string) State { return s[name] }

func TestGate(t *testing.T) {
	ready := State{Status: Ready}
	cases := []struct {
		name  string
		edges []Edge
		tree  states
		want  Verdict
	}{
		{"no dependencies", nil, nil, Verdict{Start: true}},
		{"need ready", []Edge{{"db", Need}}, states{"db": ready}, Verdict{Start: true}},
		{"need starting", []Edge{{"db", Need}}, states{"db": {Status: Starting}}, Verdict{Reason: "waiting for db"}},
		{"need pending, says why", []Edge{{"db", Need}}, states{"db": {Status: Pending, Why: "waiting for nfs"}}, Verdict{Reason: "waiting for db (waiting for nfs)"}},
		{"need in backoff waits", []Edge{{"db", Need}}, states{"db": {Status: Backoff}}, Verdict{Reason: "waiting for db"}},
		{"need fatal blocks", []Edge{{"db", Need}}, states{"db": {Status: Failed, Why: "fatal: exit 1"}}, Verdict{Blocked: true, Reason: "needs db (fatal: exit 1)"}},
		{"need down blocks", []Edge{{"db", Need}}, states{"db": {Status: Down}}, Verdict{Blocked: true, Reason: "needs db (down)"}},
		{"need leaving blocks", []Edge{{"db", Need}}, states{"db": {Status: Ready, Leaving: true}}, Verdict{Blocked: true, Reason: "needs db (down)"}},
		{"need absent blocks", []Edge{{"db", Need}}, nil, Verdict{Blocked: true, Reason: "needs db (no such service)"}},
		{"oneshot done satisfies", []Edge{{"mkdirs", Need}}, states{"mkdirs": ready}, Verdict{Start: true}},
		{"want starting waits", []Edge{{"db", Want}}, states{"db": {Status: Starting}}, Verdict{Reason: "waiting for db"}},
		{"want fatal starts", []Edge{{"db", Want}}, states{"db": {Status: Failed, Why: "fatal: exit 1"}}, Verdict{Start: true}},
		{"want in backoff starts", []Edge{{"db", Want}}, states{"db": {Status: Backoff}}, Verdict{Start: true}},
		{"want absent starts", []Edge{{"db", Want}}, nil, Verdict{Start: true}},
		{"use down starts", []Edge{{"dns", Use}}, states{"dns": {Status: Down}}, Verdict{Start: true}},
		{"use pending waits", []Edge{{"dns", Use}}, states{"dns": {Status: Pending}}, Verdict{Reason: "waiting for dns"}},
		{"after starting waits", []Edge{{"syslog", After}}, states{"syslog": {Status: Starting}}, Verdict{Reason: "waiting for syslog"}},
		{"after absent starts", []Edge{{"syslog", After}}, nil, Verdict{Start: true}},
		{"a block wins over a wait", []Edge{{"a", After}, {"db", Need}}, states{"a": {Status: Starting}}, Verdict{Blocked: true, Reason: "needs db (no such service)"}},
		{"the first wait says it", []Edge{{"a", After}, {"b", Need}}, states{"a": {Status: Starting}, "b": {Status: Starting}}, Verdict{Reason: "waiting for a"}},
	}
	for _, c := range cases {
		if got := Gate(c.edges, c.tree.look); got != c.want {
			t.Errorf("%s: Gate = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestMustStop(t *testing.T) {
	edges := []Edge{{"syslog", After}, {"db", Need}}
	cases := []struct {
		tree states
		why  string
		stop bool
	}{
		{states{"db": {Status: Ready}, "syslog": {Status: Down}}, "", false},
		{states{"db": {Status: Ready, Leaving: true}}, "needs db (stopping)", true},
		{states{"db": {Status: Down}}, "needs db (stopping)", true},
		{states{}, "needs db (stopping)", true},
		{states{"db": {Status: Backoff}, "syslog": {Leaving: true}}, "", false},
	}
	for i, c := range cases {
		why, stop := MustStop(edges, false, c.tree.look)
		if why != c.why || stop != c.stop {
			t.Errorf("case %d: MustStop = %q %v, want %q %v", i, why, stop, c.why, c.stop)
		}
	}
	// SVC_NEED_RESTART: a need no longer ready (restarting) stops it too;
	// one that is ready does not.
	restarting := states{"db": {Status: Backoff}}
	if why, stop := MustStop(edges, true, restarting.look); !stop || why != "needs db (restarting)" {
		t.Errorf("with restarts, a need in backoff: %q %v", why, stop)
	}
	if _, stop := MustStop(edges, true, states{"db": {Status: Ready}}.look); stop {
		t.Error("with restarts, a ready need stops it")
	}
}

func TestGraphTurnsBeforeAround(t *testing.T) {
	g := NewGraph(map[string][]Edge{
		"web": {{"db", Need}},
		"db":  nil,
		"log": nil,
	}, map[string][]string{"log": {"db", "web"}})
	if got, want := g.Deps("db"), []Edge{{"log", After}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Deps(db) = %v, want %v", got, want)
	}
	if got, want := g.Deps("web"), []Edge{{"db", Need}, {"log", After}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Deps(web) = %v, want %v", got, want)
	}
	if got, want := g.Dependents("log"), []string{"db", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dependents(log) = %v, want %v", got, want)
	}
	if got, want := g.Dependents("db"), []string{"web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dependents(db) = %v, want %v", got, want)
	}
}

func TestCycles(t *testing.T) {
	g := NewGraph(map[string][]Edge{
		"a": {{"b", Need}},
		"b": {{"c", After}},
		"c": {{"a", Want}, {"d", Need}},
		"d": nil,
		"e": {{"e", Need}},
		"f": {{"ghost", Need}},
	}, map[string][]string{"d": {"x"}, "x": {"d"}})
	want := [][]string{{"a", "b", "c", "a"}, {"d", "x", "d"}, {"e", "e"}}
	if got := g.Cycles(); !reflect.DeepEqual(got, want) {
		t.Errorf("Cycles = %v, want %v", got, want)
	}
	in := g.InCycle()
	if in["b"] != "a -> b -> c -> a" || in["e"] != "e -> e" || in["f"] != "" {
		t.Errorf("InCycle = %v", in)
	}
}

func TestNoCycleInAChain(t *testing.T) {
	own := map[string][]Edge{}
	prev := ""
	for _, n := range []string{"l0", "l1", "l2", "l3"} {
		if prev != "" {
			own[n] = []Edge{{prev, Need}}
		} else {
			own[n] = nil
		}
		prev = n
	}
	if c := NewGraph(own, nil).Cycles(); len(c) != 0 {
		t.Errorf("a chain has cycles: %v", c)
	}
}

func TestPullsInAndNeededBy(t *testing.T) {
	g := NewGraph(map[string][]Edge{
		"web":   {{"db", Need}, {"cache", Want}, {"log", After}},
		"db":    {{"disk", Need}, {"dns", Use}},
		"cache": nil,
		"disk":  nil,
		"api":   {{"web", Need}},
		"stats": {{"db", Want}},
	}, nil)
	if got, want := g.PullsIn("web"), []string{"disk", "db", "cache"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PullsIn(web) = %v, want %v", got, want)
	}
	if got, want := g.NeededBy("db"), []string{"api", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NeededBy(db) = %v, want %v", got, want)
	}
	if got := g.NeededBy("cache"); len(got) != 0 {
		t.Errorf("NeededBy(cache) = %v: only a need takes a service down", got)
	}
	if got, want := g.Names(), []string{"api", "cache", "db", "disk", "dns", "log", "stats", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
}

func TestOrder(t *testing.T) {
	g := NewGraph(map[string][]Edge{
		"web":  {{"db", Need}, {"log", After}},
		"db":   {{"nfs", Need}},
		"api":  {{"web", Want}},
		"nfs":  nil,
		"solo": nil,
	}, map[string][]string{"early": {"nfs"}})
	got := g.Order([]string{"api", "web", "solo", "db", "nfs", "early"})
	// api sorts first, but comes after web, which it wants
	want := []string{"early", "nfs", "db", "web", "api", "solo"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
}
