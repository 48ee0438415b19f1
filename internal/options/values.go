package options

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ParseBool accepts the spellings people write in sh config files.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "y", "true", "on", "1":
		return true, nil
	case "no", "n", "false", "off", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a yes/no value", s)
}

// ParseDuration accepts a number of seconds ("5", "0.5") or a Go duration
// ("500ms", "1m30s"). Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		d = time.Duration(f * float64(time.Second))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (seconds, or like 500ms, 10s, 2m)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// ParseSignal accepts TERM, SIGTERM, term or 15.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal number %d is out of range (1-64)", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("%q is not a signal name or number", s)
}

// SignalName is the short name of a signal without "SIG" (TERM), or its
// number when it has no name.
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return strings.TrimPrefix(n, "SIG")
	}
	return strconv.Itoa(int(sig))
}

// ParseSize accepts bytes with an optional k/K, m/M, g/G suffix (powers of 1024).
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty size")
	}
	mult := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (bytes, or with a K, M or G suffix)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// Unlimited is the value of an rlimit with no bound.
const Unlimited = ^uint64(0)

// Limit is a resource limit: the soft one, and the hard one.
type Limit struct{ Soft, Hard uint64 }

// ParseLimit accepts "N", "unlimited" or "SOFT:HARD". Byte-valued limits may
// carry a K/M/G suffix.
func ParseLimit(s string, bytes bool) (Limit, error) {
	soft, hard, pair := strings.Cut(s, ":")
	sv, err := parseLimitValue(soft, bytes)
	if err != nil {
		return Limit{}, err
	}
	if !pair {
		return Limit{sv, sv}, nil
	}
	hv, err := parseLimitValue(hard, bytes)
	if err != nil {
		return Limit{}, err
	}
	if sv > hv {
		return Limit{}, fmt.Errorf("soft limit %s is above the hard limit %s", soft, hard)
	}
	return Limit{sv, hv}, nil
}

func parseLimitValue(s string, bytes bool) (uint64, error) {
	switch strings.ToLower(s) {
	case "unlimited", "infinity":
		return Unlimited, nil
	}
	if bytes {
		n, err := ParseSize(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a limit (a size, or unlimited)", s)
		}
		return uint64(n), nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a limit (a number, or unlimited)", s)
	}
	return n, nil
}

// ParseUmask accepts an octal mask such as 022 or 0027.
func ParseUmask(s string) (int, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0777 {
		return 0, fmt.Errorf("%q is not an octal umask (like 022)", s)
	}
	return int(n), nil
}

// RestartLimit is SVC_RESTART_LIMIT: give up after Count restarts within Window.
type RestartLimit struct {
	Count  int
	Window time.Duration
}

// OnFailure is SVC_APP_ON_FAILURE: what a member's failure (given up, or
// ended on a failure with no restart to come) does to its application.
type OnFailure struct {
	Action FailureAction
	Code   int // shutdown's exit code
}

// FailureAction is what OnFailure does.
type FailureAction string

const (
	FailContinue      FailureAction = "continue"       // nothing more than the member's own policy
	FailRestartMember FailureAction = "restart-member" // the member starts afresh
	FailRestartApp    FailureAction = "restart-app"    // every member stops, then starts
	FailStopApp       FailureAction = "stop-app"       // every member stops
	FailShutdown      FailureAction = "shutdown"       // sv-scan stops everything and exits with Code
)

// failureRank orders the actions when two members fail at once: the
// stronger wins (Supvisors' order, with shutdown above all).
var failureRank = map[FailureAction]int{FailContinue: 0, FailRestartMember: 1, FailRestartApp: 2, FailStopApp: 3, FailShutdown: 4}

// Rank is the action's strength against another's.
func (o OnFailure) Rank() int { return failureRank[o.Action] }

func (o OnFailure) String() string {
	if o.Action == FailShutdown && o.Code != 0 {
		return fmt.Sprintf("shutdown:%d", o.Code)
	}
	return string(o.Action)
}

