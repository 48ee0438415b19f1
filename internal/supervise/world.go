package supervise

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/cgroup"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/poller"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// This file is the real world of a unit (see world): the service starts
// its processes through the reaper, signals them, arms its timers and
// watches its readiness, and every answer comes back as an event of the
// service's goroutine.

// unitIO is what the real world holds for a unit: its timers and the
// means to stop watching its readiness.
type unitIO struct {
	timers      [numTimers]*time.Timer
	armed       [numTimers]int // which arming of each timer is live: a stale one is dropped
	arms        int
	readyPipe   *os.File // fd:N readiness of the run just started, until watched
	cancelReady func()
	control     *poller.Watch // the control FIFO's, in the scanner's poller
}

// procChild is a child process as the unit sees it.
type procChild struct{ p *proc.Process }

func (c procChild) pid() int                  { return c.p.Pid }
func (c procChild) startTime() uint64         { return c.p.Start }
func (c procChild) signal(sig syscall.Signal) { c.p.Signal(sig) }
func (c procChild) release()                  { c.p.Release() }

func (s *service) now() time.Time { return time.Now() }

func (s *service) logf(format string, args ...any) { s.sc.logf(format, args...) }

// arm starts timer t; when it fires it is delivered as its input, unless
// armed again or disarmed meanwhile (its arming number says which).
func (s *service) arm(u *unit, t timerKind, d time.Duration) {
	s.disarm(u, t)
	u.io.arms++
	arming := u.io.arms
	u.io.armed[t] = arming
	u.io.timers[t] = time.AfterFunc(d, func() { s.send(event{kind: evTimer, u: u, timer: t, gen: arming}) })
}

func (s *service) disarm(u *unit, t timerKind) {
	if tm := u.io.timers[t]; tm != nil {
		tm.Stop()
		u.io.timers[t] = nil
	}
	u.io.armed[t] = 0
}

// fired reports whether a timer event is the live arming of its timer,
// and forgets it.
func (s *service) fired(u *unit, t timerKind, arming int) bool {
	if arming == 0 || u.io.armed[t] != arming {
		return false
	}
	u.io.armed[t], u.io.timers[t] = 0, nil
	return true
}

func (s *service) spawnRun(u *unit) (child, error) {
	p, readyPipe, err := s.startRun(u)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) { // "fork/exec DIR/run: why": the path is said once
			err = pe.Err
		}
		return nil, whyNoExec(u.dir, err)
	}
	u.io.readyPipe = readyPipe
	return procChild{p}, nil
}

func (s *service) spawnFinish(u *unit) (child, error) {
	p, err := s.startFinish(u)
	if err != nil {
		return nil, err
	}
	return procChild{p}, nil
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

// needFinish: a user's own ./finish always runs; sv-gen's shared one only
// for FIN_CMD, because sv-scan applies the restart policy itself.
func (s *service) needFinish(u *unit) bool {
	path := filepath.Join(u.dir, "finish")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&0o111 == 0 {
		return false
	}
	return u.isLog || !isShared(path, "finish") || u.cfg.finCmd
}

func (s *service) signalGroup(u *unit, sig syscall.Signal) {
	if u.pgid != 0 {
		proc.SignalGroup(u.pgid, sig)
	}
}

func (s *service) signalCgroup(u *unit, sig syscall.Signal) {
	if cg := s.cgroupOf(u); cg != nil {
		cg.Signal(sig)
	}
}

// killAll kills everything of the service: its cgroup when it has one,
// else its process group and the daemon itself.
func (s *service) killAll(u *unit) {
	if cg := s.cgroupOf(u); cg != nil {
		cg.Kill()
	}
	if u.pgid != 0 {
		proc.SignalGroup(u.pgid, syscall.SIGKILL)
	}
	if u.run != nil {
		u.run.signal(syscall.SIGKILL)
	}
}

// leftovers reports whether processes of the last run remain.
func (s *service) leftovers(u *unit) bool {
	if cg := s.cgroupOf(u); cg != nil {
		busy, err := cg.Populated()
		return err == nil && busy
	}
	return u.pgid != 0 && proc.GroupAlive(u.pgid)
}

func (s *service) cgroupOf(u *unit) *cgroup.Group {
	if u.isLog {
		return s.logCg
	}
	return s.cg
}

// custom runs a control/<c> script of the user's, as runsv does; it returns
// true when the script exited 0 (the default action is then skipped).
// sv-gen's shared control script is not run: sv-scan does its job itself.
func (s *service) custom(u *unit, c byte) bool {
	if u.isLog {
		return false // as runsv: the log service has no custom controls
	}
	path := filepath.Join(u.dir, "control", string(c))
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&0o111 == 0 || isShared(path, "control") {
		return false
	}
	p, err := s.spawnControl(u, path)
	if err != nil {
		s.logf("%s: cannot run control/%c: %v", u.name, c, err)
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
		s.logf("%s: control/%c did not finish in %s; killed", u.name, c, u.stopTimeout())
		return false
	}
}

// endInput ends a log program's input, so that it reads to the end of
// the FIFO and exits.
func (s *service) endInput(u *unit) bool {
	if !u.isLog || s.out == nil {
		return false
	}
	s.out.endInput()
	return true
}

// beforeStart reads the OPTIONS again before the service starts; one
// that no longer loads is said in the status.
func (s *service) beforeStart(u *unit) {
	s.reloadConfig()
	if u.cfg.err != "" {
		u.errMsg = "OPTIONS: " + u.cfg.err
	}
}

// changed is told of every change of a unit's phase; a main unit that
// failed for good sets off its application's SVC_APP_ON_FAILURE.
func (s *service) changed(u *unit, from phase, reason string) {
	s.sc.emit(u, from, reason)
	if u == s.main && u.failedForGood(from) {
		s.appFailed(fmt.Sprintf("%s (%s)", u.phase, reason))
	}
}

// exitOf is how a process ended, as the status files say it.
func exitOf(ex proc.Exit) (*svdir.Exit, int) {
	e := &svdir.Exit{Code: ex.Code(), At: ex.At, Unknown: ex.Unknown}
	if ex.Signal() != 0 {
		e.Signal = sigName(ex.Signal())
	}
	return e, int(ex.Status)
}

// readyWanted: SVC_READY asks for a readiness of the daemon's own.
func (c *config) readyWanted() bool { return c.ready.Kind != options.ReadyNone }

func sigName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}
