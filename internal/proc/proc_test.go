package proc

import (
	"fmt"
	"github.com/supervision-suite/supervision/internal/poller"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	reaperOnce sync.Once
	reaper     *Reaper
	orphanMu   sync.Mutex
	orphanSeen = map[int]Exit{}
	orphanNew  = make(chan struct{}, 1)
)

// One reaper for the whole test process, as in a real one. Orphans are
// recorded by pid, so that each test waits for its own.
func testReaper(t *testing.T) *Reaper {
	t.Helper()
	reaperOnce.Do(func() {
		pl, err := poller.New()
		if err != nil {
			t.Fatal(err)
		}
		reaper, err = NewReaper(func(e Exit) {
			orphanMu.Lock()
			orphanSeen[e.Pid] = e
			orphanMu.Unlock()
			select {
			case orphanNew <- struct{}{}:
			default:
			}
		}, pl)
		if err != nil {
			t.Fatal(err)
		}
	})
	return reaper
}

// waitOrphans waits until cond holds, woken by each orphan reaped.
func waitOrphans(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case <-orphanNew:
		case <-deadline:
			t.Fatalf("after 20s: %s", what)
		}
	}
}

func orphan(pid int) (Exit, bool) {
	orphanMu.Lock()
	defer orphanMu.Unlock()
	e, ok := orphanSeen[pid]
	return e, ok
}

func sh(script string) Spec {
	return Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", script}, CgroupFD: -1,
		Files: []*os.File{nil, os.Stderr, os.Stderr}}
}

func waitExit(t *testing.T, p *Process) Exit {
	t.Helper()
	select {
	case e := <-p.Exit:
		return e
	case <-time.After(20 * time.Second):
		t.Fatalf("pid %d: no exit after 20s", p.Pid)
		return Exit{}
	}
}

