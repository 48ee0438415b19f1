package svctl

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/events"
)

// Our changes, as supervisord's listeners are told them.
func TestSupervisorEvents(t *testing.T) {
	code := 1
	for _, c := range []struct {
		from, to, reason string
		expected         bool
		want             string
	}{
		{"down", "starting", "started", false, "STARTING from_state:STOPPED tries:2"},
		{"backoff", "starting", "started", false, "STARTING from_state:BACKOFF tries:2"},
		{"starting", "up", "ready", false, "RUNNING from_state:STARTING pid:42"},
		{"down", "up", "adopted", false, "RUNNING from_state:STOPPED pid:42"},
		{"up", "stopping", "requested", false, "STOPPING from_state:RUNNING pid:42"},
		{"stopping", "down", "requested", true, "STOPPED from_state:STOPPING pid:42"},
		{"stopping", "draining", "stop-timeout", true, "STOPPED from_state:STOPPING pid:42"},
		{"draining", "down", "stop-timeout", false, ""},
		{"up", "down", "crashed", false, "EXITED from_state:RUNNING expected:0 pid:42"},
		{"up", "down", "exited", true, "EXITED from_state:RUNNING expected:1 pid:42"},
		{"up", "done", "exited", true, "EXITED from_state:RUNNING expected:1 pid:42"},
		{"up", "backoff", "crashed", false, "EXITED from_state:RUNNING expected:0 pid:42 | BACKOFF from_state:EXITED tries:2"},
		{"starting", "backoff", "crashed", false, "BACKOFF from_state:STARTING tries:2"},
		{"up", "fatal", "gave-up", false, "EXITED from_state:RUNNING expected:0 pid:42 | FATAL from_state:BACKOFF"},
		{"backoff", "fatal", "gave-up", false, "FATAL from_state:BACKOFF"},
		{"backoff", "down", "down", false, ""},
		{"down", "waiting", "waiting", false, ""},
		{"blocked", "starting", "started", false, "STARTING from_state:STOPPED tries:2"},
	} {
		ev := events.Event{Seq: 9, Service: "web", From: c.from, To: c.to, Reason: c.reason, Pid: 42, Restarts: 2, Expected: c.expected}
		if ev.EndsRun() {
			ev.ExitCode = &code
		}
		var got []string
		for _, se := range SupervisorEvents(ev, "tier") {
			p := strings.TrimPrefix(se.Payload, "processname:web groupname:tier ")
			got = append(got, strings.TrimPrefix(se.Name, "PROCESS_STATE_")+" "+p)
			if se.Seq != 9 {
				t.Errorf("seq %d", se.Seq)
			}
		}
		if g := strings.Join(got, " | "); g != c.want {
			t.Errorf("%s -> %s (%s): %q, want %q", c.from, c.to, c.reason, g, c.want)
		}
	}
	// no group: the program's own name, as supervisord has it
	se := SupervisorEvents(events.Event{Service: "web", From: "backoff", To: "fatal", Reason: "gave-up"}, "")
	if len(se) != 1 || se[0].Payload != "processname:web groupname:web from_state:BACKOFF" {
		t.Errorf("%+v", se)
	}
	for _, ev := range []events.Event{{Service: "web/log", From: "down", To: "starting", Reason: "started"}, {App: "a", To: "RUNNING"}, {Service: "web", Hook: "exit"}} {
		if se := SupervisorEvents(ev, ""); se != nil {
			t.Errorf("%+v: %+v", ev, se)
		}
	}
}

// The protocol's framing: READY, then RESULT N and N bytes.
func TestListenerFraming(t *testing.T) {
	if err := expectReady(bufio.NewReader(strings.NewReader("READY\n"))); err != nil {
		t.Error(err)
	}
	if err := expectReady(bufio.NewReader(strings.NewReader("RESULT 2\nOK"))); err == nil {
		t.Error("RESULT where READY was due")
	}
	for in, want := range map[string]string{"RESULT 2\nOK": "OK", "RESULT 4\nFAIL": "FAIL", "RESULT 0\n": ""} {
		if got, err := readResult(bufio.NewReader(strings.NewReader(in))); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"READY\n", "RESULT x\nOK", "RESULT 9\nOK", "RESULT -1\n", fmt.Sprintf("RESULT %d\n", 1<<20)} {
		if _, err := readResult(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzReadResult: any answer is read or refused, never a panic or a
// huge allocation.
func FuzzReadResult(f *testing.F) {
	f.Add("RESULT 2\nOK")
	f.Add("RESULT 4\nFAIL")
	f.Fuzz(func(t *testing.T, in string) {
		if got, err := readResult(bufio.NewReader(strings.NewReader(in))); err == nil && len(got) > len(in) {
			t.Fatalf("%q read %q", in, got)
		}
	})
}
