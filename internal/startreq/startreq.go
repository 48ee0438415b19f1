// Package startreq is how /etc/init.d/supervision asks sv-scan to start a
// service before sv-rc has even begun, and how sv-rc reads the answer.
//
// sv.NAME's start writes one line, "NAME TOKEN", to the FIFO
// SCANDIR/.sv-scan/start (a random TOKEN of its own), then runs
// `sv-rc start --request TOKEN NAME`. sv-scan takes the service up and
// starts it at once, but only when nothing sv-rc would do first could
// change the outcome: the service dir is as its last sync left it (a
// sync stamp that holds), marked down, not in the scan dir yet, its
// OPTIONS load and pass the host's checks. Either way it answers in
// SCANDIR/.sv-scan/started/NAME: started (when, and the restart count
// before) or declined (why). sv-rc then watches the daemon as if it had
// sent `u` itself at that moment, or, declined, does the whole start
// itself. A Go program's start (the most of sv-rc's cost) and sv-scan's
// work (the take-up, the daemon's exec) thus overlap instead of adding up.
package startreq

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

// Request is one line of the FIFO.
type Request struct{ Name, Token string }

// maxToken bounds a token (a UUID from /proc/sys/kernel/random/uuid is 36).
const maxToken = 64

// ParseRequest reads "NAME TOKEN". A NAME is one file name, not hidden
// (its answer is a file of that name); what names a service is for the
// scanner to check.
func ParseRequest(line string) (Request, error) {
	line = strings.TrimSuffix(line, "\n")
	name, token, ok := strings.Cut(line, " ")
	if !ok || name == "" {
		return Request{}, fmt.Errorf("start request %q: want NAME TOKEN", line)
	}
	if strings.HasPrefix(name, ".") || strings.Contains(name, "/") {
		return Request{}, fmt.Errorf("start request %q: %q is not a service name", line, name)
	}
	if err := CheckToken(token); err != nil {
		return Request{}, fmt.Errorf("start request for %s: %w", name, err)
	}
	return Request{Name: name, Token: token}, nil
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
	Reason   string    // declined: why
}

// Encode is the answer as its file holds it, one line:
// "TOKEN started UNIXNANO RESTARTS" or "TOKEN declined REASON".
func (a Answer) Encode() []byte {
	if a.Started {
		return fmt.Appendf(nil, "%s started %d %d\n", a.Token, a.Sent.UnixNano(), a.Restarts)
	}
	reason := strings.ReplaceAll(a.Reason, "\n", "; ")
	if reason == "" {
		reason = "(no reason given)"
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
	case "declined":
		if f[2] == "" {
			return Answer{}, ErrAnswer
		}
		a.Reason = f[2]
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
