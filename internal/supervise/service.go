package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/cgroup"
	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/gctune"
	"github.com/supervision-suite/supervision/internal/poller"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/ready"
	"github.com/supervision-suite/supervision/internal/svdir"
	"github.com/supervision-suite/supervision/internal/svlog"
)

type evKind int

const (
	evControl evKind = iota // a letter on a control FIFO
	evExit                  // a process of the unit ended
	evTimer                 // a unit's timer fired
	evReady                 // the daemon said it is ready
	evDrained               // the group or cgroup may be empty now
	evExitAll               // out of the scan dir, or sv-scan stops
	evLog                   // the builtin logger's health changed
	evDeps                  // a service it depends on, or that depends on it, changed
	evHealth                // a health check of the unit's run ended
)

type event struct {
	kind  evKind
	u     *unit
	b     byte
	ex    proc.Exit
	timer timerKind
	gen   int // a timer's arming; a readiness watch's run; a health check's run
	log   svlog.Status
	fail  string // a health check's failure ("" healthy)
}

// service is one entry of the scan dir: the service unit, its log unit,
// and what they share (the output FIFO, the cgroups). Everything talks to
// it through events, which it handles one at a time, in order: a
// goroutine runs while there are some and ends when there are none, so
// that a quiet service has none (sv-scan's memory is mostly stacks).
type service struct {
	sc     *Scanner
	name   string
	link   string // the scan dir entry
	target string // what that entry links to as written ("" for a directory)
	dir    string // the service dir it resolves to
	cfg    config
	// taking is true while newService sets the service up: cfg was read
	// a moment ago, and a start then (the daemon started at once, or by
	// the `u` a start sent before the take-up) need not read it again.
	taking bool
	main   *unit
	log    *unit
	// unpublished are the units' changes since the last writeStatus, which
	// records them once the state files say them.
	unpublished []unpublished
	out         *output
	cg          *cgroup.Group
	logCg       *cgroup.Group
	notify      *ready.NotifySocket
	watch       *Watch // an addon's, on the main unit (TakeUp); set before the loop runs

	logStatus svlog.Status
	// dep is the service's state as the services that depend on it see
	// it, as last published (publishDeps); others read it.
	dep atomic.Pointer[deps.State]
	// appMember is the service as a member of its application, as last
	// published (publishApp); the application's evaluation reads it.
	appMember atomic.Pointer[app.Member]

	mu      sync.Mutex
	queue   []event
	running bool // a goroutine handles the queue (or newService does)
	ended   bool // released: events are dropped
	done    chan struct{}
}

// newService takes over a service dir: supervise directories, output FIFO,
// logger, cgroups; then adopts a daemon a previous sv-scan left running,
// or starts it unless it is to stay down.
//
// up, for a start request, has the service started at once, `down` or
// not, and records when and from what restart count.
func newService(sc *Scanner, name, link, dir string, up *upNow) (*service, error) {
	gctune.Busy() // taking up services is a burst, as their events are
	target, _ := os.Readlink(link)
	// Events that come while the service is set up wait for the end.
	s := &service{sc: sc, name: name, link: link, target: target, dir: dir,
		running: true, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			s.mu.Lock()
			s.ended, s.queue = true, nil
			s.mu.Unlock()
			s.release()
			sc.deps.unregister(s)
		}
	}()
	s.main = s.newUnit(false)
	// Known to the services around it before it starts: a change of one it
	// depends on, from here on, reaches its queue.
	sc.deps.register(s)
	var err error
	// The supervise dir first: once it is held, with ok open, a start
	// waiting for it (sv-rc) sends `u`, which is read when the service is
	// set up, while OPTIONS are read and the rest is made.
	if s.main.sup, err = svdir.Acquire(filepath.Join(dir, "supervise")); err != nil {
		return nil, err
	}
	s.cfg = sc.configs.inPass(dir)
	s.setDeps()
	s.taking = true
	if s.cfg.log != logNone {
		s.log = s.newUnit(true)
		if s.log.sup, err = svdir.Acquire(filepath.Join(dir, "log", "supervise")); err != nil {
			return nil, err
		}
		if s.out, err = openOutput(filepath.Join(dir, "supervise")); err != nil {
			return nil, err
		}
	}
	if sc.cgroups != nil {
		s.cg, _ = sc.cgroups.Group(name)
		if s.cfg.log == logProgram {
			s.logCg, _ = sc.cgroups.Group(name + ".log")
		}
	}
	if s.cfg.log == logBuiltin {
		if err := s.startBuiltinLog(); err != nil {
			return nil, err
		}
	}
	ok = true
	s.begin(s.main)
	if s.log != nil && !s.log.builtin {
		s.begin(s.log)
	}
	s.takePending(s.main)
	if up != nil {
		up.sent, up.restarts = time.Now(), s.main.restarts
		s.watch = up.watch
		s.handle(event{kind: evControl, u: s.main, b: 'u'})
	}
	s.taking = false // from here, starts come from the service's events
	s.readControl(s.main)
	if s.log != nil {
		s.readControl(s.log)
	}
	s.writeStatus()
	s.publishDeps()
	s.idle()
	return s, nil
}

