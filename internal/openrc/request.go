// The start request protocol: how /etc/init.d/supervision asks sv-scan to start a
// service before sv-rc has even begun, and how the answer comes back.
//
// sv.NAME's start writes one line, "NAME TOKEN [verdict] [settle=DUR]
// [openrc=DIR]", to the FIFO SCANDIR/.sv-scan/start (a random TOKEN of its
// own). sv-scan takes the service up and starts it at once, but only when
// nothing sv-rc would do first could change the outcome: the service dir
// is as its last sync left it (a sync stamp that holds, taken under the
// key sv-rc would use), marked down, not in the scan dir yet, its OPTIONS
// load and pass the host's checks. Either way it answers in
// SCANDIR/.sv-scan/started/NAME: started (when, and the restart count
// before) or declined (why).
//
// With "verdict", the init script also waits, with shell builtins, for the
// outcome: sv-scan watches the start as sv-rc would (up, ready per
// SVC_READY, settled per settle=, the conf.d settle time) and writes one
// line, "TOKEN ok", "TOKEN failed REASON" or "TOKEN declined REASON", to
// the FIFO SCANDIR/.sv-scan/verdict/NAME, which it holds open for as long
// as it runs (so that a reader sees EOF, not a hang, when it ends). Before
// "ok" it records the daemon's pidfile for OpenRC under DIR/daemons/; a
// failure it first writes to the answer too ("TOKEN failed REASON") and
// takes the service down (no restarts while the script gets to sv-rc). On
// "ok" the start is done without sv-rc at all; on anything else, or EOF,
// the init script runs `sv-rc start --request TOKEN NAME`, which reads the
// answer: failed, it stops the service and reports the reason with the
// log's last lines; started (no verdict given), it watches the start
// itself; declined, it makes the whole start.

package openrc

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FIFOPath is the FIFO the requests go to.
func FIFOPath(scanDir string) string { return filepath.Join(scanDir, ".sv-scan", "start") }

// AnswerPath is where sv-scan answers the requests for name.
func AnswerPath(scanDir, name string) string {
	return filepath.Join(scanDir, ".sv-scan", "started", name)
}

// VerdictPath is the FIFO where sv-scan writes the verdicts on the starts
// of name that it made on request.
func VerdictPath(scanDir, name string) string {
	return filepath.Join(scanDir, ".sv-scan", "verdict", name)
}

// Request is one line of the FIFO.
type Request struct {
	Name, Token string
	Verdict     bool          // the init script waits for the verdict
	Settle      time.Duration // settle=, else 0
	HasSettle   bool
	OpenRC      string // openrc=: OpenRC's service state dir (RC_SVCDIR)
	// Invalid says what is wrong with the rest of a line whose NAME and
	// TOKEN are good: such a request is declined, with this reason.
	Invalid string
}

// maxToken bounds a token (a UUID from /proc/sys/kernel/random/uuid is 36).
const maxToken = 64

// ParseRequest reads "NAME TOKEN [verdict] [settle=DUR] [openrc=DIR]". A
// NAME is one file name, not hidden (its answer is a file of that name);
// what names a service is for the scanner to check. A line whose NAME and
// TOKEN are good but whose options are not is returned with Invalid set,
// so that the request can be declined: its sender may be waiting.
func ParseRequest(line string) (Request, error) {
	line = strings.TrimSuffix(line, "\n")
	f := strings.Split(line, " ")
	if len(f) < 2 || f[0] == "" {
		return Request{}, fmt.Errorf("start request %q: want NAME TOKEN", line)
	}
	name, token := f[0], f[1]
	if strings.HasPrefix(name, ".") || strings.Contains(name, "/") {
		return Request{}, fmt.Errorf("start request %q: %q is not a service name", line, name)
	}
	if err := CheckToken(token); err != nil {
		return Request{}, fmt.Errorf("start request for %s: %w", name, err)
	}
	r := Request{Name: name, Token: token}
	for _, opt := range f[2:] {
		if err := r.setOption(opt); err != nil {
			r.Invalid = err.Error()
			break
		}
	}
	return r, nil
}

// setOption reads one option of a request line.
func (r *Request) setOption(opt string) error {
	key, value, hasValue := strings.Cut(opt, "=")
	switch {
	case key == "verdict" && !hasValue:
		r.Verdict = true
	case key == "settle" && hasValue:
		d, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("settle=%s: not a duration (SV_SETTLE, as 500ms or 2s)", value)
		}
		r.Settle, r.HasSettle = d, true
	case key == "openrc" && hasValue:
		if !filepath.IsAbs(value) || filepath.Clean(value) != value {
			return fmt.Errorf("openrc=%s: not a clean absolute path", value)
		}
		r.OpenRC = value
	default:
		return fmt.Errorf("unknown option %q in a start request", opt)
	}
	return nil
}

