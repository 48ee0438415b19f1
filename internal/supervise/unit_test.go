package supervise

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/policy"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// These tests drive a unit's state machine in process: a fake world
// starts no process and has its own clock, so that backoff, give-up,
// timeouts and the rest are checked with no real process and no sleep.

// fakeChild is a process that exists only in the fake world.
type fakeChild struct {
	w   *fakeWorld
	id  int
	fin bool
}

func (c *fakeChild) pid() int                  { return c.id }
func (c *fakeChild) startTime() uint64         { return uint64(c.id) }
func (c *fakeChild) signal(sig syscall.Signal) { c.w.did("signal %d %s", c.id, sigName(sig)) }
func (c *fakeChild) release()                  {}

type fakeTimer struct {
	at    time.Time
	armed bool
}

// fakeWorld records what the unit does and plays the rest of the world.
type fakeWorld struct {
	t         *testing.T
	clock     time.Time
	timers    [numTimers]fakeTimer
	nextPid   int
	spawnErr  error
	finish    bool // there is a ./finish to run
	leftover  bool // the run leaves processes behind
	inputEOF  bool // a log unit whose input can be ended
	actions   []string
	changes   []string      // "from>to:reason"
	readyWait int           // readiness watches begun
	gateSays  *deps.Verdict // nil: it may start
	needGoes  string        // a service it needs goes: why
	depsRun   bool          // services that depend on it run, and stop first
	checks    int           // health checks run
}

func newWorld(t *testing.T) *fakeWorld {
	return &fakeWorld{t: t, clock: time.Unix(1_000_000, 0), nextPid: 100}
}

func (w *fakeWorld) did(format string, args ...any) {
	w.actions = append(w.actions, fmt.Sprintf(format, args...))
}

func (w *fakeWorld) now() time.Time { return w.clock }
func (w *fakeWorld) arm(u *unit, t timerKind, d time.Duration) {
	w.timers[t] = fakeTimer{at: w.clock.Add(d), armed: true}
}
func (w *fakeWorld) disarm(u *unit, t timerKind) { w.timers[t].armed = false }
func (w *fakeWorld) spawnRun(u *unit) (child, error) {
	if w.spawnErr != nil {
		return nil, w.spawnErr
	}
	w.nextPid++
	w.did("run %d", w.nextPid)
	return &fakeChild{w: w, id: w.nextPid}, nil
}
func (w *fakeWorld) spawnFinish(u *unit) (child, error) {
	w.nextPid++
	w.did("finish %d", w.nextPid)
	return &fakeChild{w: w, id: w.nextPid, fin: true}, nil
}
func (w *fakeWorld) needFinish(u *unit) bool                  { return w.finish }
func (w *fakeWorld) watchReady(u *unit, c child, fresh bool)  { w.readyWait++ }
func (w *fakeWorld) stopWatchingReady(u *unit)                {}
func (w *fakeWorld) signalGroup(u *unit, sig syscall.Signal)  { w.did("group %s", sigName(sig)) }
func (w *fakeWorld) signalCgroup(u *unit, sig syscall.Signal) { w.did("cgroup %s", sigName(sig)) }
func (w *fakeWorld) killAll(u *unit)                          { w.did("kill all") }
func (w *fakeWorld) leftovers(u *unit) bool                   { return w.leftover }
func (w *fakeWorld) watchEmpty(u *unit)                       { w.did("watch empty") }
func (w *fakeWorld) custom(u *unit, letter byte) bool         { return false }
func (w *fakeWorld) endInput(u *unit) bool                    { return w.inputEOF }
func (w *fakeWorld) beforeStart(u *unit)                      {}
func (w *fakeWorld) logf(format string, args ...any)          {}
func (w *fakeWorld) gate(u *unit) deps.Verdict {
	if w.gateSays != nil {
		return *w.gateSays
	}
	return deps.Verdict{Start: true}
}
func (w *fakeWorld) needGone(u *unit) (string, bool) { return w.needGoes, w.needGoes != "" }
func (w *fakeWorld) dependentsRun(u *unit) bool      { return w.depsRun }
func (w *fakeWorld) checkHealth(u *unit)             { w.checks++ }
func (w *fakeWorld) changed(u *unit, from phase, reason string) {
	w.changes = append(w.changes, from.String()+">"+u.phase.String()+":"+reason)
}

