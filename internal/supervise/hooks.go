package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/hooks"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/svexec"
)

// This file hands the services' events to the hooks (package hooks), and
// is the world the hooks act in: the services, the applications, the
// reaper, the events.

// hookWait bounds how long sv-scan, when it exits, waits for the hooks
// of the last events (a service's ON_STOP) before it kills them.
const hookWait = 5 * time.Second

func newHooks(s *Scanner) *hooks.Runner {
	host, _ := os.Hostname()
	cfg := hooks.Config{ScanDir: s.dir, Environ: s.environ, Host: host}
	cfg.DeliverPath, cfg.DeliverArgv = s.deliverer()
	return hooks.New(hookWorld{s}, cfg)
}

// deliverer is the program that sends webhooks, sv-webhook.
func (s *Scanner) deliverer() (string, []string) {
	if path := s.Helper("sv-webhook"); path != "" {
		return path, []string{"sv-webhook"}
	}
	return "", nil
}

// Helper finds a program of the suite that sv-scan runs beside itself
// (sv-webhook, sv-http): installed beside sv-scan, or else in PATH; ""
// when there is none.
func (s *Scanner) Helper(name string) string {
	if s.self != "" {
		if beside := filepath.Join(filepath.Dir(s.self), name); beside != s.self {
			if _, err := os.Stat(beside); err == nil {
				return beside
			}
		}
	}
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	return ""
}

// hookChange is what u's change from from is to the hooks (nil: none),
// made now, from the unit as the change left it; its event is numbered
// when it is recorded (publish).
func (s *Scanner) hookChange(u *unit, from phase, ev events.Event) *hooks.Change {
	if u.isLog || u.svc == nil {
		return nil
	}
	stopped := u.phase == phaseDown && u.want != wantUp && u.lastExit != nil && u.lastExit.Expected &&
		(from == phaseStarting || from == phaseUp || from == phaseStopping || from == phaseDraining || from == phaseFinishing)
	kinds := hooks.Classify(hooks.Transition{Event: ev, Restart: u.restart, Stopped: stopped})
	if len(kinds) == 0 {
		return nil
	}
	svc := u.svc
	c := hooks.Change{Event: ev, Kinds: kinds, SvDir: filepath.Dir(svc.dir), Dir: svc.dir}
	if o := svc.cfg.svc; o != nil {
		c.App, c.Hooks = o.Config.GroupName, o.Config.Hooks
		switch o.Config.Log.Kind {
		case options.LogBuiltin, options.LogSvlogd, options.LogS6, options.LogMultilog:
			c.LogDir = o.Config.Log.Dir
		}
	}
	if out := svc.out; out != nil {
		c.Sync = out.catchUp
		c.Output = out.writeEnd
	}
	return &c
}

// hookWorld is the scanner as the hooks act on it.
type hookWorld struct{ s *Scanner }

func (w hookWorld) Control(name string, letters string) error {
	w.s.mu.Lock()
	svc := w.s.services[name]
	w.s.mu.Unlock()
	if svc == nil {
		return fmt.Errorf("%s is not supervised here (not in %s)", name, w.s.dir)
	}
	for i := range len(letters) {
		svc.send(event{kind: evControl, u: svc.main, b: letters[i]})
	}
	return nil
}

func (w hookWorld) AppControl(app string, restart bool) error {
	sc := w.s
	a := sc.apps
	a.mu.Lock()
	members := a.membersOf(app)
	if len(members) == 0 {
		a.mu.Unlock()
		return fmt.Errorf("@%s has no members here", app)
	}
	of := options.OnFailure{Action: options.FailRestartApp}
	if restart {
		a.beginRestart(app, of)
	} else {
		a.endAction(app)
	}
	a.saveOrSay(sc)
	a.mu.Unlock()
	if restart {
		sc.stopThenStart(app, of, members)
	} else {
		sendLetter(members, 'd')
	}
	return nil
}

func (w hookWorld) Shutdown(code int, why string) {
	select {
	case w.s.shutdown <- &ShutdownError{Code: code, Why: why}:
	default: // one is under way
	}
}

func (w hookWorld) Start(spec proc.Spec) (*proc.Process, error) { return w.s.reaper.Start(spec) }

func (w hookWorld) Cred(user string) (*syscall.Credential, error) {
	c, err := svexec.UserCred(user)
	if err != nil {
		return nil, fmt.Errorf("HOOK_USER %w", err)
	}
	return c, nil
}

func (w hookWorld) Logf(format string, args ...any) { w.s.logf(format, args...) }

func (w hookWorld) Record(ev events.Event) {
	w.s.count(func(c *events.Counters) { c.HookFailures++ })
	w.s.record(ev)
}
