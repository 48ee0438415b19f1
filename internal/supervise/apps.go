package supervise

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// appActions carries out SVC_APP_ON_FAILURE: when a member of an
// application fails for good (given up, or ended on a failure that its
// policy does not restart), the member's action is taken for the whole
// application. One action per application is under way at a time; a
// stronger one (shutdown, stop-app, restart-app, restart-member, continue)
// replaces a weaker one, a weaker one is dropped.
type appActions struct {
	mu sync.Mutex
	// last is each application's status as last told to the events.
	last    map[string]app.Status
	under   map[string]options.OnFailure // the action under way, by application
	members map[*service]string          // each service's application, as its OPTIONS last said
	// expected are the members a scan is about to take up (by name): an
	// application is not evaluated before they are.
	expected map[string]string
	changed  *sync.Cond // a member's state changed (restart-app waits for all down)
	waiters  int

	// restarting: each application whose restart-app is under way, and
	// how far it is (restartStopping, restartStarting).
	restarting map[string]string
	// retriedMember and retriedApp: when each member was last restarted
	// by restart-member, by name, and each application by restart-app. A
	// member that fails again with no sound run since (unit.soundAt) is
	// left as it is: its restart failed, which is no reason to restart
	// again (as Supvisors tells a failure while starting from one while
	// running), so that a lasting failure costs one restart, not a loop.
	retriedMember map[string]time.Time
	retriedApp    map[string]time.Time
	file          string // where they are kept across sv-scan's restarts (appState)
	saveFail      sync.Once
}

func newAppActions() *appActions {
	a := &appActions{under: map[string]options.OnFailure{}, members: map[*service]string{}, last: map[string]app.Status{},
		restarting: map[string]string{}, retriedMember: map[string]time.Time{}, retriedApp: map[string]time.Time{}}
	a.changed = sync.NewCond(&a.mu)
	return a
}

// setMember records svc's application ("" for none, or gone).
func (a *appActions) setMember(svc *service, app string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.expected, svc.name)
	if app == "" {
		delete(a.members, svc)
		return
	}
	a.members[svc] = app
}

// expect records the members a scan is about to take up.
func (a *appActions) expect(members map[string]string) {
	a.mu.Lock()
	a.expected = members
	a.mu.Unlock()
}

// membersOf are the services of app, by name.
func (a *appActions) membersOf(app string) []*service {
	var out []*service
	for svc, ap := range a.members {
		if ap == app {
			out = append(out, svc)
		}
	}
	slices.SortFunc(out, func(x, y *service) int { return strings.Compare(x.name, y.name) })
	return out
}

// poke wakes a restart that waits for its members to be down.
func (a *appActions) poke() {
	a.mu.Lock()
	if a.waiters > 0 {
		a.changed.Broadcast()
	}
	a.mu.Unlock()
}

// ShutdownError is what Run returns when a member's failure asked for a
// shutdown (SVC_APP_ON_FAILURE=shutdown[:CODE]): every service is stopped,
// and the program exits with Code.
type ShutdownError struct {
	Code int
	Why  string
}

func (e *ShutdownError) Error() string { return e.Why }

// failedForGood: the unit has just failed, and nothing will start it
// again by itself: given up, or its run ended on a failure that its policy
// keeps down (a `d` to a unit given up is no new failure). A unit that
// has not run under this sv-scan (gen 0: given up before, its phase read
// back from the previous sv-scan's state) has not just failed.
func (u *unit) failedForGood(from phase) bool {
	if u.gen == 0 {
		return false
	}
	switch u.phase {
	case phaseFatal:
		return from != phaseFatal
	case phaseDown:
		return from.runitState() != svdir.StateDown && u.want == wantDown &&
			u.lastExit != nil && !u.lastExit.Expected && u.ending == endedCrash
	}
	return false
}