// advance moves the clock by d, and delivers each timer due on the way,
// in order.
func (w *fakeWorld) advance(u *unit, d time.Duration) {
	end := w.clock.Add(d)
	for {
		next := -1
		for t, tm := range w.timers {
			if tm.armed && !tm.at.After(end) && (next < 0 || tm.at.Before(w.timers[next].at)) {
				next = t
			}
		}
		if next < 0 {
			break
		}
		w.clock = w.timers[next].at
		w.timers[next].armed = false
		u.handle(timerInputs[next])
	}
	w.clock = end
}

// exit ends the unit's run with code (or sig), as the reaper would say.
func (w *fakeWorld) exit(u *unit, code int, sig syscall.Signal) {
	w.t.Helper()
	if u.run == nil {
		w.t.Fatal("exit: nothing runs")
	}
	e := &svdir.Exit{Code: code, At: w.clock}
	if sig != 0 {
		e.Code, e.Signal = -1, sigName(sig)
	}
	u.recordExit(e, code<<8)
	u.handle(inRunExited)
}

// lastChange is the last change of phase, "from>to:reason".
func (w *fakeWorld) lastChange() string {
	if len(w.changes) == 0 {
		return ""
	}
	return w.changes[len(w.changes)-1]
}

func testConfig() *config {
	return &config{
		ready: options.Ready{Kind: options.ReadyNone}, stopSignal: syscall.SIGTERM, stopGroup: true,
		stopTimeout: 10 * time.Second, reloadSignal: syscall.SIGHUP, policy: policy.Default,
	}
}

func newTestUnit(w *fakeWorld, cfg *config) *unit {
	return &unit{w: w, name: "svc", dir: "/svc", cfg: cfg, since: w.clock}
}

// A crash loop: the first restart at once, then a backoff from 100 ms,
// doubling (give or take a tenth), capped; a run that stayed up 10 s
// starts the series again.
func TestBackoff(t *testing.T) {
	w := newWorld(t)
	cfg := testConfig()
	cfg.policy.MaxDelay = time.Second
	u := newTestUnit(w, cfg)
	u.startNow()
	if u.phase != phaseUp || w.lastChange() != "starting>up:ready" {
		t.Fatalf("started: %v, %v", u.phase, w.changes)
	}
	w.exit(u, 1, 0)
	if u.phase != phaseUp || u.restarts != 1 || !strings.HasSuffix(w.changes[len(w.changes)-3], ">down:crashed") {
		t.Fatalf("first crash: not restarted at once: %v %v", u.phase, w.changes)
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second} {
		w.exit(u, 1, 0)
		if u.phase != phaseBackoff {
			t.Fatalf("crash %d: %v, not backing off", i+2, u.phase)
		}
		delay := u.nextStart.Sub(w.clock)
		if delay < want*9/10 || delay > min(want*11/10, time.Second) {
			t.Errorf("crash %d: backoff %v, want about %v", i+2, delay, want)
		}
		w.advance(u, delay-time.Millisecond)
		if u.phase != phaseBackoff {
			t.Fatalf("crash %d: started %v early", i+2, time.Millisecond)
		}
		w.advance(u, time.Millisecond)
		if u.phase != phaseUp || w.lastChange() != "starting>up:ready" {
			t.Fatalf("crash %d: not started at the end of the backoff: %v", i+2, w.changes[len(w.changes)-3:])
		}
	}
	w.advance(u, policy.StableAfter)
	w.exit(u, 1, 0)
	if u.phase != phaseUp {
		t.Errorf("a crash after 10 s up: %v, want a restart at once", u.phase)
	}
}

