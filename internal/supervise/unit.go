package supervise

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/cgroup"
	"github.com/supervision-suite/supervision/internal/policy"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// unit is one supervised process with its supervise directory: the service
// itself, or its log/ service. Only the service's goroutine touches it.
type unit struct {
	svc   *service
	name  string // for messages: NAME or NAME/log
	isLog bool
	dir   string // where ./run runs
	sup   *svdir.Supervise
	// builtin marks the log unit of an in-process logger: no process, its
	// status says sv-scan runs it.
	builtin bool

	// runit's view, written to supervise/status
	state    int
	wantUp   bool
	wantExit bool
	paused   bool
	gotTerm  bool
	since    time.Time

	// ours, written to supervise/state.json
	phase       string
	run         *proc.Process // ./run while it runs, or an adopted daemon
	fin         *proc.Process // ./finish while it runs
	started     time.Time
	ready       bool
	readyAt     time.Time
	restarts    int
	lastExit    *svdir.Exit
	lastWstat   int
	fatal       string
	errMsg      string
	nextStart   time.Time
	tracker     policy.Tracker
	stopAsked   bool // a stop is under way: KILL at its deadline
	requested   bool // the last run ended because someone asked (t, k, d): not a crash
	readyFailed bool // the last run never became ready within SVC_READY_TIMEOUT
	draining    bool // ./run exited; waiting for its group to empty
	failedRun   bool // the last run failed in a way retrying will not fix soon
	pgid        int  // the group of the last ./run, for leftovers
	gen         int  // bumped at each start: stale timers and watchers see it
	timers      map[string]*time.Timer
	cancelRdy   func()

	lastStatus svdir.Status
	lastState  svdir.State
}

func newUnit(s *service, isLog bool) *unit {
	u := &unit{svc: s, isLog: isLog, dir: s.dir, name: s.name, wantUp: true, since: time.Now(),
		phase: svdir.PhaseDown, timers: map[string]*time.Timer{}}
	if isLog {
		u.dir, u.name = filepath.Join(s.dir, "log"), s.name+"/log"
	}
	if _, err := os.Stat(filepath.Join(u.dir, "down")); err == nil {
		u.wantUp = false
	}
	return u
}

func (u *unit) cfg() *config { return &u.svc.cfg }

// control acts on one letter of runsv(8)'s control protocol.
func (u *unit) control(c byte) {
	if u.builtin {
		return // the in-process logger follows its service
	}
	switch c {
	case 'u':
		u.wantUp = true
		if u.fatal != "" { // an explicit up after giving up starts afresh
			u.fatal = ""
			u.tracker.Reset()
		}
		u.failedRun = false
		if u.state == svdir.StateDown && !u.draining {
			u.stopTimer("restart")
			u.start()
		}
	case 'd':
		u.wantUp = false
		u.fatal = ""
		u.stopTimer("restart")
		if u.phase == svdir.PhaseBackoff {
			u.setPhase(svdir.PhaseDown)
		}
		if u.state == svdir.StateRun {
			u.stop()
		}
	case 'o':
		u.wantUp = false
		u.stopTimer("restart")
		if u.state == svdir.StateDown && !u.draining {
			u.start()
		}
	case 'x':
		if u.isLog {
			return // as runsv: the log service exits with its service
		}
		u.exit()
	case 't':
		if u.state == svdir.StateRun {
			u.stop()
		}
	case 'k':
		if u.state == svdir.StateRun && !u.custom(c) {
			u.requested = true
			u.killAll()
		}
	case 'p':
		if u.state == svdir.StateRun && !u.custom(c) {
			u.signal(syscall.SIGSTOP)
		}
		u.paused = true
	case 'c':
		if u.state == svdir.StateRun && !u.custom(c) {
			u.signal(syscall.SIGCONT)
		}
		u.paused = false
	case 'h':
		if u.state == svdir.StateRun && !u.custom(c) {
			u.signal(u.reloadSignal())
		}
	case 'a', 'i', 'q', '1', '2':
		if u.state == svdir.StateRun && !u.custom(c) {
			u.signal(letterSignals[c])
		}
	}
}

// controlLetters are the letters control acts on (keep the two in step):
// readControl drops any other byte before it costs an event and a status
// check, so that a flood of garbage into the FIFO passes in a moment.
const controlLetters = "udoxtkpchaiq12"

var letterSignals = map[byte]syscall.Signal{'a': syscall.SIGALRM, 'i': syscall.SIGINT, 'q': syscall.SIGQUIT, '1': syscall.SIGUSR1, '2': syscall.SIGUSR2}

func (u *unit) reloadSignal() syscall.Signal {
	if !u.isLog && u.cfg().reloadSignal != 0 {
		return u.cfg().reloadSignal
	}
	return syscall.SIGHUP
}

