// Package hooks carries out what the events of sv-scan's services call
// for: each service's hooks (ON_EXIT=... in its OPTIONS), the site's
// executables in SVDIR/.opt/hooks.d, and the site's rules (package rules).
//
// Nothing here can hold up supervision. The engine hands each event over
// and goes on (Event does not block); one goroutine, while there is work,
// dispatches it. Actions on services (stop:NAME, app-restart, shutdown...)
// are done at once, in event order, never queued behind a command.
// Commands (a hook's command, hooks.d, mail) run one at a time per
// service, in event order, each within HOOK_TIMEOUT; HOOK_RATE, and a
// bound on what waits, coalesce a flood into one later run that says how
// many events it stands for. Webhooks go to an on-disk queue (package
// hookq) that a deliverer process sends (package webhook).
package hooks

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
)

// World is what the runner does through sv-scan.
type World interface {
	// Control sends runit's letters to a service of the scan dir.
	Control(service string, letters string) error
	// AppControl stops every member of app, or restarts them all.
	AppControl(app string, restart bool) error
	// Shutdown has sv-scan stop everything and exit with code.
	Shutdown(code int, why string)
	// Start starts a process through sv-scan's reaper.
	Start(spec proc.Spec) (*proc.Process, error)
	// Cred is the credential of a user ("": none to take).
	Cred(user string) (*syscall.Credential, error)
	Logf(format string, args ...any)
	// Record adds a hook's failure to the events.
	Record(ev events.Event)
}

// Config is how the runner was set up.
type Config struct {
	ScanDir string   // hooks' files are in ScanDir/.sv-scan/hooks, webhooks' queues beside
	Environ []string // the environment commands start from
	Host    string   // this machine's name, for SV_HOST and mail
	// DeliverPath and DeliverArgv are the deliverer's program and
	// command, to which a queue's directory is added (sv-ctl
	// webhook-deliver); "": webhooks are queued and not sent.
	DeliverPath string
	DeliverArgv []string
}

// Change is one event of a service's main unit, as the engine hands it.
type Change struct {
	Event events.Event
	Kinds []options.HookEvent // Classify's
	App   string              // the application it is a member of
	Hooks *options.Hooks      // its OPTIONS' hooks; nil: it has none
	SvDir string              // where it is defined: .opt/hooks.d, .opt/rules
	Dir   string              // its service dir, where commands run
	// LogDir is where its log is written ("": none to read); Sync has
	// the logger write what the daemon wrote first (nil: nothing to do).
	LogDir string
	Sync   func()
	// Output is where its commands write: the service's log. Nil, or an
	// error, is sv-scan's own output.
	Output func() (*os.File, error)
}

// TailLines is how many lines of the log SV_LOG_TAIL's file, the mail
// and the webhook hold.
const TailLines = 20

// Runner carries out the hooks of a scan dir's services.
type Runner struct {
	w   World
	cfg Config

	mu      sync.Mutex
	inbox   []func()
	running bool // a goroutine works through the inbox

	// The dispatcher's own, touched only from the inbox's work.
	queues     map[string]*queue
	sites      map[string]*site
	deliverers map[string]*deliverer
	closing    bool
	onIdle     func() // Close's: every queue is done
}

// New makes a runner; it starts no goroutine until there is work.
func New(w World, cfg Config) *Runner {
	return &Runner{w: w, cfg: cfg, queues: map[string]*queue{}, sites: map[string]*site{}, deliverers: map[string]*deliverer{}}
}

// Event hands over a change; it never blocks on a hook.
func (r *Runner) Event(c Change) {
	if len(c.Kinds) == 0 {
		return
	}
	r.post(func() { r.dispatch(c) })
}

// post queues work for the dispatcher, which runs it in order.
func (r *Runner) post(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inbox = append(r.inbox, f)
	if !r.running {
		r.running = true
		go r.loop()
	}
}

func (r *Runner) loop() {
	for {
		r.mu.Lock()
		if len(r.inbox) == 0 {
			r.running, r.inbox = false, nil
			r.mu.Unlock()
			return
		}
		f := r.inbox[0]
		r.inbox[0] = nil
		r.inbox = r.inbox[1:]
		r.mu.Unlock()
		r.do(f)
	}
}