// SVC_RESTART_LIMIT: past N restarts within the window the unit is given
// up (fatal, wanted down); an explicit up starts it afresh.
func TestGiveUp(t *testing.T) {
	w := newWorld(t)
	cfg := testConfig()
	cfg.policy.Limit = options.RestartLimit{Count: 3, Window: time.Minute}
	cfg.policy.Delay = time.Millisecond // no backoff to wait out
	u := newTestUnit(w, cfg)
	u.startNow()
	for i := 0; i < 3; i++ {
		w.exit(u, 2, 0)
		w.advance(u, 2*time.Second)
		if u.phase != phaseUp {
			t.Fatalf("restart %d: %v", i+1, u.phase)
		}
	}
	w.exit(u, 2, 0)
	if u.phase != phaseFatal || u.want != wantDown || u.fatal == "" || w.lastChange() != "up>fatal:gave-up" {
		t.Fatalf("fourth crash within the window: %v %v %q %v", u.phase, u.want, u.fatal, w.lastChange())
	}
	w.advance(u, time.Hour)
	if u.phase != phaseFatal {
		t.Fatalf("a given-up unit started by itself: %v", u.phase)
	}
	u.control('u')
	if u.phase != phaseUp || u.fatal != "" {
		t.Fatalf("up after giving up: %v %q", u.phase, u.fatal)
	}
	w.exit(u, 2, 0)
	if u.phase != phaseBackoff && u.phase != phaseUp {
		t.Errorf("the first crash after an up counts afresh: %v", u.phase)
	}
}

// A restart someone asked for (t) restarts at once, whatever the policy,
// and is no crash: neither the count nor the backoff sees it.
func TestRequestedRestart(t *testing.T) {
	w := newWorld(t)
	cfg := testConfig()
	cfg.policy.Restart = "never"
	u := newTestUnit(w, cfg)
	u.startNow()
	u.control('t')
	if u.phase != phaseStopping || !slices.Contains(w.actions, "group SIGTERM") || !w.timers[tKill].armed {
		t.Fatalf("t: %v %v", u.phase, w.actions)
	}
	w.exit(u, 0, syscall.SIGTERM)
	if u.phase != phaseUp || u.restarts != 0 {
		t.Fatalf("after t: %v, %d restarts; want up again, none counted", u.phase, u.restarts)
	}
	if w.timers[tKill].armed {
		t.Error("the stop's KILL is still armed")
	}
	if !slices.Contains(w.changes, "stopping>down:requested") {
		t.Errorf("changes: %v", w.changes)
	}
}

// SVC_READY_TIMEOUT: a daemon not ready in time failed its start: it is
// stopped and restarted as after a crash, even if it exits 0.
func TestReadyTimeout(t *testing.T) {
	w := newWorld(t)
	cfg := testConfig()
	cfg.ready, cfg.readyTimeout = options.Ready{Kind: options.ReadyFD, FD: 3}, 5*time.Second
	cfg.policy.Restart = "on-failure"
	u := newTestUnit(w, cfg)
	u.startNow()
	if u.phase != phaseStarting || w.readyWait != 1 {
		t.Fatalf("start: %v, %d watches", u.phase, w.readyWait)
	}
	w.advance(u, 5*time.Second)
	if u.phase != phaseStopping || w.lastChange() != "starting>stopping:ready-timeout" || !strings.Contains(u.errMsg, "SVC_READY_TIMEOUT=5s") {
		t.Fatalf("not ready in time: %v %v %q", u.phase, w.lastChange(), u.errMsg)
	}
	w.exit(u, 0, 0)
	if u.phase != phaseUp && u.phase != phaseStarting {
		t.Fatalf("after a failed start, exit 0 with on-failure: %v; want restarted", u.phase)
	}
	// ready in time: up
	u.handle(inReady)
	if u.phase != phaseUp || w.timers[tReady].armed {
		t.Errorf("ready: %v, timer armed %v", u.phase, w.timers[tReady].armed)
	}
}

