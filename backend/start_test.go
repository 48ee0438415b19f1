package backend

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

func intp(n int) *int { return &n }

// A start's watch judges each status it sees; these are the cases that
// decide between "wait", "up" and "died".
func TestWatchCheck(t *testing.T) {
	t0 := time.Now().Add(-time.Minute)
	sent := t0.Add(30 * time.Second)
	self := os.Getpid() // a live process, for the supervisors whose pid is checked
	other := livePid(t) // another one, for a restart
	down := svctl.Info{State: svdir.PhaseDown, Want: "down", Since: t0, Supervisor: "runit"}
	cases := []struct {
		name    string
		before  svctl.Info
		seen    []svctl.Info
		wantPid int
		died    string // substring of the reason; "" for no failure
	}{
		{name: "not acted on yet", before: down, seen: []svctl.Info{down}},
		{name: "up", before: down,
			seen:    []svctl.Info{{State: svdir.PhaseUp, Want: "up", Pid: self, Since: sent.Add(time.Millisecond), Supervisor: "runit"}},
			wantPid: self},
		{name: "runsv says want up an instant before it starts", before: down,
			seen: []svctl.Info{{State: svdir.PhaseDown, Want: "up", Since: t0.Add(time.Second), Supervisor: "runit"}}},
		{name: "died after u", before: down,
			seen: []svctl.Info{{State: svdir.PhaseDown, Want: "up", Since: sent.Add(time.Second), Supervisor: "runit"}},
			died: "stopped at once"},
		{name: "restarted with a new pid", before: down,
			seen: []svctl.Info{
				{State: svdir.PhaseUp, Want: "up", Pid: self, Since: sent.Add(time.Millisecond), Supervisor: "runit"},
				{State: svdir.PhaseUp, Want: "up", Pid: other, Since: sent.Add(time.Second), Supervisor: "runit"}},
			wantPid: self, died: "restarted as pid"},
		{name: "sv-scan counts a restart", before: svctl.Info{State: svdir.PhaseDown, Want: "down", Since: t0, Restarts: intp(0), Supervisor: "sv-scan"},
			seen: []svctl.Info{{State: svdir.PhaseUp, Want: "up", Pid: self, Since: sent.Add(time.Second), Restarts: intp(1), Supervisor: "sv-scan",
				LastExit: &svdir.Exit{Code: 3, Uptime: 0.02}}},
			died: "exited (exit 3) after 0.02s"},
		{name: "taken down by someone else once seen up", before: down,
			seen: []svctl.Info{
				{State: svdir.PhaseUp, Want: "up", Pid: self, Since: sent.Add(time.Millisecond), Supervisor: "runit"},
				{State: svdir.PhaseDown, Want: "down", Since: sent.Add(time.Second), Supervisor: "runit"}},
			wantPid: self, died: "taken down before it was up"},
		{name: "given up", before: down,
			seen: []svctl.Info{{State: "fatal", Want: "up", Since: sent.Add(time.Second), Fatal: "3 restarts within 1m0s"}},
			died: "gave up: 3 restarts"},
		{name: "a dead pid the supervisor has not reaped", before: down,
			seen: []svctl.Info{{State: svdir.PhaseUp, Want: "up", Pid: deadPid(t), Since: sent.Add(time.Millisecond), Supervisor: "daemontools"}},
			died: "stopped at once (pid"},
	}
	for _, c := range cases {
		w := &watch{svc: Service{Name: "x"}, before: c.before, sent: sent}
		var err error
		for _, info := range c.seen {
			if err = w.check(info); err != nil {
				break
			}
		}
		switch {
		case c.died == "" && err != nil:
			t.Errorf("%s: died: %v", c.name, err)
		case c.died != "" && (err == nil || !strings.Contains(err.Error(), c.died)):
			t.Errorf("%s: err = %v, want one saying %q", c.name, err, c.died)
		}
		if c.wantPid != 0 && w.pid != c.wantPid {
			t.Errorf("%s: pid = %d, want %d", c.name, w.pid, c.wantPid)
		}
	}
}

