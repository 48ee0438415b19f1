// Package app evaluates an application: the services that name it in
// SVC_GROUP_NAME, taken as one. Its state and its failures come from its
// members' states by Supvisors' rules, in one pure function: any member
// stopping makes it STOPPING; else any starting (or between two starts)
// STARTING; else any running RUNNING; else STOPPED. A member given up,
// blocked, unknown or that ended on a failure is a major failure when it
// is required (SVC_REQUIRED=yes), a minor one otherwise; a required
// member stopped while the application is not STOPPED is a major
// failure too. A oneshot that exited 0 is healthy.
package app

import (
	"fmt"
	"sort"

	"github.com/supervision-suite/supervision/internal/svdir"
)

// State is an application's state.
type State string

const (
	Stopped  State = "STOPPED"
	Starting State = "STARTING"
	Running  State = "RUNNING"
	Stopping State = "STOPPING"
)

// Membership is a service's application (SVC_GROUP_NAME) and whether it
// is required there (SVC_REQUIRED), as its OPTIONS say.
type Membership struct {
	App      string
	Required bool
}

// Member is one service of an application, as its supervisor reports it.
type Member struct {
	Name     string
	Required bool
	Phase    string // state.json's phase (svdir.Phase*), or "unsupervised", "unknown"
	Want     string // up, down, exit
	// Ready is false for a running member not ready yet.
	Ready bool
	// Oneshot: it succeeds by exiting 0; while it runs, it is starting.
	Oneshot bool
	// ExitFailed: its last run ended on a failure (not as asked, not a
	// oneshot's exit 0).
	ExitFailed bool
	Why        string // what its status says of a failure (fatal, blocked, error)
}

// Failure names the member behind a failure, and why.
type Failure struct {
	Member string `json:"member"`
	Why    string `json:"why"`
}

// Status is an application's state and failures.
type Status struct {
	Name    string    `json:"name"`
	State   State     `json:"state"`
	Major   bool      `json:"major_failure"`
	Minor   bool      `json:"minor_failure"`
	Reasons []Failure `json:"reasons,omitempty"` // the members behind the failures, major first
	Members []string  `json:"members"`
}

// kind is how one member counts in its application.
type kind int

const (
	kStopped kind = iota // down as wanted, or done
	kRunning
	kStarting
	kStopping
	kFailed // a failure whatever the application's state
	kAbsent // a required member down: a failure unless the application is stopped
)

// classify says how a member counts, and why when it is a failure.
func classify(m Member) (kind, string) {
	switch m.Phase {
	case svdir.PhaseUp:
		if !m.Ready || m.Oneshot {
			return kStarting, ""
		}
		return kRunning, ""
	case svdir.PhaseStarting, svdir.PhaseBackoff, svdir.PhaseWaiting:
		return kStarting, ""
	case svdir.PhaseStopping, svdir.PhaseDraining, svdir.PhaseFinish:
		if m.Want == "up" { // ended, and restarting
			return kStarting, ""
		}
		return kStopping, ""
	case svdir.PhaseFatal:
		return kFailed, "fatal: " + m.Why
	case svdir.PhaseBlocked:
		return kFailed, "blocked: " + m.Why
	case svdir.PhaseDone:
		return kStopped, ""
	case svdir.PhaseDown:
		if m.ExitFailed {
			return kFailed, "exited on a failure" + suffix(m.Why)
		}
		if m.Required {
			return kAbsent, "stopped"
		}
		return kStopped, ""
	}
	return kFailed, "state " + m.Phase + suffix(m.Why) // unsupervised, unknown
}

func suffix(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}

// Evaluate is the status of the application name of members.
func Evaluate(name string, members []Member) Status {
	st := Status{Name: name, State: Stopped}
	var starting, running, stopping bool
	var major, minor, absent []Failure
	for _, m := range members {
		st.Members = append(st.Members, m.Name)
		k, why := classify(m)
		switch k {
		case kRunning:
			running = true
		case kStarting:
			starting = true
		case kStopping:
			stopping = true
		case kFailed:
			if m.Required {
				major = append(major, Failure{m.Name, why})
			} else {
				minor = append(minor, Failure{m.Name, why})
			}
		case kAbsent:
			absent = append(absent, Failure{m.Name, why})
		}
	}
	switch {
	case stopping:
		st.State = Stopping
	case starting:
		st.State = Starting
	case running:
		st.State = Running
	}
	if st.State != Stopped {
		major = append(major, absent...)
	}
	st.Major, st.Minor = len(major) > 0, len(minor) > 0
	st.Reasons = append(major, minor...)
	sort.Strings(st.Members)
	return st
}

// Exit codes of `sv-ctl app status`: 0 only for an application running
// with no failure; for several, the most serious code.
const (
	ExitOK       = 0
	ExitMajor    = 1 // a major failure, in any state
	ExitMinor    = 2 // running, with a minor failure only
	ExitStopped  = 3
	ExitUnknown  = 4 // no such application
	ExitStarting = 5 // starting or stopping
)

// severity orders the codes, most serious last.
var severity = []int{ExitOK, ExitStopped, ExitStarting, ExitMinor, ExitMajor, ExitUnknown}

// Code is the exit code for an application's status.
func (s Status) Code() int {
	switch {
	case s.Major:
		return ExitMajor
	case s.State == Stopped:
		return ExitStopped
	case s.State != Running:
		return ExitStarting
	case s.Minor:
		return ExitMinor
	}
	return ExitOK
}

// Worse is the more serious of two exit codes.
func Worse(a, b int) int {
	ia, ib := index(a), index(b)
	if ib > ia {
		return b
	}
	return a
}

func index(code int) int {
	for i, c := range severity {
		if c == code {
			return i
		}
	}
	return len(severity)
}

// Line is the status on one line: "web RUNNING major=no minor=yes (cache: fatal: ...)".
func (s Status) Line() string {
	line := fmt.Sprintf("%s %s major=%s minor=%s", s.Name, s.State, YesNo(s.Major), YesNo(s.Minor))
	for i, f := range s.Reasons {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		line += sep + f.Member + ": " + f.Why
	}
	if len(s.Reasons) > 0 {
		line += ")"
	}
	return line
}

// YesNo is a flag as the status line and the events say it.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