// A oneshot that exits 0 is done: not running, wanted down, an expected
// end, in a phase of its own (what needs it may start).
func TestOneshot(t *testing.T) {
	w := newWorld(t)
	cfg := testConfig()
	cfg.policy.Oneshot = true
	u := newTestUnit(w, cfg)
	u.startNow()
	w.exit(u, 0, 0)
	if u.phase != phaseDone || u.want != wantDown || !u.endExpected() || w.lastChange() != "up>done:exited" {
		t.Fatalf("oneshot exit 0: %v %v %v", u.phase, u.want, w.lastChange())
	}
	u.control('d') // its success taken back: what needs it waits for its next run
	if u.phase != phaseDown || u.depState().Status != deps.Down {
		t.Fatalf("d on a oneshot done: %v, seen as %v", u.phase, u.depState().Status)
	}
	u.control('u')
	w.exit(u, 3, 0)
	if u.phase == phaseDown || u.endExpected() {
		t.Errorf("oneshot exit 3: %v, expected %v; want a restart", u.phase, u.endExpected())
	}
}

// ./finish runs after the run, bounded by the stop timeout (at least 5 s,
// as s6 does): past it, it is killed; then the restart policy decides.
func TestFinish(t *testing.T) {
	w := newWorld(t)
	w.finish = true
	cfg := testConfig()
	cfg.stopTimeout = 2 * time.Second
	u := newTestUnit(w, cfg)
	u.startNow()
	w.exit(u, 1, 0)
	if u.phase != phaseFinishing || u.fin == nil || !w.timers[tFinish].armed {
		t.Fatalf("after the run: %v", u.phase)
	}
	w.advance(u, 5*time.Second)
	if !slices.Contains(w.actions, fmt.Sprintf("signal %d SIGKILL", u.fin.pid())) {
		t.Fatalf("finish overran 5 s: not killed: %v", w.actions)
	}
	u.handle(inFinishEnded)
	if u.phase != phaseUp || u.fin != nil {
		t.Errorf("finish ended: %v", u.phase)
	}
}

// A stop that TERM does not end gets KILL at the stop timeout, and the
// end says so (stop-timeout).
func TestKillAfterStopTimeout(t *testing.T) {
	w := newWorld(t)
	cfg := testConfig()
	cfg.stopSignal, cfg.stopTimeout = syscall.SIGINT, 3*time.Second
	u := newTestUnit(w, cfg)
	u.startNow()
	u.control('d')
	if !slices.Contains(w.actions, "group SIGINT") || !slices.Contains(w.actions, "group SIGCONT") {
		t.Fatalf("d: %v", w.actions)
	}
	w.advance(u, 3*time.Second-time.Millisecond)
	if slices.Contains(w.actions, "kill all") {
		t.Fatal("KILL before the stop timeout")
	}
	w.advance(u, time.Millisecond)
	if !slices.Contains(w.actions, "kill all") {
		t.Fatalf("no KILL at the stop timeout: %v", w.actions)
	}
	w.exit(u, 0, syscall.SIGKILL)
	if u.phase != phaseDown || w.lastChange() != "stopping>down:stop-timeout" || !u.endExpected() {
		t.Fatalf("after KILL: %v %v", u.phase, w.lastChange())
	}
}

// What a run leaves behind is stopped (after a stop) or killed (after a
// crash) before anything else happens; the unit waits until it is gone.
func TestDraining(t *testing.T) {
	w := newWorld(t)
	u := newTestUnit(w, testConfig())
	u.startNow()
	w.leftover = true
	w.exit(u, 1, 0)
	if u.phase != phaseDraining || !slices.Contains(w.actions, "kill all") || w.lastChange() != "up>draining:crashed" {
		t.Fatalf("a crash that leaves processes: %v %v", u.phase, w.actions)
	}
	u.handle(inDrained)
	if u.phase != phaseDraining {
		t.Fatalf("left while processes remain: %v", u.phase)
	}
	u.control('u') // wanted up already: nothing starts while draining
	if u.phase != phaseDraining {
		t.Fatalf("u while draining: %v", u.phase)
	}
	w.leftover = false
	u.handle(inDrained)
	if u.phase != phaseUp {
		t.Fatalf("drained: %v, want restarted", u.phase)
	}
	w.leftover = true
	w.actions = nil
	u.control('d')
	w.exit(u, 0, syscall.SIGTERM)
	if u.phase != phaseDraining || slices.Contains(w.actions, "kill all") || !slices.Contains(w.actions, "cgroup SIGTERM") {
		t.Fatalf("a stop that leaves processes: %v %v", u.phase, w.actions)
	}
	w.advance(u, 10*time.Second)
	if !slices.Contains(w.actions, "kill all") {
		t.Fatal("the leftovers of a stop get no KILL at the stop timeout")
	}
	w.leftover = false
	u.handle(inDrained)
	if u.phase != phaseDown {
		t.Errorf("stopped and drained: %v", u.phase)
	}
}