// livePid is the pid of a process that runs until the test ends.
func livePid(t *testing.T) int {
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "100000"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p.Pid
}

// deadPid is the pid of a process that has ended and been reaped.
func deadPid(t *testing.T) int {
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	return p.Pid
}

func TestLinkAndMarkDown(t *testing.T) {
	dir := t.TempDir()
	scan, svc := filepath.Join(dir, "scan"), filepath.Join(dir, "sv", "web")
	os.MkdirAll(scan, 0o755)
	os.MkdirAll(svc, 0o755)
	if err := MarkDown(svc); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(svc, "down")); err != nil {
		t.Fatalf("no down file: %v", err)
	}
	if err := Link(scan, "web", svc); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(filepath.Join(scan, "web")); got != svc {
		t.Fatalf("link -> %q, want %q", got, svc)
	}
	// relinking elsewhere replaces it atomically; unlinking twice is fine
	other := filepath.Join(dir, "sv", "web2")
	if err := Link(scan, "web", other); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(filepath.Join(scan, "web")); got != other {
		t.Fatalf("link -> %q, want %q", got, other)
	}
	for range 2 {
		if err := Unlink(scan, "web"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGet(t *testing.T) {
	for _, n := range Names() {
		s, err := Get(n)
		if err != nil || s.Name() != n {
			t.Errorf("Get(%q) = %v, %v", n, s, err)
		}
	}
	if _, err := Get("systemd"); err == nil || !strings.Contains(err.Error(), "builtin") {
		t.Errorf("Get(systemd): %v, want an error listing the backends", err)
	}
}

// A scanner that answers (its control FIFO has a reader) but leaves before
// it takes the service up fails the start at once, long before the
// take-up wait ends, with a reason that says so.
func TestStartScannerGone(t *testing.T) {
	dir := t.TempDir()
	scan, svc := filepath.Join(dir, "scan"), filepath.Join(dir, "sv", "web")
	for _, d := range []string{filepath.Join(scan, ".sv-scan"), svc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := filepath.Join(scan, ".sv-scan", "control")
	if err := unix.Mkfifo(control, 0o600); err != nil {
		t.Fatal(err)
	}
	scanner, err := os.OpenFile(control, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	sup, _ := Get("builtin")
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- Start(context.Background(), sup, Service{Name: "web", Dir: svc, ScanDir: scan}) }()
	// The rescan reaches the "scanner": the start is waiting now.
	buf := make([]byte, 1)
	if _, err := scanner.Read(buf); err != nil || buf[0] != 'a' {
		t.Fatalf("scanner read %q, %v; want a", buf, err)
	}
	scanner.Close()
	select {
	case err := <-done:
		var f *Failure
		if !errors.As(err, &f) || !strings.Contains(f.Reason, "stopped answering") {
			t.Fatalf("Start: %v, want a failure saying the scanner stopped answering", err)
		}
		if took := time.Since(start); took >= TakeUpWait {
			t.Fatalf("Start took %s: it waited out the take-up bound", took)
		}
	case <-time.After(TakeUpWait):
		t.Fatalf("Start still waits %s after the scanner left", TakeUpWait)
	}
}

// A failure quotes the log's last lines; an empty log has none to quote
// (not one empty line under "last lines of its log:").
func TestTailOfTheLog(t *testing.T) {
	dir := t.TempDir()
	current := filepath.Join(dir, "current")
	if err := os.WriteFile(current, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tail(dir, 5); got != nil {
		t.Errorf("empty log: got %q, want no lines", got)
	}
	if err := os.WriteFile(current, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tail(dir, 2); len(got) != 2 || got[0] != "two" || got[1] != "three" {
		t.Errorf("got %q, want the last two lines", got)
	}
	if got := tail("", 5); got != nil {
		t.Errorf("no log dir: got %q", got)
	}
}
