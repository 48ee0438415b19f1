package hooks

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
)

// maxPending bounds the runs that wait behind a service's running
// command: past it, a run is coalesced as past HOOK_RATE.
const maxPending = 100

// run is one run of a hook for an event, or for several coalesced.
type run struct {
	c     Change
	kind  options.HookEvent
	todo  todo
	count int // the events it stands for: 1, or more when coalesced

	proc    *proc.Process
	timer   *time.Timer
	killed  bool
	cleanup []string // files made for it, removed when it ends
}

// queue is a service's runs of commands: one at a time, in order.
type queue struct {
	name    string
	pending []*run
	cur     *run
	slots   map[string]*slot // by kind and source
	held    []*slot          // slots holding a run, in the order they began to
}

// slot is one hook of one kind of event (ON_EXIT's, rules:3's...): what
// HOOK_RATE counts, and the run it holds while past it.
type slot struct {
	key    string
	starts []time.Time // the admissions within the window, oldest first
	held   *run
	timer  *time.Timer
}

func (r *Runner) queue(name string) *queue {
	q := r.queues[name]
	if q == nil {
		q = &queue{name: name, slots: map[string]*slot{}}
		r.queues[name] = q
	}
	return q
}

// admit takes a run of a command, a mail or a webhook: at once while the
// rate and the queue allow it, else coalesced into the run its slot holds.
func (r *Runner) admit(c Change, kind options.HookEvent, t todo) {
	q := r.queue(c.Event.Service)
	key := kind.String() + " " + t.source
	s := q.slots[key]
	if s == nil {
		s = &slot{key: key}
		q.slots[key] = s
	}
	rn := &run{c: c, kind: kind, todo: t, count: 1}
	if s.held != nil { // the latest event, standing for those before it
		rn.count += s.held.count
		s.held = rn
		return
	}
	rate := rateOf(c)
	if !s.allows(rate, time.Now()) || (t.action.Verb != options.ActWebhook && len(q.pending) >= maxPending) {
		s.held = rn
		q.held = append(q.held, s)
		r.wakeHeld(q, s, rate)
		return
	}
	s.admitted(rate, time.Now())
	r.enqueue(q, rn)
	r.pump(q)
}

// enqueue has an admitted run done: a webhook is queued on disk now, a
// command waits its turn (pump starts it).
func (r *Runner) enqueue(q *queue, rn *run) {
	if rn.todo.action.Verb == options.ActWebhook {
		r.webhook(rn)
		return
	}
	q.pending = append(q.pending, rn)
}

func rateOf(c Change) options.Rate {
	if c.Hooks == nil {
		return options.Rate{}
	}
	return c.Hooks.Rate
}

// allows: one more run may begin now within rate.
func (s *slot) allows(rate options.Rate, now time.Time) bool {
	if rate.Count <= 0 {
		return true
	}
	s.forget(rate, now)
	return len(s.starts) < rate.Count
}

func (s *slot) forget(rate options.Rate, now time.Time) {
	i := 0
	for i < len(s.starts) && now.Sub(s.starts[i]) >= rate.Window {
		i++
	}
	s.starts = s.starts[i:]
}

func (s *slot) admitted(rate options.Rate, now time.Time) {
	if rate.Count > 0 {
		s.starts = append(s.starts, now)
	}
}

// wakeHeld has the held run of s looked at again when the rate's window
// lets one more in; room in the queue is looked at as each run ends.
func (r *Runner) wakeHeld(q *queue, s *slot, rate options.Rate) {
	if s.timer != nil || rate.Count <= 0 || len(s.starts) == 0 {
		return
	}
	d := max(time.Until(s.starts[0].Add(rate.Window)), time.Millisecond)
	s.timer = time.AfterFunc(d, func() {
		r.post(func() {
			s.timer = nil
			r.pump(q)
		})
	})
}

// pump lets in the held runs that may go now, and starts the next run
// when none runs.
func (r *Runner) pump(q *queue) {
	now := time.Now()
	keep := q.held[:0]
	for _, s := range q.held {
		rn := s.held
		rate := rateOf(rn.c)
		room := rn.todo.action.Verb == options.ActWebhook || len(q.pending) < maxPending
		if r.closing || !s.allows(rate, now) || !room {
			keep = append(keep, s)
			if !r.closing {
				r.wakeHeld(q, s, rate)
			}
			continue
		}
		s.held = nil
		s.admitted(rate, now)
		r.enqueue(q, rn)
	}
	q.held = keep
	for q.cur == nil && len(q.pending) > 0 {
		rn := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.cur = rn
		if err := r.start(q, rn); err != nil {
			q.cur = nil
			r.removeFiles(rn)
			r.fail(rn.c, rn.kind, rn.todo, "cannot start: "+err.Error())
		}
	}
}

// start runs rn's command, killed past its timeout.
func (r *Runner) start(q *queue, rn *run) error {
	spec, err := r.spec(rn)
	if err != nil {
		return err
	}
	spec.OnExit = func(ex proc.Exit) { r.post(func() { r.ended(q, rn, ex) }) }
	p, err := r.w.Start(spec)
	closeSpecFiles(spec)
	if err != nil {
		return err
	}
	rn.proc = p
	rn.timer = time.AfterFunc(rn.c.Hooks.TimeoutOr(), func() {
		r.post(func() {
			if q.cur == rn && !rn.killed {
				rn.killed = true
				proc.SignalGroup(p.Pid, syscall.SIGKILL) // its own session: its group is its pid
			}
		})
	})
	return nil
}

// ended: the run's process exited; a failure is said, the next run starts.
func (r *Runner) ended(q *queue, rn *run, ex proc.Exit) {
	rn.timer.Stop()
	rn.proc.Release()
	r.removeFiles(rn)
	switch {
	case rn.killed:
		r.fail(rn.c, rn.kind, rn.todo, fmt.Sprintf("killed after HOOK_TIMEOUT=%s", rn.c.Hooks.TimeoutOr()))
	case ex.Signal() != 0:
		r.fail(rn.c, rn.kind, rn.todo, "killed by SIG"+options.SignalName(ex.Signal()))
	case ex.Code() != 0:
		r.fail(rn.c, rn.kind, rn.todo, fmt.Sprintf("exit %d", ex.Code()))
	}
	if q.cur == rn {
		q.cur = nil
	}
	r.pump(q)
	r.checkIdle()
}

// checkIdle tells Close when every queue is done.
func (r *Runner) checkIdle() {
	if !r.closing || r.onIdle == nil {
		return
	}
	for _, q := range r.queues {
		if q.cur != nil || len(q.pending) > 0 {
			return
		}
	}
	r.onIdle()
}

// killAll ends what runs when sv-scan exits: commands are killed, held
// runs dropped (and said), deliverers stopped.
func (r *Runner) killAll() {
	for _, q := range r.queues {
		if q.cur != nil && q.cur.proc != nil && !q.cur.killed {
			q.cur.killed = true
			proc.SignalGroup(q.cur.proc.Pid, syscall.SIGKILL)
		}
		n := len(q.pending)
		for _, s := range q.held {
			if s.timer != nil {
				s.timer.Stop()
			}
			n += s.held.count
		}
		if n > 0 {
			r.w.Logf("%s: %d hook runs not done: sv-scan is exiting", q.name, n)
		}
		q.pending, q.held = nil, nil
	}
	r.stopDeliverers()
}

func (r *Runner) removeFiles(rn *run) {
	for _, f := range rn.cleanup {
		os.Remove(f)
	}
	rn.cleanup = nil
}