// A daemon left running by a killed sv-scan is taken over, in the phase
// it was in; its readiness is watched again unless it was ready.
func TestAdopt(t *testing.T) {
	w := newWorld(t)
	u := newTestUnit(w, testConfig())
	started := w.clock.Add(-time.Hour)
	u.adopt(&fakeChild{w: w, id: 42}, &svdir.State{Want: "up", Ready: true, Started: started, Restarts: 3})
	if u.phase != phaseUp || u.restarts != 3 || w.lastChange() != "down>up:adopted" || !u.since.Equal(started) {
		t.Fatalf("adopted ready: %v %d %v", u.phase, u.restarts, w.changes)
	}
	w.exit(u, 1, 0)
	if u.phase != phaseUp || u.restarts != 4 {
		t.Errorf("the adopted daemon crashed: %v", u.phase)
	}
	cfg := testConfig()
	cfg.ready = options.Ready{Kind: options.ReadyNotify}
	v := newTestUnit(w, cfg)
	v.adopt(&fakeChild{w: w, id: 43}, &svdir.State{Want: "down", Started: started})
	if v.phase != phaseStarting || v.want != wantDown || w.readyWait == 0 {
		t.Errorf("adopted, not ready: %v %v", v.phase, v.want)
	}
	v.handle(inReady)
	if v.phase != phaseUp {
		t.Errorf("adopted, then ready: %v", v.phase)
	}
}

// A run that cannot start is retried slowly, not in a tight loop; an up
// clears the slowness.
func TestCannotStart(t *testing.T) {
	w := newWorld(t)
	w.spawnErr = errors.New("permission denied")
	cfg := testConfig()
	cfg.policy.MaxDelay = time.Minute
	u := newTestUnit(w, cfg)
	u.startNow()
	if u.phase != phaseBackoff || u.nextStart.Sub(w.clock) != time.Minute || !strings.Contains(u.errMsg, "permission denied") {
		t.Fatalf("cannot start: %v, retried in %v, %q", u.phase, u.nextStart.Sub(w.clock), u.errMsg)
	}
	w.spawnErr = nil
	w.advance(u, time.Minute)
	if u.phase != phaseUp {
		t.Fatalf("retried: %v", u.phase)
	}
}

// x on a log unit ends its input: it reads to the end and exits by
// itself; past the stop timeout it is stopped.
func TestLogUnitExit(t *testing.T) {
	w := newWorld(t)
	w.inputEOF = true
	u := newTestUnit(w, testConfig())
	u.isLog = true
	u.startNow()
	if u.phase != phaseUp {
		t.Fatalf("a logger is ready at once: %v", u.phase)
	}
	u.exit()
	if u.phase != phaseStopping || slices.Contains(w.actions, "group SIGTERM") || !w.timers[tEOF].armed {
		t.Fatalf("x: %v %v", u.phase, w.actions)
	}
	w.advance(u, 10*time.Second)
	if !slices.Contains(w.actions, "group SIGTERM") {
		t.Fatalf("not stopped after reading to the end for 10 s: %v", w.actions)
	}
	w.exit(u, 0, 0)
	if u.phase != phaseDown || !u.gone() {
		t.Errorf("exited: %v", u.phase)
	}
}

// Every phase and input has a name, and the table has no entry for an
// input in a phase where it cannot come (a timer's input where it is
// never armed would be a bug).
func TestTransitionsTable(t *testing.T) {
	for p := phase(0); p < numPhases; p++ {
		if p.String() == "" {
			t.Errorf("phase %d has no name", p)
		}
	}
	if transitions[phaseDown][inRunExited] != nil || transitions[phaseFinishing][inRunExited] != nil {
		t.Error("a run's exit where no run is")
	}
}

