package supervise

import (
	"fmt"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/policy"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// phase is where a unit is in its life. runit knows three states (down,
// run, finish); s6-supervise a few more; these are ours, finer still,
// each with runit's state it shows in supervise/status (runitState) and
// the name state.json and the events give it (String).
type phase int

const (
	phaseDown      phase = iota // not running, not scheduled
	phaseStarting               // ./run runs, not ready yet
	phaseUp                     // ./run runs and is ready
	phaseStopping               // asked to stop (or, a log program, to read to the end): not gone yet
	phaseDraining               // ./run exited; what it forked is still there, being stopped or killed
	phaseFinishing              // ./finish runs
	phaseBackoff                // down, to be started again at nextStart
	phaseFatal                  // given up; an explicit up starts it again
	phaseWaiting                // to start once what it depends on is ready
	phaseBlocked                // to start, but a service it needs cannot be ready
	phaseDone                   // a oneshot that exited 0: what needs it may start
	numPhases
)

var phaseNames = [numPhases]string{
	phaseDown: svdir.PhaseDown, phaseStarting: svdir.PhaseStarting, phaseUp: svdir.PhaseUp,
	phaseStopping: svdir.PhaseStopping, phaseDraining: svdir.PhaseDraining,
	phaseFinishing: svdir.PhaseFinish, phaseBackoff: svdir.PhaseBackoff, phaseFatal: svdir.PhaseFatal,
	phaseWaiting: svdir.PhaseWaiting, phaseBlocked: svdir.PhaseBlocked, phaseDone: svdir.PhaseDone,
}

// String is the phase as state.json and the events name it.
func (p phase) String() string { return phaseNames[p] }

// runitState is the state runit's status file shows for the phase.
func (p phase) runitState() int {
	switch p {
	case phaseStarting, phaseUp, phaseStopping, phaseDraining:
		return svdir.StateRun
	case phaseFinishing:
		return svdir.StateFinish
	}
	return svdir.StateDown
}

// running reports whether ./run (or what it left) is there: runit's
// signalling letters act only then.
func (p phase) running() bool { return p.runitState() == svdir.StateRun }

// want is what the unit has been asked for: runit's `u`, `d` (also `o`,
// which starts it once, wanting it down after), and `x`.
type want int

const (
	wantUp want = iota
	wantDown
	wantExit
)

// ending is why the last run ended, which decides what comes after it.
type ending int

const (
	endedCrash     ending = iota // it exited by itself: the restart policy decides
	endedRequested               // someone asked (t, k, d, a restart): not a crash
	endedReadyLate               // not ready within SVC_READY_TIMEOUT: a failed start
	endedPermanent               // it cannot start (exit 100 at once, or no ./run): retried slowly
	endedUnhealthy               // its health check failed (SVC_HEALTH_RETRIES): a failure, as a crash
)

// input is what happens to a unit: a letter of runit's control protocol,
// the end of one of its processes, a timer, readiness.
type input int

const (
	inUp          input = iota // u
	inDown                     // d
	inOnce                     // o
	inExit                     // x, leaving the scan dir, sv-scan stopping
	inTerm                     // t
	inKill                     // k
	inRunExited                // ./run ended
	inDrained                  // what ./run left may be gone
	inFinishEnded              // ./finish ended
	inReady                    // the daemon is ready
	inRestartDue               // tRestart fired
	inKillDue                  // tKill fired: the stop timed out
	inFinishDue                // tFinish fired: ./finish timed out
	inReadyDue                 // tReady fired: SVC_READY_TIMEOUT passed
	inEOFDue                   // tEOF fired: a log program did not end with its input
	inDeps                     // a service it depends on, or that depends on it, changed
	inHealthDue                // tHealth fired: time for a health check
	numInputs
)

// transitions is the unit's state machine: what each input does in each
// phase. An empty cell means the input changes nothing there (runit's
// letters that only signal are not here: see signalLetter).
var transitions = [numPhases][numInputs]func(*unit){
	phaseDown: {
		inUp: (*unit).startNow, inOnce: (*unit).startNow, inExit: (*unit).noMore,
	},
	phaseDone: { // `d` takes a oneshot's success back: what needs it stops, and waits for its next run
		inUp: (*unit).startNow, inDown: (*unit).settleDown, inOnce: (*unit).startNow, inExit: (*unit).noMore,
	},
	phaseWaiting: {
		inUp: (*unit).startNow, inDown: (*unit).settleDown, inOnce: (*unit).startNow,
		inExit: (*unit).settleDown, inDeps: (*unit).startNow,
	},
	phaseBlocked: {
		inUp: (*unit).startNow, inDown: (*unit).settleDown, inOnce: (*unit).startNow,
		inExit: (*unit).settleDown, inDeps: (*unit).startNow,
	},
	phaseBackoff: {
		inUp: (*unit).startNow, inDown: (*unit).settleDown, inOnce: (*unit).startNow,
		inExit: (*unit).settleDown, inRestartDue: (*unit).startNow,
	},
	phaseFatal: {
		inUp: (*unit).startNow, inDown: (*unit).settleDown, inOnce: (*unit).startNow,
		inExit: (*unit).settleDown,
	},
	phaseStarting: {
		inDown: (*unit).stop, inExit: (*unit).leave, inTerm: (*unit).stop, inKill: (*unit).killRequested,
		inRunExited: (*unit).runEnded, inReady: (*unit).becameReady, inReadyDue: (*unit).readyLate,
		inDeps: (*unit).needGone,
	},
	phaseUp: {
		inDown: (*unit).stop, inExit: (*unit).leave, inTerm: (*unit).stop, inKill: (*unit).killRequested,
		inRunExited: (*unit).runEnded, inDeps: (*unit).needGone, inHealthDue: (*unit).checkHealth,
	},
	phaseStopping: {
		inDown: (*unit).stop, inTerm: (*unit).stop, inKill: (*unit).killRequested,
		inRunExited: (*unit).runEnded, inKillDue: (*unit).stopTimedOut, inEOFDue: (*unit).stop,
		inDeps: (*unit).stopWhenFree,
	},
	phaseDraining: {
		inKill: (*unit).killRequested, inDrained: (*unit).drainedNow, inKillDue: (*unit).stopTimedOut,
	},
	phaseFinishing: {
		inFinishEnded: (*unit).finished, inFinishDue: (*unit).finishTimedOut,
	},
}

// timerKind names a unit's timers: one of each at most.
type timerKind int

const (
	tRestart timerKind = iota // the backoff ends
	tKill                     // the stop timeout: KILL
	tFinish                   // ./finish's time is up
	tReady                    // SVC_READY_TIMEOUT
	tEOF                      // a log program's time to read to the end
	tHealth                   // the next health check (SVC_HEALTH_INTERVAL)
	numTimers
)

// timerInputs is the input each timer delivers when it fires.
var timerInputs = [numTimers]input{tRestart: inRestartDue, tKill: inKillDue, tFinish: inFinishDue, tReady: inReadyDue, tEOF: inEOFDue,
	tHealth: inHealthDue}

// child is a process of the unit: ./run (or an adopted daemon), ./finish.
type child interface {
	pid() int
	startTime() uint64 // /proc's, to know the pid again (0: unknown)
	signal(syscall.Signal)
	release()
}

// world is everything a unit does outside itself: processes, signals,
// timers, readiness, logging, its events. service is the real one; the
// tests give a fake with a fake clock, so that the state machine runs in
// process with no real process and no sleep.
type world interface {
	now() time.Time
	arm(u *unit, t timerKind, d time.Duration) // the timer delivers its input, unless disarmed or the run changed
	disarm(u *unit, t timerKind)
	spawnRun(u *unit) (child, error)    // starts ./run; its exit comes as inRunExited
	spawnFinish(u *unit) (child, error) // starts ./finish; its end comes as inFinishEnded
	needFinish(u *unit) bool
	watchReady(u *unit, c child, fresh bool) // readiness comes as inReady; fresh: started now, not adopted
	stopWatchingReady(u *unit)
	signalGroup(u *unit, sig syscall.Signal) // the process group of the last run
	signalCgroup(u *unit, sig syscall.Signal)
	killAll(u *unit) // the cgroup, the group, the daemon
	leftovers(u *unit) bool
	watchEmpty(u *unit) // inDrained when what the run left may be gone
	custom(u *unit, letter byte) bool
	endInput(u *unit) bool // a log unit: its input ends; false when there is none to end
	beforeStart(u *unit)   // the service reads its OPTIONS again
	logf(format string, args ...any)
	changed(u *unit, from phase, reason string)
	// Dependencies (package deps): whether the unit may start now; why it
	// must stop because a service it needs goes; whether services that
	// depend on it still run and are to stop before it.
	gate(u *unit) deps.Verdict
	needGone(u *unit) (string, bool)
	dependentsRun(u *unit) bool
	// checkHealth runs one health check of the run; its result comes to
	// healthResult.
	checkHealth(u *unit)
}

// unit is one supervised process with its supervise directory: the service
// itself, or its log/ service. Only the service's goroutine touches it.
type unit struct {
	w     world
	svc   *service // nil in the tests
	name  string   // for messages: NAME or NAME/log
	isLog bool
	dir   string // where ./run runs
	sup   *svdir.Supervise
	// builtin marks the log unit of an in-process logger: no process, its
	// status says sv-scan runs it.
	builtin bool
	cfg     *config // what the OPTIONS say (for a log unit: its service's)

	phase   phase
	want    want
	since   time.Time // when the runit state last changed
	paused  bool      // runit's status: stopped with `p`
	gotTerm bool      // runit's status: the stop signal was sent

	run      child // ./run while it runs, or an adopted daemon
	fin      child // ./finish while it runs
	pgid     int   // the group of the last run, for what it leaves
	started  time.Time
	ready    bool
	readyAt  time.Time
	stopping bool // a stop was asked of this run (KILL at its deadline)
	// held: the stop waits until what depends on the unit is down;
	// heldWhy is the reason the stop will then give.
	held    bool
	heldWhy string
	// needStop: it stops because a service it needs goes; it leaves as
	// that one does, so what needs it stops first.
	needStop bool
	waiting  string // why it does not start yet (phaseWaiting, phaseBlocked)
	// soundAt: when a run last proved sound (it ran policy.StableAfter,
	// or a oneshot exited 0). SVC_APP_ON_FAILURE restarts a member again
	// only if it was sound since the last restart it made.
	soundAt time.Time
	killed  bool // the stop of this run needed KILL
	// restart: the next start starts it again after a run ended (a crash,
	// a restart asked for): its event is a restart for the hooks.
	restart bool
	ending  ending // why the last run ended (while it ends, and after)

	// Health (SVC_HEALTH, SVC_MEMORY_MAX) of the run: "" until checked,
	// then healthy or unhealthy; the failures in a row, the last one's output.
	health      string
	healthFails int
	healthOut   string
	// memLimit: the kernel holds the run to SVC_MEMORY_MAX (its cgroup's
	// memory.max), so sv-scan does not measure it; oomBase is the cgroup's
	// OOM kills when it started, and oom says the OOM killer ended it.
	memLimit bool
	oomBase  uint64
	oom      bool

	restarts  int
	lastExit  *svdir.Exit
	lastWstat int
	fatal     string // why it was given up
	errMsg    string // the last start or readiness failure
	nextStart time.Time
	tracker   policy.Tracker
	gen       int // bumped at each start: stale timers and watchers see it

	io *unitIO // the real world's handles for the unit (timers, readiness)

	lastStatus svdir.Status
	lastState  svdir.State
}

// handle applies one input, as the transition table says.
func (u *unit) handle(in input) {
	if u.builtin {
		return // the in-process logger follows its service
	}
	if do := transitions[u.phase][in]; do != nil {
		do(u)
	}
}

// control acts on one letter of runsv(8)'s control protocol.
func (u *unit) control(c byte) {
	if u.builtin {
		return
	}
	switch c {
	case 'u':
		u.want = wantUp
		if u.fatal != "" { // an explicit up after giving up starts afresh
			u.fatal = ""
			u.tracker.Reset()
		}
		if u.ending == endedPermanent {
			u.ending = endedCrash
		}
		u.handle(inUp)
	case 'd':
		u.want, u.fatal = wantDown, ""
		u.handle(inDown)
	case 'o':
		u.want = wantDown
		u.handle(inOnce)
	case 'x':
		if !u.isLog { // as runsv: the log service exits with its service
			u.exit()
		}
	case 't':
		u.handle(inTerm)
	case 'k':
		if u.phase.running() && !u.w.custom(u, c) {
			u.handle(inKill)
		}
	case 'p':
		u.signalLetter(c, syscall.SIGSTOP)
		u.paused = true
	case 'c':
		u.signalLetter(c, syscall.SIGCONT)
		u.paused = false
	case 'h':
		u.signalLetter(c, u.reloadSignal())
	case 'a', 'i', 'q', '1', '2':
		u.signalLetter(c, letterSignals[c])
	}
}

// controlLetters are the letters control acts on: readControl drops any
// other byte before it costs an event and a status check, so that a
// flood of garbage into the FIFO passes in a moment.
const controlLetters = "udoxtkpchaiq12"

var letterSignals = map[byte]syscall.Signal{'a': syscall.SIGALRM, 'i': syscall.SIGINT, 'q': syscall.SIGQUIT, '1': syscall.SIGUSR1, '2': syscall.SIGUSR2}

// signalLetter sends sig to the daemon's group for a letter, unless the
// user's control/<letter> script does the job.
func (u *unit) signalLetter(c byte, sig syscall.Signal) {
	if u.phase.running() && !u.w.custom(u, c) && u.run != nil {
		u.w.signalGroup(u, sig)
	}
}

func (u *unit) reloadSignal() syscall.Signal {
	if !u.isLog && u.cfg.reloadSignal != 0 {
		return u.cfg.reloadSignal
	}
	return syscall.SIGHUP
}

// exit stops the unit for good: for 'x', a removal from the scan dir, or
// sv-scan stopping.
func (u *unit) exit() {
	u.want = wantExit
	u.handle(inExit)
}

// gone reports whether the unit has nothing running and nothing to do.
func (u *unit) gone() bool {
	return u.builtin || (u.run == nil && u.fin == nil && u.phase != phaseDraining)
}

// setPhase moves the unit to p, for reason, and says so (state.json,
// the events). Runit's state changes date `since`.
func (u *unit) setPhase(p phase, reason string) {
	from := u.phase
	if p.runitState() != from.runitState() {
		u.since = u.w.now()
	}
	u.phase = p
	if p != phaseBackoff {
		u.nextStart = time.Time{}
	}
	if p != from {
		u.w.changed(u, from, reason)
	}
}

// startNow runs ./run.
func (u *unit) startNow() {
	u.w.disarm(u, tRestart)
	u.gen++
	u.ready, u.readyAt = false, time.Time{} // errMsg stays until it is ready
	if !u.isLog {
		u.w.beforeStart(u)
		if v := u.w.gate(u); !v.Start {
			u.waitFor(v)
			return
		}
		u.waiting = ""
	}
	c, err := u.w.spawnRun(u)
	if err != nil {
		u.errMsg = fmt.Sprintf("cannot start %s/run: %v", u.dir, err)
		u.w.logf("%s: %s", u.name, u.errMsg)
		u.ending = endedPermanent
		u.down()
		return
	}
	u.run, u.pgid = c, c.pid()
	u.started = u.w.now()
	u.gotTerm, u.paused, u.stopping, u.killed, u.ending = false, false, false, false, endedCrash
	u.setPhase(phaseStarting, "started")
	u.restart = false
	if u.isLog || !u.cfg.readyWanted() {
		u.becameReady() // a logger has no readiness of its own
		return
	}
	u.w.watchReady(u, c, true)
	if u.cfg.readyTimeout > 0 {
		u.w.arm(u, tReady, u.cfg.readyTimeout)
	}
}

// waitFor: the unit does not start yet, for what the verdict says; an
// event of a service it depends on starts it, or tells it more.
func (u *unit) waitFor(v deps.Verdict) {
	p, reason := phaseWaiting, "waiting"
	if v.Blocked {
		p, reason = phaseBlocked, "blocked"
	}
	if v.Reason != u.waiting || p != u.phase {
		u.w.logf("%s: %s: %s", u.name, reason, v.Reason)
	}
	u.waiting = v.Reason
	u.setPhase(p, reason)
}

// needGone: a service the running unit needs is going (asked down,
// stopping with sv-scan, given up): the unit stops first, and waits for
// it to come back (it stays wanted up).
func (u *unit) needGone() {
	if why, stop := u.w.needGone(u); stop && !u.stopping {
		u.w.logf("%s: stopping: %s", u.name, why)
		u.needStop = true
		u.stopFor(endedRequested, "dependency")
	}
}

// leaving: the unit goes and does not come back by itself (asked down,
// out, given up, or its need goes): what needs it must stop first. A
// oneshot that is done has nothing left to go.
func (u *unit) leaving() bool {
	return (u.want != wantUp && u.phase != phaseDone) || u.needStop
}

// stopWhenFree: a stop held until what depends on the unit was down goes
// on once it is.
func (u *unit) stopWhenFree() {
	if u.held && !u.w.dependentsRun(u) {
		u.held, u.stopping = false, false
		u.stopFor(u.ending, u.heldWhy)
	}
}

// adopt takes over a daemon left running by a previous sv-scan.
func (u *unit) adopt(c child, st *svdir.State) {
	u.run, u.pgid = c, c.pid()
	u.started = st.Started
	u.want = wantDown
	if st.Want == "up" {
		u.want = wantUp
	}
	u.restarts, u.lastExit = st.Restarts, st.LastExit
	u.gen++
	if st.Ready {
		u.ready, u.readyAt = true, st.ReadyAt
		u.setPhase(phaseUp, "adopted")
	} else {
		u.setPhase(phaseStarting, "adopted")
		if u.isLog || !u.cfg.readyWanted() {
			u.becameReady()
		} else {
			u.w.watchReady(u, c, false)
		}
	}
	u.since = st.Started
	if st.Phase == svdir.PhaseStopping && u.want != wantUp {
		// Asked down, and not gone when the previous sv-scan went: the
		// stop goes on, as a second `d` does with runsv (the stop signal
		// again, and the stop timeout from now).
		u.stopFor(endedRequested, "requested")
	}
}

// becameReady: the daemon said or showed it is ready.
func (u *unit) becameReady() {
	if u.run == nil {
		return
	}
	u.ready, u.readyAt = true, u.w.now()
	u.errMsg = ""
	u.w.disarm(u, tReady)
	u.setPhase(phaseUp, "ready")
	if h := u.cfg.health; h != nil && !u.isLog && (h.Check.Kind != "" || h.MemoryMax > 0 && !u.memLimit) {
		u.w.arm(u, tHealth, h.Interval)
	}
}

// Health states of a run.
const (
	healthy   = "healthy"
	unhealthy = "unhealthy"
)

// checkHealth: a health check is due.
func (u *unit) checkHealth() { u.w.checkHealth(u) }

// healthResult takes a check's outcome (fail: what failed, "" for none):
// SVC_HEALTH_RETRIES failures in a row make the run unhealthy, which is
// an event (the phase stays: from and to are the same), and, with
// SVC_HEALTH_RESTART, a failed run: it is stopped and restarted as after
// a crash. The next check is armed from the end of this one.
func (u *unit) healthResult(fail string) {
	h := u.cfg.health
	if h == nil { // the OPTIONS read since asked for none
		return
	}
	if fail == "" {
		u.healthFails = 0
		was := u.health
		u.health, u.healthOut = healthy, ""
		if was == unhealthy {
			u.w.logf("%s: healthy again", u.name)
			u.w.changed(u, u.phase, "healthy")
		}
	} else {
		u.healthFails++
		u.healthOut = fail
		if u.healthFails >= max(h.Retries, 1) && u.health != unhealthy {
			u.health = unhealthy
			u.w.logf("%s: unhealthy after %d checks that failed: %s", u.name, u.healthFails, fail)
			u.w.changed(u, u.phase, "unhealthy")
			if !h.KeepRunning {
				u.errMsg = "unhealthy: " + fail
				u.stopFor(endedUnhealthy, "unhealthy")
				return
			}
		}
	}
	u.w.arm(u, tHealth, h.Interval)
}

// readyLate: not ready within SVC_READY_TIMEOUT. The start failed: the
// daemon is stopped, and restarted as after a crash (backoff,
// SVC_RESTART_LIMIT).
func (u *unit) readyLate() {
	if u.ready || u.run == nil {
		return
	}
	u.errMsg = fmt.Sprintf("not ready after SVC_READY_TIMEOUT=%s (%s)", u.cfg.readyTimeout, u.cfg.ready)
	u.w.logf("%s: %s: stopping it", u.name, u.errMsg)
	u.w.stopWatchingReady(u)
	u.stopFor(endedReadyLate, "ready-timeout")
}

// stop asks the daemon to stop, as someone asked (t, d, x).
func (u *unit) stop() { u.stopFor(endedRequested, "requested") }

// stopFor asks the daemon to stop: a custom control/t, or SVC_STOP_SIGNAL
// to its process group, then CONT; KILL to all that is left at the
// deadline. why is how the run will have ended.
func (u *unit) stopFor(why ending, reason string) {
	u.w.disarm(u, tEOF)
	if u.run == nil || u.stopping {
		return
	}
	u.stopping, u.ending = true, why
	if !u.isLog && u.leaving() && u.w.dependentsRun(u) {
		// What depends on it stops first, each confirmed down; the
		// stop timeout starts when this one gets its signal.
		u.held, u.heldWhy = true, reason
		u.setPhase(phaseStopping, "dependents")
		return
	}
	if !u.w.custom(u, 't') {
		sig, group := syscall.SIGTERM, true
		if !u.isLog {
			sig, group = u.cfg.stopSignal, u.cfg.stopGroup
		}
		if group {
			u.w.signalGroup(u, sig)
		} else {
			u.run.signal(sig)
		}
		u.gotTerm = true
	}
	u.w.signalGroup(u, syscall.SIGCONT)
	u.setPhase(phaseStopping, reason)
	u.w.arm(u, tKill, u.stopTimeout())
}

// leave: the unit is to exit for good while its daemon runs. A log
// program is not signalled, as runsv does: its input ends, so it writes
// all that is left in the FIFO and exits by itself (a signal would leave
// those lines in a FIFO about to be let go).
func (u *unit) leave() {
	if u.isLog && u.w.endInput(u) {
		u.ending = endedRequested // it ends as asked: no crash, whatever its exit
		u.setPhase(phaseStopping, "exit")
		u.w.arm(u, tEOF, u.stopTimeout())
		return
	}
	u.stopFor(endedRequested, "exit")
}

// killRequested: `k`. The run ends as asked: not a crash.
func (u *unit) killRequested() {
	u.ending = endedRequested
	u.w.killAll(u)
}

// stopTimedOut: the stop signal did not do it within the stop timeout.
func (u *unit) stopTimedOut() {
	u.w.logf("%s: still running after its stop timeout (%s): KILL", u.name, u.stopTimeout())
	u.killed = true
	u.w.killAll(u)
}

func (u *unit) stopTimeout() time.Duration {
	if u.isLog || u.cfg.stopTimeout <= 0 {
		return 10 * time.Second
	}
	return u.cfg.stopTimeout
}

// runEnded: ./run (or the adopted daemon) exited, with the status
// recorded by recordExit. What it forked is stopped (or, after a crash,
// killed) before anything else happens.
func (u *unit) runEnded() {
	u.run = nil
	u.w.disarm(u, tHealth)
	u.health, u.healthFails, u.healthOut = "", 0, ""
	u.held, u.needStop = false, false // (held: it went by itself meanwhile)
	u.gotTerm, u.ready, u.readyAt = false, false, time.Time{}
	u.w.stopWatchingReady(u)
	u.w.disarm(u, tReady)
	if u.w.leftovers(u) {
		if u.stopping {
			sig := syscall.SIGTERM
			if !u.isLog {
				sig = u.cfg.stopSignal
			}
			u.w.signalCgroup(u, sig)
			u.w.signalCgroup(u, syscall.SIGCONT)
			u.w.signalGroup(u, sig)
			u.w.signalGroup(u, syscall.SIGCONT)
		} else {
			u.w.killAll(u)
		}
		u.setPhase(phaseDraining, u.exitReason())
		u.w.watchEmpty(u)
		return
	}
	u.afterRun()
}

// drainedNow: what the run left may be gone; when it is, the run is over.
func (u *unit) drainedNow() {
	if !u.w.leftovers(u) {
		u.afterRun()
	}
}

// recordExit notes how ./run ended, before the input says it did.
func (u *unit) recordExit(e *svdir.Exit, wstat int) {
	if !u.started.IsZero() {
		e.Uptime = e.At.Sub(u.started).Seconds()
	}
	u.lastExit, u.lastWstat = e, wstat
	// sv-exec exits 100 when retrying cannot help: no such program or user,
	// invalid OPTIONS. Retry slowly rather than in a tight loop (a run
	// someone stopped is restarted as asked, whatever its exit).
	if u.ending == endedCrash && !e.Unknown && e.Code == 100 && e.Uptime < 1 {
		u.ending = endedPermanent
		u.errMsg = "the run script failed permanently (exit 100); see the log for why"
		if u.cfg.err != "" {
			u.errMsg = "OPTIONS: " + u.cfg.err // sv-scan read the OPTIONS too, and knows why
		}
	}
}

// afterRun: ./finish runs when there is one to run, else the unit is down.
func (u *unit) afterRun() {
	if u.w.needFinish(u) {
		c, err := u.w.spawnFinish(u)
		if err == nil {
			u.fin = c
			u.setPhase(phaseFinishing, u.exitReason())
			// s6 bounds finish to 5 s; a hanging one must not hold the service.
			u.w.arm(u, tFinish, max(u.stopTimeout(), 5*time.Second))
			return
		}
		u.w.logf("%s: cannot start finish: %v", u.name, err)
	}
	u.down()
}

// finished: ./finish ended.
func (u *unit) finished() {
	u.fin = nil
	u.w.disarm(u, tFinish)
	u.down()
}

// finishTimedOut: ./finish overran its time; it is killed.
func (u *unit) finishTimedOut() {
	if u.fin != nil {
		u.fin.signal(syscall.SIGKILL)
	}
}

// settleDown: down it stays (`d`, `x` while it waits or has given up).
func (u *unit) settleDown() {
	u.w.disarm(u, tRestart)
	u.restart = false
	u.setPhase(phaseDown, "down")
}

// noMore: `x` while down: nothing to do, nothing will start it.
func (u *unit) noMore() { u.w.disarm(u, tRestart) }

// down: the run is over; restart it, later or now, unless it must not.
func (u *unit) down() {
	u.stopping = false
	u.w.disarm(u, tKill)
	reason := u.exitReason()
	if u.lastExit != nil { // a copy: the last status written holds the old one
		e := *u.lastExit
		e.Expected = u.endExpected()
		u.lastExit = &e
		if e.Uptime >= policy.StableAfter.Seconds() {
			u.soundAt = u.w.now()
		}
	}
	if u.want != wantUp {
		u.setPhase(phaseDown, reason)
		return
	}
	if u.ending == endedRequested {
		// Asked for (sv term, sv kill, sv-ctl restart): restart at once,
		// whatever SVC_RESTART says, and it is no crash: neither the
		// backoff nor the restart limit counts it.
		u.setPhase(phaseDown, reason) // its event still says how the run ended
		u.ending = endedCrash
		u.restart = true
		u.startNow()
		return
	}
	pol := u.policy()
	code := -1
	if u.lastExit != nil {
		code = u.lastExit.Code
	}
	// A daemon that never became ready, or that was unhealthy, failed,
	// whatever its exit code.
	if pol.StayDown(code) != "" && u.ending != endedReadyLate && u.ending != endedUnhealthy && u.lastExit != nil && !u.lastExit.Unknown {
		u.want = wantDown
		if pol.Oneshot && code == 0 {
			u.soundAt = u.w.now()
			u.setPhase(phaseDone, reason)
			return
		}
		u.setPhase(phaseDown, reason)
		return
	}
	uptime := time.Duration(0)
	if u.lastExit != nil {
		uptime = time.Duration(u.lastExit.Uptime * float64(time.Second))
	}
	delay, fatal := u.tracker.Next(pol, uptime, u.w.now())
	if fatal != "" {
		u.w.logf("%s: giving up: %s", u.name, fatal)
		u.fatal, u.want = fatal, wantDown
		u.setPhase(phaseFatal, "gave-up")
		return
	}
	if u.ending == endedPermanent {
		delay = u.tracker.Penalize(u.permanentPolicy(pol))
		u.w.logf("%s: %s; retrying in %s", u.name, u.errMsg, delay)
	}
	u.restarts++ // only restarts of the supervisor's own count
	u.restart = true
	if delay <= 0 {
		u.setPhase(phaseDown, reason)
		u.startNow()
		return
	}
	u.nextStart = u.w.now().Add(delay)
	u.setPhase(phaseBackoff, reason)
	u.w.arm(u, tRestart, delay)
}

// policy is the restart policy of the unit: its OPTIONS', or a logger's.
func (u *unit) policy() policy.Policy {
	if u.isLog {
		return policy.Logger
	}
	return u.cfg.policy
}

// permanentPolicy is how long a run that cannot start waits: a log
// program that fails on the OPTIONS its service cannot load either waits
// as long as the service (no daemon writes meanwhile) rather than the
// logger's second, which filled sv-scan's log.
func (u *unit) permanentPolicy(pol policy.Policy) policy.Policy {
	if u.isLog && u.cfg.err != "" {
		return u.cfg.policy
	}
	return pol
}

// exitReason names how the last run ended, for the events: as asked
// (requested, stop-timeout when the stop needed KILL), a failed start
// (ready-timeout, cannot-start), or by itself (exited with 0, crashed).
func (u *unit) exitReason() string {
	switch {
	case u.killed:
		return "stop-timeout"
	case u.ending == endedRequested:
		return "requested"
	case u.ending == endedReadyLate:
		return "ready-timeout"
	case u.ending == endedUnhealthy:
		return "unhealthy"
	case u.oom:
		return "oom"
	case u.ending == endedPermanent:
		return "cannot-start"
	case u.lastExit != nil && !u.lastExit.Unknown && u.lastExit.Code == 0:
		return "exited"
	}
	return "crashed"
}

// endExpected: the run that ended was asked to (a stop, a kill, a
// restart), or ended as the service does (exit 0 where the policy keeps
// it down: a oneshot).
func (u *unit) endExpected() bool {
	if u.ending == endedRequested || u.killed {
		return true
	}
	return u.lastExit != nil && !u.lastExit.Unknown && u.lastExit.Code == 0 && u.policy().StayDown(0) != ""
}
