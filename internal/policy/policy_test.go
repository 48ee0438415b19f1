package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

func TestFromConfig(t *testing.T) {
	limit := options.RestartLimit{Count: 3, Window: time.Minute}
	c := &options.Config{
		Type:    options.Oneshot,
		Restart: options.Restart{Mode: options.RestartOnFailure, Delay: time.Second, MaxDelay: time.Hour, Limit: limit},
	}
	want := Policy{Restart: "on-failure", Oneshot: true, Delay: time.Second, MaxDelay: time.Hour, Limit: limit}
	if got := FromConfig(c); got != want {
		t.Errorf("FromConfig = %+v, want %+v", got, want)
	}
	if got := FromConfig(&options.Config{Type: options.Longrun}); got.Oneshot {
		t.Errorf("a longrun is a oneshot: %+v", got)
	}
}

func TestStayDown(t *testing.T) {
	tests := []struct {
		p    Policy
		code int
		down bool
	}{
		{Policy{Restart: "always"}, 1, false},
		{Policy{Restart: "always"}, 0, false},
		{Policy{Restart: "always", Oneshot: true}, 0, true},
		{Policy{Restart: "always", Oneshot: true}, 1, false},
		{Policy{Restart: "never", Oneshot: true}, 1, true},
		{Policy{Restart: "never"}, -1, true},
		{Policy{Restart: "on-failure"}, 0, true},
		{Policy{Restart: "on-failure"}, -1, false},
	}
	for _, tt := range tests {
		if got := tt.p.StayDown(tt.code) != ""; got != tt.down {
			t.Errorf("%+v after %d: down %v, want %v", tt.p, tt.code, got, tt.down)
		}
	}
}

// Immediate first restart, then doubling with jitter up to the cap; a
// daemon that ran a while starts the loop afresh.
func TestBackoff(t *testing.T) {
	p := Policy{Restart: "always", MaxDelay: 2 * time.Second}
	var tr Tracker
	now := time.Unix(1e9, 0)
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	for i, w := range want {
		d, fatal := tr.Next(p, time.Millisecond, now)
		if fatal != "" {
			t.Fatal(fatal)
		}
		lo, hi := w-w/10-1, w+w/10+1
		if hi > p.MaxDelay {
			hi = p.MaxDelay
		}
		if d < lo || d > hi {
			t.Errorf("restart %d: delay %v, want %v ±10%%", i+1, d, w)
		}
	}
	if d, _ := tr.Next(p, StableAfter, now); d != 0 {
		t.Errorf("after a stable run: delay %v, want 0", d)
	}
	if d := tr.Penalize(p); d != p.MaxDelay {
		t.Errorf("penalty %v", d)
	}
}

// SVC_RESTART_LIMIT=2/60: two restarts in a minute are fine, the third
// exit gives up; restarts older than the window do not count.
func TestLimit(t *testing.T) {
	p := Policy{Restart: "always", MaxDelay: time.Second, Limit: options.RestartLimit{Count: 2, Window: time.Minute}}
	var tr Tracker
	now := time.Unix(1e9, 0)
	for i, wantFatal := range []bool{false, false, true} {
		_, fatal := tr.Next(p, 0, now.Add(time.Duration(i)*time.Second))
		if (fatal != "") != wantFatal {
			t.Errorf("exit %d: fatal %q", i+1, fatal)
		}
		if wantFatal && !strings.Contains(fatal, "SVC_RESTART_LIMIT=2/1m0s") {
			t.Errorf("reason %q", fatal)
		}
	}
	tr.Reset()
	for i := 0; i < 10; i++ {
		if _, fatal := tr.Next(p, 0, now.Add(time.Duration(i)*time.Minute)); fatal != "" {
			t.Fatalf("exit %d, a minute apart: %s", i+1, fatal)
		}
	}
}

// A log program's restarts never wait more than a second, however long it
// has been failing; a daemon's grow to its cap.
func TestLoggerPolicy(t *testing.T) {
	var logger, daemon Tracker
	now := time.Now()
	var lastLog, lastDaemon time.Duration
	for range 20 {
		lastLog, _ = logger.Next(Logger, 0, now)
		lastDaemon, _ = daemon.Next(Default, 0, now)
		if lastLog > time.Second {
			t.Fatalf("a log program waits %s before a restart", lastLog)
		}
	}
	if lastLog < 800*time.Millisecond || lastDaemon < 40*time.Second {
		t.Fatalf("after 20 quick exits: logger waits %s, daemon %s; want about 1s and 60s", lastLog, lastDaemon)
	}
}