// do runs one piece of work. A bug in it is said and the work dropped:
// hooks are optional, and must not take sv-scan, which supervises every
// service, down with them.
func (r *Runner) do(f func()) {
	defer func() {
		if p := recover(); p != nil {
			r.w.Logf("hooks: internal error, an action was dropped: %v", p)
		}
	}()
	f()
}

// dispatch finds what each kind of the change calls for, and does it.
func (r *Runner) dispatch(c Change) {
	st := r.site(c.SvDir)
	name := c.Event.Service
	for _, kind := range c.Kinds {
		var list []todo
		if c.Hooks != nil && !c.Hooks.On[kind].IsZero() {
			list = append(list, todo{source: kind.Key(), action: c.Hooks.On[kind]})
		}
		for _, rule := range st.rules.Match(name, c.App, kind) {
			list = append(list, todo{source: rulesSource(rule), action: rule.Action})
		}
		for _, path := range st.hooks {
			list = append(list, todo{source: "hooks.d/" + filepath.Base(path), action: options.Action{Verb: ActHooksD, Arg: path}})
		}
		for _, t := range list {
			if t.action.Control() {
				r.control(c, kind, t)
				continue
			}
			r.admit(c, kind, t)
		}
	}
}

// ActHooksD is a run of a site's hooks.d executable: its Arg is the path.
const ActHooksD options.ActionVerb = "hooks.d"

// todo is one action an event calls for, and where it was asked for
// (ON_EXIT, rules:LINE, hooks.d/NAME), which is its slot for HOOK_RATE.
type todo struct {
	source string
	action options.Action
}

// control does an action on services at once.
func (r *Runner) control(c Change, kind options.HookEvent, t todo) {
	name := c.Event.Service
	r.w.Logf("%s: %s: %s (%s)", name, kind, t.action, t.source)
	var err error
	switch a := t.action; a.Verb {
	case options.ActStop:
		err = r.w.Control(a.Arg, "d")
	case options.ActStart:
		err = r.w.Control(a.Arg, "u")
	case options.ActRestart:
		// As runit's sv restart: TERM the daemon (wanted up, it starts
		// again at once), and up, which starts one that was down.
		err = r.w.Control(a.Arg, "tu")
	case options.ActAppStop, options.ActAppRestart:
		app := a.Arg
		if app == "" {
			app = c.App
		}
		if app == "" {
			err = errNoApp
			break
		}
		err = r.w.AppControl(app, a.Verb == options.ActAppRestart)
	case options.ActShutdown:
		r.w.Shutdown(a.Code, name+": "+kind.String()+": "+t.source+"="+a.String())
	}
	if err != nil {
		r.fail(c, kind, t, err.Error())
	}
}

// fail says that a hook failed: in sv-scan's log and on the events.
func (r *Runner) fail(c Change, kind options.HookEvent, t todo, why string) {
	name := c.Event.Service
	r.w.Logf("%s: hook %s %s (%s): %s", name, kind, t.action, t.source, why)
	r.w.Record(events.Event{Service: name, Hook: kind.String(), Action: t.action.String(), Reason: why})
}

// Resume has the deliverers send what the queues hold from before (a
// previous sv-scan's, or deliveries that waited for a receiver).
func (r *Runner) Resume() {
	r.post(r.resumeDeliveries)
}

// Close ends the runner with sv-scan: it waits up to wait for the
// commands under way and queued, then kills what still runs, and stops
// the deliverers (what they have not sent stays queued on disk).
func (r *Runner) Close(wait time.Duration) {
	done := make(chan struct{})
	r.post(func() {
		r.closing, r.onIdle = true, sync.OnceFunc(func() { close(done) })
		r.checkIdle()
	})
	select {
	case <-done:
	case <-time.After(wait):
	}
	finished := make(chan struct{})
	r.post(func() { r.killAll(); close(finished) })
	<-finished
}

var errNoApp = errors.New("the service is no member of an application (SVC_GROUP_NAME), and the action names none")