// exit stops the unit for good: for 'x', a removal from the scan dir, or
// sv-scan stopping.
func (u *unit) exit() {
	u.wantExit, u.wantUp = true, false
	u.stopTimer("restart")
	if u.state == svdir.StateRun && u.isLog && u.svc.out != nil {
		// As runsv: the log program is not signalled; its input ends, so
		// it writes all that is left in the FIFO and exits by itself. A
		// signal would leave those lines in a FIFO about to be let go.
		u.svc.out.endInput()
		u.setPhase(svdir.PhaseStopping)
		u.after("eof", u.stopTimeout())
	} else if u.state == svdir.StateRun {
		u.stop()
	} else if u.phase == svdir.PhaseBackoff || u.phase == svdir.PhaseFatal {
		u.setPhase(svdir.PhaseDown)
	}
}

// gone reports whether the unit has nothing running and nothing to do.
func (u *unit) gone() bool {
	return u.builtin || (u.run == nil && u.fin == nil && !u.draining)
}

// start runs ./run.
func (u *unit) start() {
	u.gen++
	u.ready, u.readyAt = false, time.Time{} // errMsg stays until it is ready
	if !u.isLog {
		u.svc.reloadConfig()
		if u.cfg().err != "" {
			u.errMsg = "OPTIONS: " + u.cfg().err
		}
	}
	p, readyPipe, err := u.svc.spawnRun(u)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) { // "fork/exec DIR/run: why": the path is said once
			err = pe.Err
		}
		u.errMsg = fmt.Sprintf("cannot start %s/run: %v", u.dir, whyNoExec(u.dir, err))
		u.svc.sc.logf("%s: %s", u.name, u.errMsg)
		u.failedRun = true
		u.down()
		return
	}
	u.run, u.pgid = p, p.Pid
	u.state, u.since, u.started = svdir.StateRun, time.Now(), time.Now()
	u.gotTerm, u.paused, u.stopAsked, u.requested, u.readyFailed = false, false, false, false, false
	u.svc.watchExit(u, p)
	u.setPhase(svdir.PhaseStarting)
	if u.isLog {
		u.setReady(true) // a logger has no readiness of its own
		return
	}
	u.watchReady(p, readyPipe)
}

// whyNoExec explains a failed exec of dir/run: execve fails a FIFO or a
// device with EACCES, which says less than what it is.
func whyNoExec(dir string, err error) error {
	run := filepath.Join(dir, "run")
	if fi, serr := os.Stat(run); serr == nil && errors.Is(err, syscall.EACCES) {
		if r := safefile.Check(run, fi, math.MaxInt); r != nil {
			return safefile.Why(r)
		}
	}
	return err
}

// adopt takes over a daemon left running by a previous sv-scan.
func (u *unit) adopt(p *proc.Process, st *svdir.State) {
	u.run, u.pgid = p, p.Pid
	u.state, u.since, u.started = svdir.StateRun, st.Started, st.Started
	u.wantUp = st.Want == "up"
	u.restarts, u.lastExit = st.Restarts, st.LastExit
	u.svc.watchExit(u, p)
	u.gen++
	if st.Ready {
		u.ready, u.readyAt = true, st.ReadyAt
		u.setPhase(svdir.PhaseUp)
		return
	}
	u.setPhase(svdir.PhaseStarting)
	if !u.isLog {
		u.watchReady(p, nil)
	}
}

// stop asks the daemon to stop: a custom control/t, or SVC_STOP_SIGNAL to
// its process group, then CONT; KILL to all that is left at the deadline.
func (u *unit) stop() { u.stopFor(true) }

// stopFor stops the daemon; requested says someone asked (the restart
// that follows is then no crash), as opposed to a failed start.
func (u *unit) stopFor(requested bool) {
	if u.run == nil || u.stopAsked {
		return
	}
	u.stopAsked, u.requested = true, requested
	if !u.custom('t') {
		sig := syscall.SIGTERM
		group := true
		if !u.isLog {
			sig, group = u.cfg().stopSignal, u.cfg().stopGroup
		}
		if group {
			proc.SignalGroup(u.pgid, sig)
		} else {
			u.run.Signal(sig)
		}
		u.gotTerm = true
	}
	u.signal(syscall.SIGCONT)
	u.setPhase(svdir.PhaseStopping)
	u.after("kill", u.stopTimeout())
}

func (u *unit) stopTimeout() time.Duration {
	if u.isLog || u.cfg().stopTimeout <= 0 {
		return 10 * time.Second
	}
	return u.cfg().stopTimeout
}

// signal sends sig to the daemon's whole group (it is a session leader).
func (u *unit) signal(sig syscall.Signal) {
	if u.run != nil {
		proc.SignalGroup(u.pgid, sig)
	}
}

