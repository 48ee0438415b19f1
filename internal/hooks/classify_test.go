package hooks

import (
	"fmt"
	"testing"

	"github.com/supervision-suite/supervision/internal/events"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		from, to, reason string
		expected         bool
		restart, stopped bool
		want             string
	}{
		{"down", "starting", "started", false, false, false, "[start]"},
		{"backoff", "starting", "started", false, true, false, "[restart]"},
		{"down", "starting", "started", false, true, false, "[restart]"},
		{"starting", "up", "ready", false, false, false, "[ready]"},
		{"down", "up", "adopted", false, false, false, "[]"},
		{"up", "backoff", "crashed", false, false, false, "[exit crash]"},
		{"up", "down", "exited", true, false, false, "[exit]"},
		{"starting", "fatal", "crashed", false, false, false, "[exit crash fatal]"},
		{"backoff", "fatal", "gave-up", false, false, false, "[fatal]"},
		{"fatal", "fatal", "gave-up", false, false, false, "[]"},
		{"stopping", "down", "requested", true, false, true, "[exit stop]"},
		{"stopping", "draining", "requested", true, false, false, "[exit]"},
		{"draining", "down", "requested", false, false, true, "[stop]"},
		{"up", "stopping", "requested", false, false, false, "[]"},
		{"up", "done", "exited", true, false, false, "[exit]"},
		{"waiting", "blocked", "blocked", false, false, false, "[]"},
		{"up", "up", "unhealthy", false, false, false, "[unhealthy]"},
		{"up", "up", "healthy", false, false, false, "[]"},
		{"up", "stopping", "unhealthy", false, false, false, "[]"},
	} {
		ev := events.Event{From: c.from, To: c.to, Reason: c.reason, Expected: c.expected}
		got := fmt.Sprint(Classify(Transition{Event: ev, Restart: c.restart, Stopped: c.stopped}))
		if got != c.want {
			t.Errorf("%s -> %s (%s) restart=%v stopped=%v: %s, want %s", c.from, c.to, c.reason, c.restart, c.stopped, got, c.want)
		}
	}
}