func TestStartAndExit(t *testing.T) {
	r := testReaper(t)
	p, err := r.Start(sh("exit 7"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Start == 0 {
		t.Error("no start time")
	}
	e := waitExit(t, p)
	if e.Pid != p.Pid || e.Code() != 7 || e.Signal() != 0 || e.String() != "exit 7" {
		t.Errorf("exit %+v %s", e, e)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal after exit: %v", err)
	}
	p.Release()

	p, _ = r.Start(sh("kill -TERM $$"))
	if e := waitExit(t, p); e.Code() != -1 || e.Signal() != syscall.SIGTERM || e.String() != "killed by SIGTERM" {
		t.Errorf("killed: %+v %s", e, e)
	}
}

// A child's exit is reaped through its pidfd even with no SIGCHLD: the
// quick path a restart takes.
func TestExitByPidfd(t *testing.T) {
	r := testReaper(t)
	signal.Stop(r.sigs)
	defer signal.Notify(r.sigs, syscall.SIGCHLD)
	p, err := r.Start(sh("exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, p); e.Code() != 3 {
		t.Errorf("exit %s, want exit 3", e)
	}
}

// Many children exiting at once: SIGCHLD signals merge, every exit must
// still reach its owner.
func TestManyExits(t *testing.T) {
	r := testReaper(t)
	var procs []*Process
	for i := 0; i < 200; i++ {
		p, err := r.Start(sh("exit 0"))
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		waitExit(t, p)
	}
}

// A child is a session leader; what it leaves behind when it exits is
// reaped here, as an orphan (we are a subreaper).
func TestSessionAndOrphans(t *testing.T) {
	r := testReaper(t)
	pidFile := t.TempDir() + "/pid"
	p, err := r.Start(sh("sleep 0.2 & echo $! > " + pidFile + "; exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, p)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	fmt.Sscan(string(data), &grandchild)
	waitOrphans(t, "the orphaned sleep was never reaped here", func() bool { _, ok := orphan(grandchild); return ok })
	if e, _ := orphan(grandchild); e.Code() != 0 {
		t.Errorf("orphan %+v", e)
	}
}

func TestSignalGroup(t *testing.T) {
	r := testReaper(t)
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	spec := sh("sleep 100 & sleep 100 & echo forked; wait")
	spec.Files[1] = wr
	p, err := r.Start(spec)
	wr.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(rd, buf); err != nil { // both sleeps exist now
		t.Fatal(err)
	}
	rd.Close()
	if !GroupAlive(p.Pid) {
		t.Fatal("group not alive")
	}
	if err := SignalGroup(p.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p)
	// The two sleeps, orphaned and killed, are reaped here as orphans; the
	// group is gone once both are (a zombie still counts as a member).
	waitOrphans(t, "killed group members were not reaped", func() bool { return !GroupAlive(p.Pid) })
	if err := SignalGroup(p.Pid, syscall.SIGTERM); err != nil {
		t.Errorf("signalling an empty group: %v", err)
	}
}

// A process that is not our child is adopted by pid and start time.
func TestAdopt(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	// Not through the reaper: exec.Cmd.Wait is used for this test only,
	// and the reaper must not see it, so give it no SIGCHLD-visible exit:
	// we kill it and let Wait collect it before the reaper loops.
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := StartTime(cmd.Process.Pid)
	r := testReaper(t)
	if _, err := r.Adopt(cmd.Process.Pid, start+1, nil); err != ErrNotSame {
		t.Errorf("wrong start time: %v", err)
	}
	a, err := r.Adopt(cmd.Process.Pid, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Signal(syscall.SIGKILL)
	e := waitExit(t, a)
	if !e.Unknown || e.Pid != cmd.Process.Pid {
		t.Errorf("adopted exit %+v", e)
	}
}

func TestUmaskIn(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   int
	}{
		{"Name:\tsv-scan\nUmask:\t0022\nState:\tS (sleeping)\n", 0o022},
		{"Umask:\t0777\n", 0o777},
		{"Umask:\t0\n", 0},
		{"Name:\tx\n", -1},     // a kernel before 4.7 has no Umask line
		{"Umask:\t1777\n", -1}, // not a umask
		{"Umask:\t0099\n", -1}, // not octal
		{"Umask:\n", -1},
	} {
		if got := umaskIn(tc.status); got != tc.want {
			t.Errorf("umaskIn(%q) = %#o, want %#o", tc.status, got, tc.want)
		}
	}
	if got := Umask(); got < 0 {
		t.Fatalf("Umask() = %d: this kernel's /proc/self/status has a Umask line", got)
	}
}

func FuzzUmaskIn(f *testing.F) {
	f.Add("Umask:\t0022\n")
	f.Add("Umask: 7\nUmask: 1\n")
	f.Fuzz(func(t *testing.T, status string) {
		if got := umaskIn(status); got < -1 || got > 0o777 {
			t.Fatalf("umaskIn(%q) = %d, outside -1..0777", status, got)
		}
	})
}

// With OnExit and a Poller, the exit comes to the callback, from the
// pidfd, with no goroutine waiting on it; the same for an adopted process.
func TestOnExit(t *testing.T) {
	r := testReaper(t)
	got := make(chan Exit, 2)
	p, err := r.Start(Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", "exit 7"}, CgroupFD: -1, OnExit: func(e Exit) { got <- e }})
	if err != nil {
		t.Fatal(err)
	}
	if p.Exit != nil {
		t.Error("Exit channel made although OnExit is set")
	}
	select {
	case e := <-got:
		if e.Pid != p.Pid || e.Code() != 7 {
			t.Errorf("exit %+v, want pid %d code 7", e, p.Pid)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit told in 10s")
	}

	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	a, err := r.Adopt(cmd.Process.Pid, StartTime(cmd.Process.Pid), func(e Exit) { got <- e })
	if err != nil {
		t.Fatal(err)
	}
	a.Signal(syscall.SIGKILL)
	select {
	case e := <-got:
		if !e.Unknown || e.Pid != cmd.Process.Pid {
			t.Errorf("adopted exit %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit of the adopted process told in 10s")
	}
}