// killAll kills everything of the service: its cgroup when it has one,
// else its process group and the daemon itself.
func (u *unit) killAll() {
	if cg := u.cgroup(); cg != nil {
		cg.Kill()
	}
	if u.pgid != 0 {
		proc.SignalGroup(u.pgid, syscall.SIGKILL)
	}
	if u.run != nil {
		u.run.Signal(syscall.SIGKILL)
	}
}

// exited handles the end of one of the unit's processes.
func (u *unit) exited(p *proc.Process, ex proc.Exit) {
	switch p {
	case u.run:
		u.run = nil
		p.Release()
		u.recordExit(ex)
		u.gotTerm, u.ready, u.readyAt = false, false, time.Time{}
		if u.cancelRdy != nil {
			u.cancelRdy()
			u.cancelRdy = nil
		}
		if u.leftovers() {
			// What the daemon forked is still there. After a crash it is
			// killed now; during a stop it gets the stop signal too, and
			// KILL at the deadline.
			u.draining = true
			if u.stopAsked {
				u.signalLeftovers()
			} else {
				u.killAll()
			}
			u.svc.watchEmpty(u)
			return
		}
		u.afterRun()
	case u.fin:
		u.fin = nil
		p.Release()
		u.stopTimer("finish")
		u.down()
	}
}

func (u *unit) recordExit(ex proc.Exit) {
	e := &svdir.Exit{Code: ex.Code(), At: ex.At, Unknown: ex.Unknown}
	if !u.started.IsZero() {
		e.Uptime = ex.At.Sub(u.started).Seconds()
	}
	if ex.Signal() != 0 {
		e.Signal = sigName(ex.Signal())
	}
	u.lastExit, u.lastWstat = e, int(ex.Status)
	// sv-exec exits 100 when retrying cannot help: no such program or user,
	// invalid OPTIONS. Retry slowly rather than in a tight loop.
	u.failedRun = !ex.Unknown && ex.Code() == 100 && e.Uptime < 1
	switch {
	case u.failedRun && u.cfg().err != "":
		// sv-scan read the OPTIONS too, and knows why.
		u.errMsg = "OPTIONS: " + u.cfg().err
	case u.failedRun:
		u.errMsg = "the run script failed permanently (exit 100); see the log for why"
	}
}

// leftovers reports whether processes of the last run remain.
func (u *unit) leftovers() bool {
	if cg := u.cgroup(); cg != nil {
		busy, err := cg.Populated()
		return err == nil && busy
	}
	return u.pgid != 0 && proc.GroupAlive(u.pgid)
}

func (u *unit) signalLeftovers() {
	sig := syscall.SIGTERM
	if !u.isLog {
		sig = u.cfg().stopSignal
	}
	if cg := u.cgroup(); cg != nil {
		cg.Signal(sig)
		cg.Signal(syscall.SIGCONT)
	}
	proc.SignalGroup(u.pgid, sig)
	proc.SignalGroup(u.pgid, syscall.SIGCONT)
}

// drained is called when the group or cgroup may have emptied.
func (u *unit) drained() {
	if u.draining && !u.leftovers() {
		u.draining = false
		u.afterRun()
	}
}

// afterRun: ./finish runs when there is one to run, else the unit is down.
func (u *unit) afterRun() {
	if u.needFinish() {
		if p, err := u.svc.spawnFinish(u); err == nil {
			u.fin = p
			u.state = svdir.StateFinish
			u.setPhase(svdir.PhaseFinish)
			u.svc.watchExit(u, p)
			// s6 bounds finish to 5 s; a hanging one must not hold the service.
			u.after("finish", max(u.stopTimeout(), 5*time.Second))
			return
		} else {
			u.svc.sc.logf("%s: cannot start finish: %v", u.name, err)
		}
	}
	u.down()
}

// needFinish: a user's own ./finish always runs; sv-gen's shared one only
// for FIN_CMD, because sv-scan applies the restart policy itself.
func (u *unit) needFinish() bool {
	path := filepath.Join(u.dir, "finish")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&0o111 == 0 {
		return false
	}
	return u.isLog || !isShared(path, "finish") || u.cfg().finCmd
}