// takePending acts on the letters already in the control FIFO before the
// first status is written: a start (sv-rc) sends `u` the moment ok is
// open, and its daemon then starts without waiting for a status that
// would say down. What comes later, readControl reads.
func (s *service) takePending(u *unit) {
	rc, err := u.sup.Control.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 64)
	n := 0
	rc.Read(func(fd uintptr) bool {
		n, _ = unix.Read(int(fd), buf) // non-blocking: nothing there is EAGAIN
		return true
	})
	for _, b := range buf[:max(n, 0)] {
		s.handle(event{kind: evControl, u: u, b: b})
	}
}

// newUnit makes the service's unit, or its log unit: up unless its dir
// has a `down` file, as runsv says.
func (s *service) newUnit(isLog bool) *unit {
	u := &unit{w: s, svc: s, isLog: isLog, dir: s.dir, name: s.name, cfg: &s.cfg, since: time.Now(), io: &unitIO{}}
	if isLog {
		u.dir, u.name = filepath.Join(s.dir, "log"), s.name+"/log"
	}
	if _, err := os.Stat(filepath.Join(u.dir, "down")); err == nil {
		u.want = wantDown
	}
	return u
}

// begin adopts a daemon left by a previous sv-scan, or starts the unit. A
// previous sv-scan's word also stands for a service it kept down or had
// given up: restarting sv-scan does not undo a `down`.
func (s *service) begin(u *unit) {
	if st, err := svdir.ReadState(u.sup.Dir); err == nil && st.Supervisor == "sv-scan" {
		if st.Pid != 0 {
			if p, err := s.sc.reaper.Adopt(st.Pid, st.PidStart, s.onExit(u)); err == nil {
				u.adopt(procChild{p}, st)
				s.sc.logf("%s: adopted pid %d, left running by a previous sv-scan", u.name, st.Pid)
				return
			}
		}
		switch {
		case st.Fatal != "":
			u.want, u.fatal, u.restarts, u.lastExit = wantDown, st.Fatal, st.Restarts, st.LastExit
			u.setPhase(phaseFatal, "gave-up")
		case st.Want == "down":
			u.want, u.restarts, u.lastExit = wantDown, st.Restarts, st.LastExit
		}
	}
	if u.want == wantUp {
		u.startNow()
	}
}

// send queues an event, and has a goroutine handle the queue unless one
// does; an event for a service gone is dropped.
func (s *service) send(ev event) {
	gctune.Busy() // no giving pages back in the middle of a burst
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.queue = append(s.queue, ev)
	if !s.running {
		s.running = true
		go s.run()
	}
}

// idle ends a turn of handling events: a goroutine takes over what came
// meanwhile, or none is left running.
func (s *service) idle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		go s.run()
		return
	}
	s.running = false
}

// run handles the queued events, in order, until there are none; the
// service is done once it is to exit and its processes are gone.
func (s *service) run() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running, s.queue = false, nil // a quiet service holds no queue
			s.mu.Unlock()
			return
		}
		ev := s.queue[0]
		s.queue[0] = event{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.handle(ev)
		s.writeStatus()
		s.publishDeps()
		if s.main.want == wantExit && s.main.gone() && (s.log == nil || s.log.gone()) {
			s.mu.Lock()
			s.ended, s.queue = true, nil
			s.mu.Unlock()
			s.release()
			close(s.done)
			s.sc.forget(s)
			return
		}
	}
}

func (s *service) handle(ev event) {
	u := ev.u
	switch ev.kind {
	case evControl:
		u.control(ev.b)
	case evExit:
		s.exited(u, ev.ex)
		if u == s.main && s.log != nil && u.want == wantExit && u.gone() {
			s.log.exit() // the log service outlives its service, then goes
		}
	case evTimer:
		if s.fired(u, ev.timer, ev.gen) {
			u.handle(timerInputs[ev.timer])
		}
	case evReady:
		if ev.gen == u.gen {
			u.handle(inReady)
		}
	case evDrained:
		u.handle(inDrained)
	case evExitAll:
		s.main.exit()
		if s.log != nil && s.main.gone() {
			s.log.exit()
		}
	case evLog:
		s.logStatus = ev.log
	case evDeps: // for the service, whose main unit it concerns
		s.main.handle(inDeps)
	case evHealth:
		if ev.gen == u.gen && u.phase == phaseUp && u.run != nil {
			u.healthResult(ev.fail)
		}
	}
}

