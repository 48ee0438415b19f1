package options

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// HookEvent is a kind of change of a service that its hooks (ON_EXIT...),
// the site's hooks.d and the site's rules act on. One change may be of
// several kinds: a crash is an exit too.
type HookEvent int

const (
	HookStart     HookEvent = iota // sv-scan started the daemon (not a restart)
	HookReady                      // the daemon became ready
	HookExit                       // a run ended, however
	HookCrash                      // a run ended by itself on a failure
	HookRestart                    // sv-scan started it again after a run ended (a crash, or a restart asked for)
	HookFatal                      // it was given up (SVC_RESTART_LIMIT)
	HookStop                       // it stopped as asked, and stays down
	HookUnhealthy                  // its health check failed SVC_HEALTH_RETRIES times in a row
	NumHookEvents
)

var hookEventNames = [NumHookEvents]string{
	HookStart: "start", HookReady: "ready", HookExit: "exit", HookCrash: "crash",
	HookRestart: "restart", HookFatal: "fatal", HookStop: "stop", HookUnhealthy: "unhealthy",
}

func (e HookEvent) String() string { return hookEventNames[e] }

// Key is the OPTIONS key of the event's hook: ON_EXIT for exit.
func (e HookEvent) Key() string { return "ON_" + strings.ToUpper(hookEventNames[e]) }

// ParseHookEvent reads an event's name (exit, crash, ...).
func ParseHookEvent(s string) (HookEvent, error) {
	for e, name := range hookEventNames {
		if s == name {
			return HookEvent(e), nil
		}
	}
	return 0, fmt.Errorf("%q is not an event: one of %s", snippet(s), strings.Join(hookEventNames[:], ", "))
}

// Hooks are a service's hooks: an action for each kind of event, and how
// they run.
type Hooks struct {
	On      [NumHookEvents]Action // ON_START ... ON_STOP; a zero Action: none
	Timeout time.Duration         // HOOK_TIMEOUT: a run is killed past it; 0: DefaultHookTimeout
	Rate    Rate                  // HOOK_RATE: past it, runs are coalesced
	User    string                // HOOK_USER: "" is the supervisor's user
}

// DefaultHookTimeout is HOOK_TIMEOUT when it is not set.
const DefaultHookTimeout = time.Minute

// TimeoutOr is h's HOOK_TIMEOUT, or the default for none (h may be nil).
func (h *Hooks) TimeoutOr() time.Duration {
	if h == nil || h.Timeout <= 0 {
		return DefaultHookTimeout
	}
	return h.Timeout
}

// Rate is N events within a window (HOOK_RATE); Count 0: no limit.
type Rate struct {
	Count  int
	Window time.Duration
}

// ParseRate accepts "N/SECONDS" (the window may be a duration like 1m),
// or "" / "none" for no limit.
func ParseRate(s string) (Rate, error) {
	l, err := ParseRestartLimit(s)
	return Rate{Count: l.Count, Window: l.Window}, err
}

// Action is what a hook or a rule does: run a command, or one of the
// suite's own actions.
type Action struct {
	Verb ActionVerb
	// Arg is the service (stop, start, restart), the application
	// (app-stop, app-restart: "" for the service's own), the URL
	// (webhook), the address (mail) or the command (exec).
	Arg  string
	Code int // shutdown's exit code
}

// ActionVerb names what an Action does.
type ActionVerb string

const (
	ActExec       ActionVerb = "exec"        // run a command
	ActStop       ActionVerb = "stop"        // stop:NAME: the service down
	ActStart      ActionVerb = "start"       // start:NAME: up
	ActRestart    ActionVerb = "restart"     // restart:NAME: stopped and started again
	ActAppStop    ActionVerb = "app-stop"    // every member of the application down
	ActAppRestart ActionVerb = "app-restart" // every member down, then up
	ActShutdown   ActionVerb = "shutdown"    // sv-scan stops everything and exits with Code
	ActWebhook    ActionVerb = "webhook"     // POST the event as JSON to a URL
	ActMail       ActionVerb = "mail"        // hand a message to sendmail -t
)

