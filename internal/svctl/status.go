// Package svctl controls services and reads their state on any supervisor
// of the daemontools family: sv-scan, runit's runsv, daemontools'
// supervise and s6-supervise. It is the engine of sv-ctl.
package svctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/svdir"
)

// Service is a service directory to act on.
type Service struct {
	Name string
	Dir  string // as given or found: a scan dir entry or a service dir
}

// Info is a service's state, as far as its supervisor tells.
type Info struct {
	Name       string          `json:"name"`
	Dir        string          `json:"dir"`
	Supervisor string          `json:"supervisor"` // sv-scan, runit, daemontools, s6, or "" when none runs
	State      string          `json:"state"`      // up, starting, down, stopping, finish, backoff, fatal, waiting, blocked, done, unsupervised
	Want       string          `json:"want"`       // up or down
	Pid        int             `json:"pid,omitempty"`
	Uptime     float64         `json:"uptime"`           // seconds in the current state
	Since      time.Time       `json:"since"`            // when the current state began
	Started    time.Time       `json:"started,omitzero"` // when the running process started (sv-scan)
	Ready      *bool           `json:"ready,omitempty"`
	Restarts   *int            `json:"restarts,omitempty"`
	LastExit   *svdir.Exit     `json:"last_exit,omitempty"`
	Fatal      string          `json:"fatal,omitempty"`
	Error      string          `json:"error,omitempty"`
	Waiting    string          `json:"waiting,omitempty"` // why it does not start yet (waiting, blocked)
	Health     string          `json:"health,omitempty"`  // healthy or unhealthy (SVC_HEALTH), once checked
	HealthOut  string          `json:"health_output,omitempty"`
	Oneshot    bool            `json:"oneshot,omitempty"`  // it succeeds by exiting 0 (done)
	App        string          `json:"app,omitempty"`      // its application (SVC_GROUP_NAME), as sv-scan says
	Required   bool            `json:"required,omitempty"` // SVC_REQUIRED there
	Paused     bool            `json:"paused,omitempty"`
	NormallyUp bool            `json:"normally_up"`
	Log        *svdir.LogState `json:"log,omitempty"`
	status     svdir.Decoded
}

// States beyond svdir's phases: not taken up by a supervisor, or a state
// that cannot be read.
const (
	StateUnsupervised = "unsupervised"
	StateUnknown      = "unknown"
)

// Unknown is what is shown of a service whose state could not be read:
// why, in Error.
func Unknown(svc Service, err error) Info {
	return Info{Name: svc.Name, Dir: svc.Dir, State: StateUnknown, Error: err.Error()}
}

// ErrNoStatus means the supervise directory holds no status yet.
var ErrNoStatus = errors.New("no status yet")

// Status reads a service's state: the status file of whatever supervises
// it, and sv-scan's state.json where sv-scan does.
func Status(svc Service) (Info, error) {
	info := Info{Name: svc.Name, Dir: svc.Dir}
	if _, err := os.Stat(svc.Dir); err != nil {
		return info, fmt.Errorf("%s: %w", svc.Dir, unwrapPath(err))
	}
	_, err := os.Stat(filepath.Join(svc.Dir, "down"))
	info.NormallyUp = err != nil
	sup := filepath.Join(svc.Dir, "supervise")
	running, err := Running(svc.Dir)
	if err != nil {
		return info, err
	}
	if !running {
		info.State, info.Want = StateUnsupervised, "down"
		return info, nil
	}
	d, err := svdir.ReadStatus(sup)
	if errors.Is(err, fs.ErrNotExist) {
		return info, fmt.Errorf("%s: %w", svc.Dir, ErrNoStatus)
	}
	if err != nil {
		return info, fmt.Errorf("%s: supervise/status: %w", svc.Dir, unwrapPath(err))
	}
	info.status = d
	info.Supervisor = string(d.Family)
	info.Pid, info.Paused = d.Pid, d.Paused
	info.Uptime, info.Since = time.Since(d.Since).Seconds(), d.Since
	info.Want = "down"
	if d.WantUp {
		info.Want = "up"
	}
	switch d.State {
	case svdir.StateRun:
		info.State = svdir.PhaseUp
	case svdir.StateFinish:
		info.State = svdir.PhaseFinish
	default:
		info.State = svdir.PhaseDown
	}
	if d.Family == svdir.FamilyS6 {
		ready := d.Ready
		info.Ready = &ready
		if d.State == svdir.StateRun && !ready {
			info.State = svdir.PhaseStarting
		}
	}
	if st, err := svdir.ReadState(sup); err == nil && st.Supervisor == "sv-scan" {
		info.Supervisor = "sv-scan"
		if st.Pid != d.Pid {
			// Caught between sv-scan's two writes: it writes state.json
			// first, so state.json is the newer word.
			info.Pid, info.Since = st.Pid, st.Since
			info.Uptime = time.Since(st.Since).Seconds()
		}
		fromState(&info, *st)
	}
	return info, nil
}

// FromState is the state of service svc as sv-scan holds it (state.json,
// or the engine's own in process).
func FromState(svc Service, st svdir.State) Info {
	info := Info{Name: svc.Name, Dir: svc.Dir, Supervisor: "sv-scan", Pid: st.Pid, Since: st.Since,
		Uptime: time.Since(st.Since).Seconds(), Want: "down"}
	fromState(&info, st)
	return info
}

