package svctl

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/events"
)

// scanDirWith makes a scan dir whose ring holds the events, as sv-scan
// would have written them.
func scanDirWith(t *testing.T, evs ...events.Event) (string, *events.Writer) {
	t.Helper()
	scan := t.TempDir()
	w, err := events.Create(events.Dir(scan))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for _, ev := range evs {
		if _, err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	return scan, w
}

func eventsOf(t *testing.T, scan string, q EventsQuery) string {
	t.Helper()
	var b bytes.Buffer
	if err := Events(context.Background(), scan, q, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var story = []events.Event{
	{Service: "web", From: "down", To: "starting", Pid: 10, Reason: "started"},
	{Service: "web/log", From: "down", To: "starting", Pid: 11, Reason: "started"},
	{Service: "web", From: "starting", To: "up", Pid: 10, Ready: true, Reason: "ready"},
	{Service: "db", From: "down", To: "starting", Pid: 12, Reason: "started"},
}

func TestEventsFilter(t *testing.T) {
	scan, _ := scanDirWith(t, story...)
	for _, c := range []struct {
		q    EventsQuery
		want string // the services, in order
	}{
		{EventsQuery{}, "web web/log web db"},
		{EventsQuery{Names: []string{"web"}}, "web web"},
		{EventsQuery{Names: []string{"web/log"}}, "web/log"},
		{EventsQuery{Names: []string{"web", "web/log"}}, "web web/log web"},
		{EventsQuery{Names: []string{"gone"}}, ""},
		{EventsQuery{Since: 2}, "web db"},
		{EventsQuery{Since: 2, Names: []string{"db"}}, "db"},
		{EventsQuery{Since: 4}, ""},
	} {
		c.q.JSON = true
		var got []string
		for _, line := range strings.Split(strings.TrimSuffix(eventsOf(t, scan, c.q), "\n"), "\n") {
			if line == "" {
				continue
			}
			ev, err := events.Decode([]byte(line))
			if err != nil {
				t.Fatalf("%+v: line %q does not decode: %v", c.q, line, err)
			}
			got = append(got, ev.Service)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%+v gave the events of %q, want %q", c.q, got, c.want)
		}
	}
}

// A dropped record is printed whatever the names asked: the events it
// stands for may be theirs.
func TestEventsDropped(t *testing.T) {
	scan := t.TempDir()
	dir := events.Dir(scan)
	os.MkdirAll(dir, 0o755)
	// The ring as two rotations leave it: 1 to 9 are gone.
	os.WriteFile(filepath.Join(dir, events.PreviousFile), []byte(
		`{"seq":10,"time":"2030-01-02T03:04:05Z","service":"web","from":"down","to":"starting","pid":10,"restarts":0,"ready":false,"reason":"started"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, events.CurrentFile), []byte(
		`{"seq":11,"time":"2030-01-02T03:04:06Z","service":"db","from":"down","to":"starting","pid":12,"restarts":0,"ready":false,"reason":"started"}`+"\n"), 0o644)
	got := eventsOf(t, scan, EventsQuery{Since: 1, Names: []string{"db"}, JSON: true})
	want := `{"seq":9,"time":"2030-01-02T03:04:05Z","dropped":8}` + "\n" +
		`{"seq":11,"time":"2030-01-02T03:04:06Z","service":"db","from":"down","to":"starting","pid":12,"restarts":0,"ready":false,"reason":"started"}` + "\n"
	if got != want {
		t.Errorf("events --since 1 db --json =\n%s\nwant\n%s", got, want)
	}
	if got := eventsOf(t, scan, EventsQuery{Since: 1, Names: []string{"db"}}); !strings.Contains(got, " #9 dropped 8 events\n") {
		t.Errorf("events --since 1 db =\n%s\nwant a line ending '#9 dropped 8 events'", got)
	}
}

func TestFormatEvent(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 55, 30, 123456789, time.Local)
	one, minus, zero := 1, -1, 0
	for _, c := range []struct {
		ev   events.Event
		want string
	}{
		{events.Event{Seq: 12, Time: at, Service: "web", From: "up", To: "backoff", Pid: 4242, ExitCode: &one, Restarts: 3, Reason: "crashed"},
			"2026-12-06 04:55:30.123 #12 web: up -> backoff (crashed), pid 4242, exit 1, restarts 3"},
		{events.Event{Seq: 13, Time: at, Service: "web", From: "stopping", To: "down", Pid: 4242, ExitCode: &minus, Signal: "SIGKILL", Expected: true, Reason: "stop-timeout"},
			"2026-12-06 04:55:30.123 #13 web: stopping -> down (stop-timeout), pid 4242, killed by SIGKILL (expected), restarts 0"},
		{events.Event{Seq: 14, Time: at, Service: "job", From: "up", To: "down", Pid: 7, ExitCode: &zero, Expected: true, Reason: "exited"},
			"2026-12-06 04:55:30.123 #14 job: up -> down (exited), pid 7, exit 0 (expected), restarts 0"},
		{events.Event{Seq: 15, Time: at, Service: "web/log", From: "backoff", To: "down", Restarts: 2, Reason: "down"},
			"2026-12-06 04:55:30.123 #15 web/log: backoff -> down (down), restarts 2"},
		{events.Event{Seq: 2047, Time: at, Dropped: 2046}, "2026-12-06 04:55:30.123 #2047 dropped 2046 events"},
		{events.Event{Seq: 3, Time: at, Dropped: 1}, "2026-12-06 04:55:30.123 #3 dropped 1 event"},
	} {
		if got := FormatEvent(c.ev); got != c.want {
			t.Errorf("FormatEvent(%+v) =\n%s\nwant\n%s", c.ev, got, c.want)
		}
	}
}

func TestEventsNoStream(t *testing.T) {
	scan := t.TempDir() // no sv-scan ran here
	if got := eventsOf(t, scan, EventsQuery{}); got != "" {
		t.Errorf("events of a scan dir with no stream = %q, want nothing", got)
	}
	err := Events(context.Background(), filepath.Join(scan, "nope"), EventsQuery{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "nope: no such scan dir") {
		t.Errorf("events of no scan dir: %v, want 'no such scan dir'", err)
	}
}

// lineReader hands the lines written to it, one by one, to the test.
func lineReader(t *testing.T) (io.Writer, func() string) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pr.Close() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return pw, func() string {
		t.Helper()
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no line written within 10s")
			return ""
		}
	}
}

func TestEventsFollow(t *testing.T) {
	scan, w := scanDirWith(t, story[:2]...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, next := lineReader(t)
	done := make(chan error, 1)
	go func() { done <- Events(ctx, scan, EventsQuery{Follow: true, Names: []string{"web"}}, out) }()
	if got := next(); !strings.HasSuffix(got, " #1 web: down -> starting (started), pid 10, restarts 0") {
		t.Errorf("events --follow web printed first %q, want event 1", got)
	}
	w.Append(story[2])
	w.Append(story[3])
	if got := next(); !strings.HasSuffix(got, " #3 web: starting -> up (ready), pid 10, restarts 0") {
		t.Errorf("events --follow web printed then %q, want event 3 (and not web/log's 2)", got)
	}
	w.Append(story[0])
	if got := next(); !strings.Contains(got, " #5 web:") {
		t.Errorf("events --follow web printed then %q, want event 5 (and not db's 4)", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("events --follow ended with %v, want nil once interrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events --follow still running 10s after it was interrupted")
	}
}

func TestCheckEventName(t *testing.T) {
	for _, ok := range []string{"web", "web/log", "getty@tty1", "getty@tty1/log", "a.b_c-d"} {
		if err := CheckEventName(ok); err != nil {
			t.Errorf("CheckEventName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "/log", "web/", "web/x", "web/log/log", "../web", "web log", "log/web"} {
		if err := CheckEventName(bad); err == nil {
			t.Errorf("CheckEventName(%q) = nil, want an error", bad)
		}
	}
}

// FuzzCheckEventName: a name accepted is a service's, or its logger's.
func FuzzCheckEventName(f *testing.F) {
	for _, s := range []string{"web", "web/log", "getty@tty1/log", "web/x", "", "/log"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckEventName(name) != nil {
			return
		}
		svc, _ := strings.CutSuffix(name, "/log")
		if svc == "" || strings.ContainsAny(svc, "/ \t\n\x00") {
			t.Fatalf("CheckEventName accepted %q", name)
		}
	})
}