// ParseOnFailure accepts continue, restart-member, stop-app, restart-app,
// shutdown and shutdown:CODE (0 to 255); "" is continue.
func ParseOnFailure(s string) (OnFailure, error) {
	if s == "" {
		return OnFailure{Action: FailContinue}, nil
	}
	name, code, hasCode := strings.Cut(s, ":")
	a := FailureAction(name)
	if _, ok := failureRank[a]; !ok {
		return OnFailure{}, fmt.Errorf("%q is not one of: continue, restart-member, stop-app, restart-app, shutdown[:CODE]", s)
	}
	o := OnFailure{Action: a}
	if hasCode {
		if a != FailShutdown {
			return OnFailure{}, fmt.Errorf("%q: only shutdown takes an exit code", s)
		}
		n, err := parseIntRange(code, 0, 255)
		if err != nil {
			return OnFailure{}, fmt.Errorf("%q: the exit code: %v", s, err)
		}
		o.Code = n
	}
	return o, nil
}

// ParseRestartLimit accepts "N/SECONDS" (the window may also be a duration
// like 1m), or "" / "none" for no limit.
func ParseRestartLimit(s string) (RestartLimit, error) {
	if s == "" || s == "none" {
		return RestartLimit{}, nil
	}
	ns, ws, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 1 {
		return RestartLimit{}, fmt.Errorf("%q is not a restart limit (N/SECONDS, like 5/60)", s)
	}
	w, err := ParseDuration(ws)
	if err != nil || w <= 0 {
		return RestartLimit{}, fmt.Errorf("%q is not a restart limit: the window must be a positive duration", s)
	}
	return RestartLimit{Count: n, Window: w}, nil
}

// Ready kinds for SVC_READY.
const (
	ReadyNone   = "none"
	ReadyFD     = "fd"
	ReadyNotify = "notify"
	ReadyCheck  = "check"
	ReadyTCP    = "tcp"
	ReadyPath   = "path"
)

// Ready is a parsed SVC_READY.
type Ready struct {
	Kind string
	FD   int      // fd: the descriptor the daemon writes a newline to
	Cmd  []string // check: the command, run until it exits 0
	Addr string   // tcp: host:port to connect to
	Path string   // path: file whose existence means ready
}

// ParseReady parses none | fd:N | notify | check:CMD | tcp:HOST:PORT | path:FILE.
func ParseReady(s string) (Ready, error) {
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "", ReadyNone:
		if arg != "" {
			break
		}
		return Ready{Kind: ReadyNone}, nil
	case ReadyNotify:
		if arg != "" {
			break
		}
		return Ready{Kind: ReadyNotify}, nil
	case ReadyFD:
		n, err := strconv.Atoi(arg)
		if err != nil || n < 3 || n > 1023 {
			return Ready{}, fmt.Errorf("%q: the notification fd must be a number from 3 to 1023 (0-2 are stdin, stdout, stderr)", s)
		}
		return Ready{Kind: ReadyFD, FD: n}, nil
	case ReadyCheck:
		cmd, err := SplitWords(arg)
		if err != nil || len(cmd) == 0 {
			return Ready{}, fmt.Errorf("%q: check: needs a command", s)
		}
		return Ready{Kind: ReadyCheck, Cmd: cmd}, nil
	case ReadyTCP:
		host, port, err := net.SplitHostPort(arg)
		if err != nil {
			return Ready{}, fmt.Errorf("%q: tcp: needs HOST:PORT (IPv6 as [::1]:PORT)", s)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return Ready{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
		}
		if host == "" {
			host = "127.0.0.1"
		}
		return Ready{Kind: ReadyTCP, Addr: net.JoinHostPort(host, port)}, nil
	case ReadyPath:
		if !strings.HasPrefix(arg, "/") {
			return Ready{}, fmt.Errorf("%q: path: needs an absolute path", s)
		}
		return Ready{Kind: ReadyPath, Path: arg}, nil
	}
	return Ready{}, fmt.Errorf("%q is not a readiness spec (none, fd:N, notify, check:CMD, tcp:HOST:PORT, path:FILE)", s)
}

// String is the spec in the form ParseReady reads.
func (r Ready) String() string {
	switch r.Kind {
	case ReadyFD:
		return fmt.Sprintf("fd:%d", r.FD)
	case ReadyCheck:
		return "check:" + JoinWords(r.Cmd)
	case ReadyTCP:
		return "tcp:" + r.Addr
	case ReadyPath:
		return "path:" + r.Path
	case "":
		return ReadyNone
	}
	return r.Kind
}