// fromState takes sv-scan's words on the service into info.
func fromState(info *Info, st svdir.State) {
	info.State, info.Fatal, info.Error, info.LastExit, info.Log = st.Phase, st.Fatal, st.Error, st.LastExit, st.Log
	info.Ready, info.Restarts, info.Waiting, info.Oneshot = &st.Ready, &st.Restarts, st.Waiting, st.Oneshot
	info.App, info.Required = st.App, st.Required
	info.Health, info.HealthOut = st.Health, st.HealthOutput
	info.Started = st.Started
	if st.Want != "" {
		info.Want = st.Want
	}
}

// Running reports whether a supervisor runs the service: runsv, supervise
// and sv-scan keep supervise/ok open for reading; s6-supervise holds an
// fcntl lock on supervise/lock. Nothing here takes a lock.
func Running(dir string) (bool, error) {
	ok, err := svdir.Supervised(dir)
	if ok || (err != nil && !errors.Is(err, fs.ErrPermission)) {
		return ok, err
	}
	if err != nil {
		// supervise/ok is the supervisor's user's only (runsv makes it
		// 0600): sv-scan's state.json says who supervises, and whether
		// that process lives.
		if st, serr := svdir.ReadState(filepath.Join(dir, "supervise")); serr == nil && st.SupervisorPid > 0 {
			kerr := syscall.Kill(st.SupervisorPid, 0)
			return kerr == nil || errors.Is(kerr, syscall.EPERM), nil
		}
		return false, fmt.Errorf("cannot tell whether it is supervised: %w", err)
	}
	// No ok FIFO with a reader: s6-supervise has none, and a supervisor
	// starting holds its lock before it opens the FIFO. The lock table
	// tells without taking the lock, which would make that supervisor fail.
	// Reading it waits for an RCU grace period (milliseconds), so it is
	// asked only where the FIFO cannot tell: there is none, or s6 wrote
	// the status (a FIFO left by another supervisor of the same dir).
	if !lockTells(filepath.Join(dir, "supervise")) {
		return false, nil
	}
	held, err := svdir.WriteLocked(filepath.Join(dir, "supervise", "lock"))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return false, nil
	}
	return held, err
}

// lockTells reports whether only the lock can say whether the supervise
// directory sup is held: it has no ok FIFO, or its status is s6's.
func lockTells(sup string) bool {
	fi, err := os.Stat(filepath.Join(sup, "ok"))
	if err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		return true
	}
	d, err := svdir.ReadStatus(sup)
	return err == nil && d.Family == svdir.FamilyS6
}

// Up reports whether the service runs; Ready, whether it also says it is
// ready, where the supervisor knows (sv-scan, s6); elsewhere up is ready.
func (i Info) Up() bool {
	return i.Pid != 0 && (i.State == svdir.PhaseUp || i.State == svdir.PhaseStarting || i.State == svdir.PhaseStopping)
}

// StopHeld: sv-scan is to stop the service but has not signalled it yet:
// it waits until what depends on the service is down.
func (i Info) StopHeld() bool {
	return i.Supervisor == "sv-scan" && i.State == svdir.PhaseStopping && !i.status.GotTerm
}

// IsReady: running, and ready if readiness is known.
func (i Info) IsReady() bool { return i.Up() && (i.Ready == nil || *i.Ready) }

// Down reports whether nothing of the service runs.
func (i Info) Down() bool {
	return i.Pid == 0 && i.State != svdir.PhaseFinish && i.State != svdir.PhaseStopping && i.State != svdir.PhaseDraining
}

// Failing: wanted up, but not running (fatal, blocked, backing off, or
// gone); one that waits for what it depends on is not failing.
func (i Info) Failing() bool {
	return i.Fatal != "" || (i.Want == "up" && !i.Up() && i.State != StateUnsupervised && i.State != svdir.PhaseWaiting)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Describe is a short human phrase for the state, as the table shows it.
func (i Info) Describe() string {
	parts := []string{}
	if i.Paused {
		parts = append(parts, "paused")
	}
	if i.Up() && i.Want == "down" {
		parts = append(parts, "want down")
	}
	if !i.Up() && i.Want == "up" && i.State == svdir.PhaseDown {
		parts = append(parts, "want up")
	}
	if !i.NormallyUp && i.Up() {
		parts = append(parts, "normally down")
	}
	return strings.Join(parts, ", ")
}

// statusReaders is how many services Statuses reads at once: each read is
// a dozen system calls and a JSON decode, most of a status listing's time
// past the program's start, and they are independent.
const statusReaders = 4

// Statuses is Status of each service, in the same order, read a few at a
// time.
func Statuses(svcs []Service) ([]Info, []error) {
	infos, errs := make([]Info, len(svcs)), make([]error, len(svcs))
	next := make(chan int, len(svcs))
	for i := range svcs {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(statusReaders, len(svcs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				infos[i], errs[i] = Status(svcs[i])
			}
		}()
	}
	wg.Wait()
	return infos, errs
}