// A start waits while what the unit depends on is not ready, and goes on
// when a dependency event says it may; a blocked one stays down on `d`.
func TestStartWaitsForDependencies(t *testing.T) {
	w := newWorld(t)
	u := newTestUnit(w, testConfig())
	w.gateSays = &deps.Verdict{Reason: "waiting for db"}
	u.startNow()
	if u.phase != phaseWaiting || u.run != nil || u.waiting != "waiting for db" || u.want != wantUp {
		t.Fatalf("waiting: %v run %v %q", u.phase, u.run, u.waiting)
	}
	w.gateSays = &deps.Verdict{Blocked: true, Reason: "needs db (fatal: exit 1)"}
	u.handle(inDeps)
	if u.phase != phaseBlocked || u.run != nil || u.waiting != "needs db (fatal: exit 1)" {
		t.Fatalf("blocked: %v %q", u.phase, u.waiting)
	}
	w.gateSays = nil
	u.handle(inDeps)
	if u.phase != phaseUp || u.run == nil || u.waiting != "" {
		t.Fatalf("free to start: %v run %v %q", u.phase, u.run, u.waiting)
	}

	w.gateSays = &deps.Verdict{Blocked: true, Reason: "needs db (down)"}
	u.control('d')
	w.exit(u, 0, syscall.SIGTERM)
	u.control('u')
	if u.phase != phaseBlocked {
		t.Fatalf("up while blocked: %v", u.phase)
	}
	u.control('d')
	if u.phase != phaseDown || u.want != wantDown {
		t.Errorf("down while blocked: %v want %v", u.phase, u.want)
	}
}

// A stop waits while services that depend on the unit still run; the
// signal and the stop timeout come once they are down.
func TestStopWaitsForDependents(t *testing.T) {
	w := newWorld(t)
	u := newTestUnit(w, testConfig())
	u.startNow()
	w.depsRun = true
	w.actions = nil
	u.control('d')
	if u.phase != phaseStopping || len(w.actions) != 0 || w.timers[tKill].armed {
		t.Fatalf("held stop: %v, did %v, kill timer %v", u.phase, w.actions, w.timers[tKill].armed)
	}
	u.handle(inDeps)
	if len(w.actions) != 0 {
		t.Fatalf("dependents still run, but: %v", w.actions)
	}
	w.depsRun = false
	u.handle(inDeps)
	if !slices.Contains(w.actions, "group SIGTERM") || !w.timers[tKill].armed {
		t.Fatalf("dependents down: did %v, kill timer %v", w.actions, w.timers[tKill].armed)
	}
	w.exit(u, 0, syscall.SIGTERM)
	if u.phase != phaseDown {
		t.Errorf("after the stop: %v", u.phase)
	}
}

// A daemon whose needed service goes stops first, and then waits for it,
// still wanted up.
func TestStopWhenANeedGoes(t *testing.T) {
	w := newWorld(t)
	u := newTestUnit(w, testConfig())
	u.startNow()
	u.handle(inDeps) // nothing changed for it
	if u.phase != phaseUp {
		t.Fatalf("an event with nothing gone: %v", u.phase)
	}
	w.needGoes = "needs db (stopping)"
	w.actions = nil
	u.handle(inDeps)
	if u.phase != phaseStopping || !slices.Contains(w.actions, "group SIGTERM") {
		t.Fatalf("need going: %v, did %v", u.phase, w.actions)
	}
	w.gateSays = &deps.Verdict{Blocked: true, Reason: "needs db (down)"}
	w.exit(u, 0, syscall.SIGTERM)
	if u.phase != phaseBlocked || u.want != wantUp || u.restarts != 0 {
		t.Errorf("after it stopped: %v want %v restarts %d", u.phase, u.want, u.restarts)
	}
}