// exited hands the end of one of the unit's processes to the unit.
func (s *service) exited(u *unit, ex proc.Exit) {
	switch {
	case u.run != nil && u.run.pid() == ex.Pid:
		u.run.release()
		if u.memLimit && s.cg != nil {
			n, err := s.cg.OOMKills()
			u.oom = err == nil && n > u.oomBase
		}
		u.recordExit(exitOf(ex))
		u.handle(inRunExited)
	case u.fin != nil && u.fin.pid() == ex.Pid:
		u.fin.release()
		u.handle(inFinishEnded)
	}
}

// onExit is how the reaper tells of the end of a process of u.
func (s *service) onExit(u *unit) func(proc.Exit) {
	return func(ex proc.Exit) { s.send(event{kind: evExit, u: u, ex: ex}) }
}

// readControl turns the bytes of a control FIFO into events, as they
// come, from the scanner's poller.
func (s *service) readControl(u *unit) {
	rc, err := u.sup.Control.SyscallConn()
	if err != nil {
		s.logf("%s: control FIFO: %v", u.name, err)
		return
	}
	var fd int
	rc.Control(func(raw uintptr) { fd = int(raw) })
	u.io.control, err = s.sc.poller.Add(fd, false, func() poller.Next {
		var buf [64]byte
		for {
			n, err := unix.Read(fd, buf[:])
			for _, b := range buf[:max(n, 0)] {
				if strings.IndexByte(controlLetters, b) >= 0 {
					s.send(event{kind: evControl, u: u, b: b})
				}
			}
			switch {
			case errors.Is(err, unix.EINTR):
			case errors.Is(err, unix.EAGAIN):
				return poller.Again
			case err != nil || n == 0:
				return poller.Done // read-write, it has no end: this is a failure
			}
		}
	})
	if err != nil {
		s.logf("%s: control FIFO: %v", u.name, err)
	}
}

// watchEmpty waits for the unit's leftovers to go: the cgroup says so
// through cgroup.events; a process group without a cgroup is rechecked at
// each orphan the reaper collects (they are our descendants: subreaper).
func (s *service) watchEmpty(u *unit) {
	if cg := s.cgroupOf(u); cg != nil {
		go func() {
			// The unit's KILL timer makes sure the cgroup does empty.
			cg.WaitEmpty(context.Background())
			s.send(event{kind: evDrained, u: u})
		}()
	}
}

// exitAll asks the service to stop for good.
func (s *service) exitAll() { s.send(event{kind: evExitAll, u: s.main}) }

// release gives up everything the service holds.
func (s *service) release() {
	for _, u := range []*unit{s.main, s.log} {
		if u == nil {
			continue
		}
		for t := range u.io.timers {
			s.disarm(u, timerKind(t))
		}
		s.stopWatchingReady(u)
		if u.io.control != nil {
			u.io.control.Stop() // before the FIFO is closed
		}
		if u.sup != nil {
			u.sup.Close()
		}
	}
	if s.out != nil {
		// Final when the daemon is gone; a daemon left running (sv-scan
		// killed, or it would not die) keeps writing into the FIFO.
		s.out.close(s.main.run == nil)
	}
	if s.notify != nil {
		s.notify.Close()
	}
	for _, cg := range []*cgroup.Group{s.cg, s.logCg} {
		if cg != nil {
			if busy, err := cg.Populated(); err == nil && !busy {
				cg.Remove()
			} else {
				cg.Close()
			}
		}
	}
}

// reloadConfig rereads OPTIONS before a start, unless nothing they were
// read from has changed; the builtin logger follows a change of its
// settings.
func (s *service) reloadConfig() {
	if s.taking {
		return
	}
	old := s.loggerConfig()
	s.cfg = s.sc.configs.get(s.dir)
	s.setDeps()
	if s.cfg.log == logBuiltin && s.out != nil && s.loggerConfig() != old {
		s.out.stopLogger(false)
		if err := s.startBuiltinLog(); err != nil {
			s.sc.logf("%s: %v", s.name, err)
		}
	}
}

