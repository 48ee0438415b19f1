// Package policy decides what happens when a daemon exits: restart or stay
// down (SVC_RESTART, SVC_TYPE), how long to wait first (immediate, then an
// exponential backoff with jitter), and when to give up (SVC_RESTART_LIMIT).
// sv-scan applies it itself; sv-exec's finish applies the stay-down part for
// supervisors that have no such policy.
package policy

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// Policy is a service's restart settings.
type Policy struct {
	Restart  string // always, on-failure, never
	Oneshot  bool
	Delay    time.Duration // before the first restart of a crash loop
	MaxDelay time.Duration // the backoff's cap
	Limit    options.RestartLimit
}

// FromConfig is a service's policy as its OPTIONS set it.
func FromConfig(c *options.Config) Policy {
	return Policy{
		Restart:  string(c.Restart.Mode),
		Oneshot:  c.Type == options.Oneshot,
		Delay:    c.Restart.Delay,
		MaxDelay: c.Restart.MaxDelay,
		Limit:    c.Restart.Limit,
	}
}

// Default is the policy of a service with no OPTIONS: restart always.
var Default = Policy{Restart: "always", MaxDelay: 60 * time.Second}

// Logger is the policy of a log program (log/run): restart always, and
// never wait more than a second, as runsv does: while it is down, the
// daemon's output fills the pipe, and then the daemon blocks on it.
var Logger = Policy{Restart: "always", MaxDelay: time.Second}

// StayDown returns why the service must not restart after exiting with
// code (-1 when killed by a signal), or "".
func (p Policy) StayDown(code int) string {
	ok := code == 0
	switch {
	case p.Oneshot && ok:
		return "oneshot finished successfully"
	case p.Restart == "never":
		return "SVC_RESTART=never"
	case p.Restart == "on-failure" && ok:
		return "SVC_RESTART=on-failure and it exited 0"
	}
	return ""
}

// StableAfter is how long a daemon must run for its crash loop to count
// as over: the backoff starts again from an immediate restart.
const StableAfter = 10 * time.Second

// FirstBackoff is the second restart's delay when SVC_RESTART_DELAY is 0.
const FirstBackoff = 100 * time.Millisecond

// Tracker remembers a service's recent exits, to space its restarts and to
// apply its restart limit.
type Tracker struct {
	quick    int         // consecutive exits after less than StableAfter
	restarts []time.Time // restarts within the limit's window
}

// Next records an exit after uptime, and returns the delay before the next
// start, or a reason to give up (the service is then fatal).
func (t *Tracker) Next(p Policy, uptime time.Duration, now time.Time) (time.Duration, string) {
	if p.Limit.Count > 0 {
		keep := t.restarts[:0]
		for _, at := range t.restarts {
			if now.Sub(at) < p.Limit.Window {
				keep = append(keep, at)
			}
		}
		t.restarts = keep
		if len(t.restarts) >= p.Limit.Count {
			t.restarts = nil
			return 0, fmt.Sprintf("%d restarts within %s (SVC_RESTART_LIMIT=%d/%s)", p.Limit.Count, p.Limit.Window, p.Limit.Count, p.Limit.Window)
		}
		t.restarts = append(t.restarts, now)
	}
	if uptime >= StableAfter {
		t.quick = 0
	}
	delay := t.backoff(p)
	t.quick++
	return delay, ""
}

// backoff: the first restart after SVC_RESTART_DELAY (0: at once); then
// doubling from max(SVC_RESTART_DELAY, 100ms) up to SVC_RESTART_MAX_DELAY,
// each with up to 20% of random jitter so that many services crashing
// together do not restart in lockstep.
func (t *Tracker) backoff(p Policy) time.Duration {
	if t.quick == 0 {
		return p.Delay
	}
	d := max(p.Delay, FirstBackoff)
	for i := 1; i < t.quick && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	return min(d-jitter/2+jitter, p.MaxDelay)
}

// Reset forgets the crash loop and the restart record: an explicit up
// after the service was given up starts afresh.
func (t *Tracker) Reset() { *t = Tracker{} }

// Penalize makes the next delay the longest: for a start that cannot work
// until something changes (no such program, exit 100 from sv-exec), so that
// it is retried slowly instead of in a tight loop.
func (t *Tracker) Penalize(p Policy) time.Duration {
	t.quick = 64
	return p.MaxDelay
}