// appFailed takes the service's SVC_APP_ON_FAILURE action for its
// application, its main unit having failed for good.
func (s *service) appFailed(why string) {
	o := s.cfg.svc
	if o == nil || o.Config.GroupName == "" {
		return
	}
	s.sc.appFailure(s, o.Config.GroupName, o.Config.AppOnFailure, why)
}

// appFailure carries out of for app, whose member svc failed.
func (sc *Scanner) appFailure(svc *service, app string, of options.OnFailure, why string) {
	a := sc.apps
	a.mu.Lock()
	if cur, busy := a.under[app]; busy && cur.Rank() >= of.Rank() {
		a.mu.Unlock()
		sc.logf("%s: %s; %s: %s under way (SVC_APP_ON_FAILURE)", svc.name, why, app, cur)
		return
	}
	if a.again(svc.name, app, of, svc.main.soundAt) {
		a.mu.Unlock()
		sc.logf("%s: %s; %s: no sound run since its last %s: left as it is (SVC_APP_ON_FAILURE)", svc.name, why, app, of)
		return
	}
	members := a.membersOf(app)
	now := time.Now()
	switch of.Action {
	case options.FailRestartApp:
		a.beginRestart(app, of)
		a.retriedApp[app] = now
	case options.FailRestartMember:
		a.retriedMember[svc.name] = now
	case options.FailStopApp, options.FailShutdown:
		a.endAction(app)
	}
	a.saveOrSay(sc)
	a.mu.Unlock()
	sc.logf("%s: %s; %s: %s (SVC_APP_ON_FAILURE)", svc.name, why, app, of)
	switch of.Action {
	case options.FailRestartMember:
		sendLetter([]*service{svc}, 'u') // an explicit up starts a member given up afresh
	case options.FailStopApp:
		sendLetter(members, 'd')
	case options.FailRestartApp:
		sc.stopThenStart(app, of, members)
	case options.FailShutdown:
		select {
		case sc.shutdown <- &ShutdownError{Code: of.Code, Why: fmt.Sprintf("%s of %s: %s: SVC_APP_ON_FAILURE=%s", svc.name, app, why, of)}:
		default: // one is under way
		}
	}
}

// again: of would restart the member, or its application, again, though
// the member had no sound run (at soundAt) since of last did; a.mu is held.
func (a *appActions) again(member, app string, of options.OnFailure, soundAt time.Time) bool {
	var last time.Time
	switch of.Action {
	case options.FailRestartMember:
		last = a.retriedMember[member]
	case options.FailRestartApp:
		last = a.retriedApp[app]
	default:
		return false
	}
	return !last.IsZero() && !soundAt.After(last)
}

// saveOrSay keeps the actions' state on disk; a failure to is logged, once
// per sv-scan: the actions go on, and only a restart of sv-scan would
// miss it. a.mu is held.
func (a *appActions) saveOrSay(sc *Scanner) {
	if err := a.save(); err != nil {
		a.saveFail.Do(func() { sc.logf("%v: the applications' restarts would not survive sv-scan's", err) })
	}
}

// beginRestart records a restart of app under way, its members about to
// be stopped; a.mu is held.
func (a *appActions) beginRestart(app string, of options.OnFailure) {
	a.under[app] = of
	a.restarting[app] = restartStopping
}

// endAction ends the action under way for app, if any (a stop of the
// application replaces a restart); a.mu is held.
func (a *appActions) endAction(app string) {
	delete(a.under, app)
	delete(a.restarting, app)
	a.changed.Broadcast()
}

// stopThenStart stops every member of app, and starts them all again
// once all are down (beginRestart first).
func (sc *Scanner) stopThenStart(app string, of options.OnFailure, members []*service) {
	sendLetter(members, 'd')
	go sc.restartApp(app, of, members)
}

func sendLetter(to []*service, b byte) {
	for _, m := range to {
		m.send(event{kind: evControl, u: m.main, b: b})
	}
}

