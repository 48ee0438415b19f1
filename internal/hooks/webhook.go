package hooks

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/hookq"
	"github.com/supervision-suite/supervision/internal/proc"
)

// payloadExtra are the fields a webhook's JSON has after the event's, as
// sv-ctl events --json has it (docs/HOOKS.md).
type payloadExtra struct {
	Hook        string `json:"hook"`
	Source      string `json:"source"`
	Application string `json:"application,omitempty"`
	Host        string `json:"host,omitempty"`
	Coalesced   int    `json:"coalesced"`
	LogTail     string `json:"log_tail,omitempty"`
}

// payload is rn's webhook body: one JSON object.
func (r *Runner) payload(rn *run) ([]byte, error) {
	ev, err := json.Marshal(rn.c.Event)
	if err != nil {
		return nil, err
	}
	tail, err := r.tail(rn.c)
	if err != nil {
		r.w.Logf("%s: hook %s: no log tail: %v", rn.c.Event.Service, rn.kind, err)
	}
	extra, err := json.Marshal(payloadExtra{Hook: rn.kind.String(), Source: rn.todo.source, Application: rn.c.App,
		Host: r.cfg.Host, Coalesced: rn.count, LogTail: string(tail)})
	if err != nil {
		return nil, err
	}
	return hookq.Join(ev, extra), nil
}

// webhook queues rn's delivery on disk and has a deliverer send it.
func (r *Runner) webhook(rn *run) {
	url := rn.todo.action.Arg
	dir := hookq.Dir(r.cfg.ScanDir, url)
	body, err := r.payload(rn)
	if err == nil {
		var added bool
		added, err = hookq.Add(dir, url, hookq.EntryName(rn.c.Event.Seq, int(rn.kind)), body)
		if err == nil && !added {
			// Said at the first drop and at each hundredth: a flood of
			// drops is no flood of messages.
			if n := hookq.Dropped(dir); n%100 == 1 {
				r.fail(rn.c, rn.kind, rn.todo, fmt.Sprintf("dropped: its queue holds %d deliveries (%d dropped so far; the next delivery says how many)", hookq.Bound, n))
			}
		}
	}
	if err != nil {
		r.fail(rn.c, rn.kind, rn.todo, "cannot queue it: "+err.Error())
		return
	}
	r.deliver(dir)
}

// deliverer is the process that sends a queue's deliveries.
type deliverer struct {
	proc  *proc.Process
	timer *time.Timer   // its start again, after one that ended with deliveries left
	delay time.Duration // how long that waits: doubled each time, to a minute
	began time.Time
}

// deliver has a deliverer run for the queue in dir, unless one does.
func (r *Runner) deliver(dir string) {
	d := r.deliverers[dir]
	if d == nil {
		d = &deliverer{}
		r.deliverers[dir] = d
	}
	if d.proc != nil || d.timer != nil || r.closing || r.cfg.DeliverPath == "" {
		return
	}
	argv := append(append([]string(nil), r.cfg.DeliverArgv...), dir)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return
	}
	defer devnull.Close()
	p, err := r.w.Start(proc.Spec{Path: r.cfg.DeliverPath, Argv: argv, Env: r.cfg.Environ, Dir: "/",
		Files: []*os.File{devnull, os.Stderr, os.Stderr}, CgroupFD: -1,
		OnExit: func(proc.Exit) { r.post(func() { r.delivererEnded(dir) }) }})
	if err != nil {
		r.w.Logf("webhooks: cannot start the deliverer: %v", err)
		r.again(dir, d)
		return
	}
	d.proc, d.began = p, time.Now()
}

// delivererEnded: it ends once its queue is empty; one that ended with
// deliveries left (killed, or a failure) is started again, at once the
// first time, then later and later.
func (r *Runner) delivererEnded(dir string) {
	d := r.deliverers[dir]
	if d == nil || d.proc == nil {
		return
	}
	d.proc.Release()
	d.proc = nil
	if names, _ := hookq.List(dir); len(names) == 0 || r.closing {
		d.delay = 0
		return
	}
	if time.Since(d.began) > time.Minute {
		d.delay = 0
	}
	r.again(dir, d)
}

func (r *Runner) again(dir string, d *deliverer) {
	if d.delay == 0 {
		d.delay = time.Second
	} else {
		d.delay = min(2*d.delay, time.Minute)
	}
	d.timer = time.AfterFunc(d.delay, func() {
		r.post(func() {
			d.timer = nil
			r.deliver(dir)
		})
	})
}

// resumeDeliveries starts a deliverer for each queue that holds deliveries.
func (r *Runner) resumeDeliveries() {
	for _, dir := range hookq.Queues(hookq.Root(r.cfg.ScanDir)) {
		if names, _ := hookq.List(dir); len(names) > 0 {
			r.deliver(dir)
		}
	}
}

// stopDeliverers ends the deliverers with sv-scan; their queues stay.
func (r *Runner) stopDeliverers() {
	for _, d := range r.deliverers {
		if d.timer != nil {
			d.timer.Stop()
			d.timer = nil
		}
		if d.proc != nil {
			d.proc.Signal(syscall.SIGTERM)
		}
	}
}