// actionSpec is what an action's argument is: its name in messages,
// whether it must be given, and its check.
type actionSpec struct {
	arg   string
	need  bool
	check func(string) error
}

var actionSpecs = map[ActionVerb]actionSpec{
	ActExec:       {"COMMAND", true, checkHookCommand},
	ActStop:       {"NAME", true, CheckServiceName},
	ActStart:      {"NAME", true, CheckServiceName},
	ActRestart:    {"NAME", true, CheckServiceName},
	ActAppStop:    {"APP", false, CheckServiceName},
	ActAppRestart: {"APP", false, CheckServiceName},
	ActShutdown:   {"CODE", false, func(s string) error { _, err := parseIntRange(s, 0, 255); return err }},
	ActWebhook:    {"URL", true, checkWebhookURL},
	ActMail:       {"ADDRESS", true, checkMailAddress},
}

const actionList = "exec:COMMAND, stop:NAME, start:NAME, restart:NAME, app-stop, app-restart, shutdown[:CODE], webhook:URL, mail:ADDRESS"

// IsZero: no action.
func (a Action) IsZero() bool { return a.Verb == "" }

// Control: the action is sv-scan's own on its services, done at once,
// never coalesced or queued behind a command.
func (a Action) Control() bool {
	switch a.Verb {
	case ActStop, ActStart, ActRestart, ActAppStop, ActAppRestart, ActShutdown:
		return true
	}
	return false
}

func (a Action) String() string {
	switch {
	case a.Verb == ActShutdown && a.Code != 0:
		return fmt.Sprintf("shutdown:%d", a.Code)
	case a.Arg == "":
		return string(a.Verb)
	}
	return string(a.Verb) + ":" + a.Arg
}

// ParseAction reads a hook's or a rule's action: VERB:ARG for the suite's
// own (see actionList), anything else a command ("" is none). A first
// word that looks like VERB: with no such verb is an error, not a
// command: a command with a colon in its first word is written exec:....
func ParseAction(s string) (Action, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Action{}, nil
	}
	name, arg, hasArg := strings.Cut(s, ":")
	verb := ActionVerb(name)
	spec, known := actionSpecs[verb]
	if !known {
		if hasArg && isVerbShaped(name) {
			return Action{}, fmt.Errorf("%q is not an action: one of %s (a command with a colon in its first word: exec:COMMAND)", snippet(name), actionList)
		}
		return Action{Verb: ActExec, Arg: s}, checkHookCommand(s)
	}
	if verb == ActExec {
		arg = strings.TrimSpace(arg)
	}
	switch {
	case !hasArg && spec.need:
		return Action{}, fmt.Errorf("%s needs its %s: %s:%s", name, spec.arg, name, spec.arg)
	case hasArg && arg == "":
		return Action{}, fmt.Errorf("%s: an empty %s", s, spec.arg)
	}
	a := Action{Verb: verb, Arg: arg}
	if hasArg {
		if err := spec.check(arg); err != nil {
			return Action{}, fmt.Errorf("%s: %v", name, err)
		}
	}
	if verb == ActShutdown && hasArg {
		a.Code, _ = parseIntRange(arg, 0, 255)
		a.Arg = ""
	}
	return a, nil
}

// isVerbShaped: lower-case letters and hyphens, as every verb is.
func isVerbShaped(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

// checkHookCommand: a command of one line (it runs through sh -c when it
// has anything of the shell's in it).
func checkHookCommand(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("an empty command")
	}
	if strings.ContainsAny(s, "\n\x00") {
		return fmt.Errorf("a command is one line")
	}
	return nil
}

// checkWebhookURL: an http or https URL with a host.
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", snippet(s))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host", snippet(s))
	}
	return nil
}