// What the services that depend on a unit see of it, phase by phase.
func TestDepState(t *testing.T) {
	cases := []struct {
		phase    phase
		want     want
		oneshot  bool
		needStop bool
		status   deps.Status
		leaving  bool
	}{
		{phaseUp, wantUp, false, false, deps.Ready, false},
		{phaseUp, wantUp, true, false, deps.Starting, false}, // a oneshot is done when it exits 0
		{phaseStarting, wantUp, false, false, deps.Starting, false},
		{phaseDone, wantDown, true, false, deps.Ready, false},
		{phaseWaiting, wantUp, false, false, deps.Pending, false},
		{phaseBlocked, wantUp, false, false, deps.Failed, false},
		{phaseBackoff, wantUp, false, false, deps.Backoff, false},
		{phaseFatal, wantDown, false, false, deps.Failed, true},
		{phaseDown, wantDown, false, false, deps.Down, true},
		{phaseStopping, wantUp, false, false, deps.Pending, false}, // a restart
		{phaseStopping, wantUp, false, true, deps.Pending, true},   // its need goes
		{phaseStopping, wantExit, false, false, deps.Down, true},
	}
	for _, c := range cases {
		w := newWorld(t)
		cfg := testConfig()
		cfg.policy.Oneshot = c.oneshot
		u := newTestUnit(w, cfg)
		u.phase, u.want, u.needStop = c.phase, c.want, c.needStop
		st := u.depState()
		if st.Status != c.status || st.Leaving != c.leaving {
			t.Errorf("%v want %v oneshot %v needStop %v: status %v leaving %v, want %v %v", c.phase, c.want, c.oneshot, c.needStop, st.Status, st.Leaving, c.status, c.leaving)
		}
	}
}

// A service without a check arms no health timer; with one, checks come
// every interval once ready, SVC_HEALTH_RETRIES failures in a row make it
// unhealthy (an event that keeps the phase), and it is stopped and
// restarted as after a failure, its exit 0 notwithstanding.
func TestHealth(t *testing.T) {
	w := newWorld(t)
	u := newTestUnit(w, testConfig())
	u.startNow()
	if u.phase != phaseUp || w.timers[tHealth].armed {
		t.Fatalf("no check: %v, health timer armed %v", u.phase, w.timers[tHealth].armed)
	}

	w = newWorld(t)
	cfg := testConfig()
	cfg.policy.Restart = "on-failure"
	cfg.health = &options.Health{Check: options.HealthCheck{Kind: "tcp", Addr: "127.0.0.1:1"}, Interval: 10 * time.Second, Retries: 2}
	u = newTestUnit(w, cfg)
	u.startNow()
	if !w.timers[tHealth].armed || w.timers[tHealth].at != w.clock.Add(10*time.Second) {
		t.Fatalf("ready: health timer %+v", w.timers[tHealth])
	}
	w.advance(u, 10*time.Second)
	if w.checks != 1 {
		t.Fatalf("%d checks", w.checks)
	}
	u.healthResult("refused")
	if u.health != "" || u.phase != phaseUp || !w.timers[tHealth].armed {
		t.Fatalf("one failure: %q %v", u.health, u.phase)
	}
	u.healthResult("")
	u.healthResult("refused") // the failures in a row begin again
	if u.health != healthy {
		t.Fatalf("a pass between: %q", u.health)
	}
	u.healthResult("refused")
	if u.health != unhealthy || u.phase != phaseStopping || w.changes[len(w.changes)-2] != "up>up:unhealthy" || w.lastChange() != "up>stopping:unhealthy" {
		t.Fatalf("unhealthy: %q %v %v", u.health, u.phase, w.changes)
	}
	w.exit(u, 0, 0)
	if u.phase != phaseStarting && u.phase != phaseUp || u.restarts != 1 || w.timers[tHealth].armed && u.health != "" {
		t.Fatalf("after an unhealthy run, exit 0 with on-failure: %v, %d restarts; want restarted", u.phase, u.restarts)
	}
	if !strings.Contains(strings.Join(w.changes, " "), "stopping>down:unhealthy") {
		t.Errorf("its end says unhealthy: %v", w.changes)
	}
}