// CheckToken accepts 1 to 64 letters, digits and dashes.
func CheckToken(token string) error {
	if token == "" || len(token) > maxToken {
		return fmt.Errorf("token %q: want 1 to %d letters, digits or dashes", token, maxToken)
	}
	for _, c := range token {
		if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return fmt.Errorf("token %q: want 1 to %d letters, digits or dashes", token, maxToken)
		}
	}
	return nil
}

// Answer is sv-scan's answer to one request.
type Answer struct {
	Token    string
	Started  bool
	Sent     time.Time // started: when it acted on `u`
	Restarts int       // started: the service's restart count before `u`
	// Failed: started, then found failed by sv-scan's own watch (a
	// request with "verdict"); the answer is rewritten so before the
	// verdict is said.
	Failed bool
	Reason string // declined or failed: why
}

// Encode is the answer as its file holds it, one line: "TOKEN started
// UNIXNANO RESTARTS", "TOKEN declined REASON" or "TOKEN failed REASON".
func (a Answer) Encode() []byte {
	if a.Started && !a.Failed {
		return fmt.Appendf(nil, "%s started %d %d\n", a.Token, a.Sent.UnixNano(), a.Restarts)
	}
	reason := strings.ReplaceAll(a.Reason, "\n", "; ")
	if reason == "" {
		reason = "(no reason given)"
	}
	if a.Failed {
		return fmt.Appendf(nil, "%s failed %s\n", a.Token, reason)
	}
	return fmt.Appendf(nil, "%s declined %s\n", a.Token, reason)
}

// ErrAnswer: the file is not an answer.
var ErrAnswer = errors.New("not a start answer")

// ParseAnswer reads what Encode wrote.
func ParseAnswer(data []byte) (Answer, error) {
	line, ok := strings.CutSuffix(string(data), "\n")
	if !ok || strings.Contains(line, "\n") {
		return Answer{}, ErrAnswer
	}
	f := strings.SplitN(line, " ", 3)
	if len(f) != 3 || CheckToken(f[0]) != nil {
		return Answer{}, ErrAnswer
	}
	a := Answer{Token: f[0]}
	switch f[1] {
	case "declined", "failed":
		if f[2] == "" {
			return Answer{}, ErrAnswer
		}
		a.Reason = f[2]
		a.Failed = f[1] == "failed"
		a.Started = a.Failed
	case "started":
		ns, count, ok := strings.Cut(f[2], " ")
		n, err1 := strconv.ParseInt(ns, 10, 64)
		r, err2 := strconv.Atoi(count)
		if !ok || err1 != nil || err2 != nil || r < 0 {
			return Answer{}, ErrAnswer
		}
		a.Started, a.Sent, a.Restarts = true, time.Unix(0, n), r
	default:
		return Answer{}, ErrAnswer
	}
	return a, nil
}

// Verdict is sv-scan's word on a start it made on request, for an init
// script that waits for it (see the package comment).
type Verdict struct {
	Token   string
	OK      bool   // up, ready and settled
	Outcome string // not OK: "failed" or "declined"
	Reason  string
}

// Encode is the verdict's line: "TOKEN ok" or "TOKEN OUTCOME REASON".
func (v Verdict) Encode() []byte {
	if v.OK {
		return fmt.Appendf(nil, "%s ok\n", v.Token)
	}
	reason := strings.ReplaceAll(v.Reason, "\n", "; ")
	if reason == "" {
		reason = "(no reason given)"
	}
	return fmt.Appendf(nil, "%s %s %s\n", v.Token, v.Outcome, reason)
}

// ParseVerdict reads what Encode wrote (as the init script reads it, in
// tests).
func ParseVerdict(data []byte) (Verdict, error) {
	line, ok := strings.CutSuffix(string(data), "\n")
	if !ok || strings.Contains(line, "\n") {
		return Verdict{}, ErrVerdict
	}
	f := strings.SplitN(line, " ", 3)
	if CheckToken(f[0]) != nil || len(f) < 2 {
		return Verdict{}, ErrVerdict
	}
	v := Verdict{Token: f[0]}
	switch {
	case f[1] == "ok" && len(f) == 2:
		v.OK = true
	case (f[1] == "failed" || f[1] == "declined") && len(f) == 3 && f[2] != "":
		v.Outcome, v.Reason = f[1], f[2]
	default:
		return Verdict{}, ErrVerdict
	}
	return v, nil
}

// ErrVerdict: the line is not a verdict.
var ErrVerdict = errors.New("not a start verdict")