// writeStatus writes each unit's status and state.json when they changed.
func (s *service) writeStatus() {
	for _, u := range []*unit{s.main, s.log} {
		if u == nil || u.sup == nil {
			continue
		}
		// state.json first: a client woken by the new status then finds
		// the details that go with it.
		state := s.stateOf(u)
		if !sameState(&state, &u.lastState) {
			if err := u.sup.WriteState(&state); err != nil {
				s.sc.logf("%s: cannot write state.json: %v", u.name, err)
			}
			u.lastState = state
			if u == s.main && s.watch != nil {
				s.watch.set(state)
			}
		}
		st := u.status()
		if st != u.lastStatus {
			if err := u.sup.WriteStatus(st, u.want == wantExit); err != nil {
				s.sc.logf("%s: cannot write status: %v", u.name, err)
			}
			u.lastStatus = st
		}
	}
	for _, p := range s.unpublished {
		s.sc.publish(p.ev, p.change)
	}
	s.unpublished = nil
}

func (u *unit) status() svdir.Status {
	st := svdir.Status{Since: u.since, WantUp: u.want == wantUp, Paused: u.paused, GotTerm: u.gotTerm, State: u.phase.runitState()}
	if u.builtin {
		st.State, st.Pid, st.WantUp = svdir.StateRun, os.Getpid(), true
	} else if u.run != nil {
		st.Pid = u.run.pid()
	} else if u.fin != nil {
		st.Pid = u.fin.pid()
	}
	return st
}

func (s *service) stateOf(u *unit) svdir.State {
	st := svdir.State{
		Service: u.name, Supervisor: "sv-scan", SupervisorPid: os.Getpid(), Phase: u.phase.String(),
		Since: u.since, Ready: u.ready, ReadyAt: u.readyAt, Restarts: u.restarts,
		LastExit: u.lastExit, Fatal: u.fatal, Error: u.errMsg, NextStart: u.nextStart,
		Want: "down",
	}
	if u.phase == phaseWaiting || u.phase == phaseBlocked {
		st.Waiting = u.waiting
	}
	st.Health, st.HealthOutput = u.health, u.healthOut
	st.Oneshot = u.policy().Oneshot
	if o := s.cfg.svc; o != nil && !u.isLog {
		st.App, st.Required = o.Config.GroupName, o.Config.Required
	}
	switch u.want {
	case wantExit:
		st.Want = "exit"
	case wantUp:
		st.Want = "up"
	}
	if u.run != nil {
		st.Pid, st.PidStart, st.Started = u.run.pid(), u.run.startTime(), u.started
	}
	if u.builtin {
		st.Pid, st.Phase, st.Ready, st.Started = os.Getpid(), svdir.PhaseUp, true, u.started
	}
	if cg := s.cgroupOf(u); cg != nil {
		st.Cgroup = cg.Path
	}
	if !u.isLog && s.cfg.log != logNone {
		st.Log = &svdir.LogState{Kind: s.cfg.log, Error: s.logStatus.Error, Since: s.logStatus.Since, Dropped: s.logStatus.Dropped, Pending: s.logStatus.Pending}
		if cfg := s.loggerConfig(); s.cfg.log == logBuiltin && cfg.Console != nil {
			st.Log.Kind = "console"
		} else if s.cfg.log == logBuiltin {
			st.Log.Dir = cfg.Dir
		}
	}
	return st
}

func sameState(a, b *svdir.State) bool {
	ae, be := a.LastExit, b.LastExit
	a.LastExit, b.LastExit = nil, nil
	al, bl := a.Log, b.Log
	a.Log, b.Log = nil, nil
	same := *a == *b && (ae == be || (ae != nil && be != nil && *ae == *be)) && (al == bl || (al != nil && bl != nil && *al == *bl))
	a.LastExit, b.LastExit, a.Log, b.Log = ae, be, al, bl
	return same
}

// startBuiltinLog opens LOG_DIR and reads the output FIFO into it; the log
// unit's status then says sv-scan runs the logger.
func (s *service) startBuiltinLog() error {
	cfg := s.loggerConfig()
	err := s.out.startLogger(s.sc.poller, cfg, func(st svlog.Status) {
		go s.send(event{kind: evLog, u: s.main, log: st}) // never under the logger's lock
	})
	if err != nil {
		return fmt.Errorf("log %s: %w", cfg.Dir, err)
	}
	s.log.builtin, s.log.started, s.log.since = true, time.Now(), time.Now()
	return nil
}

// loggerConfig is where the in-process logger writes: the console
// (LOG=console, or sv-scan --console), else the log directory.
func (s *service) loggerConfig() svlog.Config {
	if s.cfg.console || s.sc.cfg.AllToConsole {
		return svlog.Config{Console: s.sc.console, Prefix: s.name + ": "}
	}
	return s.cfg.logCfg
}