// checkMailAddress: one address, user@domain or a local user: nothing
// that could end a mail header or add a recipient.
func checkMailAddress(s string) error {
	if strings.ContainsAny(s, " \t\r\n,;<>\"()\\\x00") {
		return fmt.Errorf("%q is not one mail address (user@domain, or a local user)", snippet(s))
	}
	if at := strings.IndexByte(s, '@'); at == 0 || at == len(s)-1 || strings.Count(s, "@") > 1 {
		return fmt.Errorf("%q is not one mail address (user@domain, or a local user)", snippet(s))
	}
	return nil
}

// Health is what SVC_HEALTH and SVC_MEMORY_MAX ask: a check of the
// running daemon, every Interval; Retries failures in a row make it
// unhealthy. As decoded, a zero field is its key left empty: Effective
// gives the values that apply.
type Health struct {
	Check       HealthCheck   // SVC_HEALTH
	Interval    time.Duration // SVC_HEALTH_INTERVAL
	Timeout     time.Duration // SVC_HEALTH_TIMEOUT
	Retries     int           // SVC_HEALTH_RETRIES
	KeepRunning bool          // SVC_HEALTH_RESTART=no: an unhealthy daemon is not restarted
	MemoryMax   int64         // SVC_MEMORY_MAX in bytes; 0: none
}

// The health keys' values when they are empty.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	DefaultHealthRetries  = 3
)

// Effective is h with the defaults of the keys left empty (none asked
// for: the zero Health, nothing to check).
func (h *Health) Effective() Health {
	if h == nil {
		return Health{}
	}
	e := *h
	if e.Interval <= 0 {
		e.Interval = DefaultHealthInterval
	}
	if e.Timeout <= 0 {
		e.Timeout = DefaultHealthTimeout
	}
	if e.Retries <= 0 {
		e.Retries = DefaultHealthRetries
	}
	return e
}

// Wanted: there is something to check.
func (h Health) Wanted() bool { return h.Check.Kind != "" || h.MemoryMax > 0 }

// HealthCheck is SVC_HEALTH: tcp:HOST:PORT, http:URL[=STATUS] or
// check:COMMAND; a zero Kind: none.
type HealthCheck struct {
	Kind   string   // "", tcp, http, check
	Addr   string   // tcp: HOST:PORT
	URL    string   // http: the URL (http:// only)
	Status int      // http: the status that is healthy; 0: any 2xx or 3xx
	Cmd    []string // check: the command
}

func (h HealthCheck) String() string {
	switch h.Kind {
	case "tcp":
		return "tcp:" + h.Addr
	case "http":
		if h.Status != 0 {
			return fmt.Sprintf("%s=%d", h.URL, h.Status)
		}
		return h.URL
	case "check":
		return "check:" + JoinWords(h.Cmd)
	}
	return ""
}

// ParseHealthCheck reads SVC_HEALTH.
func ParseHealthCheck(s string) (HealthCheck, error) {
	if s == "" || s == "none" {
		return HealthCheck{}, nil
	}
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "tcp":
		r, err := ParseReady(s)
		if err != nil {
			return HealthCheck{}, err
		}
		return HealthCheck{Kind: "tcp", Addr: r.Addr}, nil
	case "check":
		r, err := ParseReady(s)
		if err != nil {
			return HealthCheck{}, err
		}
		return HealthCheck{Kind: "check", Cmd: r.Cmd}, nil
	case "http":
		if strings.HasPrefix(arg, "//") { // http://HOST/...: the URL itself
			arg = "http:" + arg
		}
		h := HealthCheck{Kind: "http", URL: arg}
		if i := strings.LastIndexByte(arg, '='); i > 0 && !strings.Contains(arg[i:], "/") {
			if n, err := parseIntRange(arg[i+1:], 100, 599); err == nil {
				h.URL, h.Status = arg[:i], n
			}
		}
		u, err := url.Parse(h.URL)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return HealthCheck{}, fmt.Errorf("%q: http: needs an http:// URL with a host, and =STATUS if a status other than 2xx or 3xx is healthy (for https, check:curl -fsS URL)", snippet(s))
		}
		return h, nil
	}
	return HealthCheck{}, fmt.Errorf("%q is not one of: tcp:HOST:PORT, http:URL[=STATUS], check:COMMAND", snippet(s))
}