// restartApp waits until every member of app is down (each stopped after
// what depends on it), then starts them all again (each once what it
// depends on is ready), unless a stronger action came meanwhile.
func (sc *Scanner) restartApp(app string, of options.OnFailure, members []*service) {
	a := sc.apps
	a.mu.Lock()
	a.waiters++
	for !allDown(members) && a.under[app] == of {
		a.changed.Wait()
	}
	a.waiters--
	still := a.under[app] == of
	if still {
		a.restarting[app] = restartStarting
		a.saveOrSay(sc)
	}
	a.mu.Unlock()
	if !still {
		return
	}
	sc.logf("%s: every member down: starting them again (SVC_APP_ON_FAILURE=%s)", app, of)
	sendLetter(members, 'u')
	a.mu.Lock()
	if a.under[app] == of {
		delete(a.under, app)
		delete(a.restarting, app)
		a.saveOrSay(sc)
	}
	a.mu.Unlock()
}

// resumeApps goes on with the restarts a previous sv-scan left under way,
// once the scan took up their members: those still being stopped are
// stopped and awaited, then started; those sent up already are sent up
// again (an up to a member that runs does nothing).
func (sc *Scanner) resumeApps() {
	a := sc.apps
	a.mu.Lock()
	defer a.mu.Unlock()
	of := options.OnFailure{Action: options.FailRestartApp}
	for app, phase := range a.restarting {
		members := a.membersOf(app)
		sc.logf("%s: taking up its restart left %s by the previous sv-scan (SVC_APP_ON_FAILURE=%s)", app, phase, of)
		if phase == restartStarting {
			sendLetter(members, 'u')
			delete(a.restarting, app)
			a.saveOrSay(sc)
			continue
		}
		// Down again to all: one sent just before the previous sv-scan
		// died may not have been recorded (a down member takes it as a no-op).
		a.beginRestart(app, of)
		sc.stopThenStart(app, of, members)
	}
}

// allDown: no process of any of the services runs.
func allDown(members []*service) bool {
	for _, m := range members {
		if st := m.dep.Load(); st == nil || st.Active {
			return false
		}
	}
	return true
}

// member is the unit as a member of its application sees it (package app).
func (u *unit) member(required bool) app.Member {
	m := app.Member{Name: u.name, Required: required, Phase: u.phase.String(), Want: "down",
		Ready: u.ready, Oneshot: u.policy().Oneshot}
	switch u.want {
	case wantUp:
		m.Want = "up"
	case wantExit:
		m.Want = "exit"
	}
	if u.phase == phaseDown && u.lastExit != nil && !u.lastExit.Expected {
		m.ExitFailed = true
	}
	m.Why = u.fatal
	if m.Why == "" {
		m.Why = u.waiting
	}
	if m.Why == "" {
		m.Why = u.errMsg
	}
	return m
}

// publishApp records the service as a member of its application after an
// event, and says a change of the application's status on the events.
func (s *service) publishApp() {
	o := s.cfg.svc
	if o == nil || o.Config.GroupName == "" {
		return
	}
	m := s.main.member(o.Config.Required)
	s.appMember.Store(&m)
	s.sc.apps.evaluate(s.sc, o.Config.GroupName)
}

// evaluate has the application's status from its members' last records,
// and appends an `app` event when its state or failures changed.
func (a *appActions) evaluate(sc *Scanner, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ap := range a.expected {
		if ap == name {
			return // a member is still to be taken up
		}
	}
	var ms []app.Member
	for _, svc := range a.membersOf(name) {
		m := svc.appMember.Load()
		if m == nil {
			return // a member being taken up: the status is not known yet
		}
		ms = append(ms, *m)
	}
	st := app.Evaluate(name, ms)
	last, seen := a.last[name]
	if seen && last.State == st.State && last.Major == st.Major && last.Minor == st.Minor {
		return
	}
	a.last[name] = st
	ev := events.Event{App: name, From: string(last.State), To: string(st.State), Major: st.Major, Minor: st.Minor}
	if len(st.Reasons) > 0 {
		ev.Reason = st.Reasons[0].Member + ": " + st.Reasons[0].Why
	}
	sc.record(ev)
}