// down: the unit is down; restart it, later or now, unless it must not.
func (u *unit) down() {
	u.state, u.since = svdir.StateDown, time.Now()
	u.stopAsked = false
	u.stopTimer("kill")
	if u.wantExit || !u.wantUp {
		u.setPhase(svdir.PhaseDown)
		return
	}
	if u.requested {
		// Asked for (sv term, sv kill, sv-ctl restart): restart at once,
		// whatever SVC_RESTART says, and it is no crash: neither the
		// backoff nor the restart limit counts it.
		u.requested = false
		u.start()
		return
	}
	code := -1
	if u.lastExit != nil {
		code = u.lastExit.Code
	}
	pol := policy.Logger
	if !u.isLog {
		pol = u.cfg().policy
	}
	// A daemon that never became ready failed, whatever its exit code.
	if reason := pol.StayDown(code); reason != "" && !u.readyFailed && u.lastExit != nil && !u.lastExit.Unknown {
		u.wantUp = false
		u.setPhase(svdir.PhaseDown)
		return
	}
	uptime := time.Duration(0)
	if u.lastExit != nil {
		uptime = time.Duration(u.lastExit.Uptime * float64(time.Second))
	}
	delay, fatal := u.tracker.Next(pol, uptime, time.Now())
	if fatal != "" {
		u.svc.sc.logf("%s: giving up: %s", u.name, fatal)
		u.fatal, u.wantUp = fatal, false
		u.setPhase(svdir.PhaseFatal)
		return
	}
	if u.failedRun {
		if u.isLog && u.cfg().err != "" {
			// It fails on the OPTIONS its service cannot load either: no
			// daemon writes meanwhile, so it waits as long as the service
			// rather than the logger's second, which filled the log.
			pol = u.cfg().policy
		}
		delay = u.tracker.Penalize(pol)
		u.svc.sc.logf("%s: %s; retrying in %s", u.name, u.errMsg, delay)
	}
	u.restarts++ // only restarts of the supervisor's own count
	if delay <= 0 {
		u.start()
		return
	}
	u.nextStart = time.Now().Add(delay)
	u.setPhase(svdir.PhaseBackoff)
	u.after("restart", delay)
}

// timer handles a timer that fired for the current generation.
func (u *unit) timer(name string) {
	delete(u.timers, name)
	switch name {
	case "restart":
		if u.state == svdir.StateDown && u.wantUp && !u.draining {
			u.start()
		}
	case "eof": // the log program did not exit at the end of its input
		u.stop()
	case "kill", "finish":
		if name == "finish" && u.fin != nil {
			u.fin.Signal(syscall.SIGKILL)
			return
		}
		u.killAll()
	case "ready":
		if !u.ready && u.run != nil {
			// The start failed: the daemon is stopped, and restarted as
			// after a crash (backoff, SVC_RESTART_LIMIT).
			u.errMsg = fmt.Sprintf("not ready after SVC_READY_TIMEOUT=%s (%s)", u.cfg().readyTimeout, u.cfg().ready)
			u.svc.sc.logf("%s: %s: stopping it", u.name, u.errMsg)
			if u.cancelRdy != nil {
				u.cancelRdy()
				u.cancelRdy = nil
			}
			u.readyFailed = true
			u.stopFor(false)
		}
	}
}

// after arms a timer; it fires as an event of the unit's goroutine.
func (u *unit) after(name string, d time.Duration) {
	u.stopTimer(name)
	gen := u.gen
	u.timers[name] = time.AfterFunc(d, func() { u.svc.send(event{kind: evTimer, u: u, name: name, gen: gen}) })
}

func (u *unit) stopTimer(name string) {
	if t := u.timers[name]; t != nil {
		t.Stop()
		delete(u.timers, name)
	}
}

func (u *unit) setReady(ok bool) {
	if !ok || u.run == nil {
		return
	}
	u.ready, u.readyAt = true, time.Now()
	u.errMsg = ""
	u.stopTimer("ready")
	if u.phase == svdir.PhaseStarting {
		u.setPhase(svdir.PhaseUp)
	}
}

func (u *unit) setPhase(p string) {
	if u.phase != p {
		u.phase = p
	}
	if p != svdir.PhaseBackoff {
		u.nextStart = time.Time{}
	}
}

// custom runs a control/<c> script of the user's, as runsv does; it returns
// true when the script exited 0 (the default action is then skipped).
// sv-gen's shared control script is not run: sv-scan does its job itself.
func (u *unit) custom(c byte) bool {
	if u.isLog {
		return false // as runsv: the log service has no custom controls
	}
	path := filepath.Join(u.dir, "control", string(c))
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&0o111 == 0 || isShared(path, "control") {
		return false
	}
	p, err := u.svc.spawnControl(u, path)
	if err != nil {
		u.svc.sc.logf("%s: cannot run control/%c: %v", u.name, c, err)
		return false
	}
	select {
	case ex := <-p.Exit:
		p.Release()
		return ex.Code() == 0
	case <-time.After(u.stopTimeout()):
		p.Signal(syscall.SIGKILL)
		<-p.Exit
		p.Release()
		u.svc.sc.logf("%s: control/%c did not finish in %s; killed", u.name, c, u.stopTimeout())
		return false
	}
}

func (u *unit) cgroup() *cgroup.Group {
	if u.isLog {
		return u.svc.logCg
	}
	return u.svc.cg
}
