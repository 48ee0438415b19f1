package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statLine is a /proc/PID/stat line with the fields this package reads.
func statLine(pid int, comm string, state byte, utime, stime, start uint64) string {
	// fields 4-13, then utime stime, 16-21, starttime, and a few more
	return fmt.Sprintf("%d (%s) %c 1 %d %d 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 1 0 %d 1000 100 rest\n",
		pid, comm, state, pid, pid, utime, stime, start)
}

func TestParseStat(t *testing.T) {
	st, err := ParseStat([]byte(statLine(42, "a (weird) name", 'S', 3, 4, 12345)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stat{Comm: "a (weird) name", State: 'S', Utime: 3, Stime: 4, Start: 12345, Flags: 4194560}); st != want {
		t.Fatalf("got %+v, want %+v", st, want)
	}
	for _, bad := range []string{"", "42 no parens", "42 x) S " + strings.Repeat("1 ", 30), "42 (x) S 1 2", "42 (x) SS " + strings.Repeat("1 ", 30), "42 (x) S " + strings.Repeat("x ", 30)} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q): no error", bad)
		}
	}
	// This process's own line parses, and tells the same start time as StartTime.
	self, err := readStat("/proc/self/stat")
	if err != nil || self.Start == 0 || self.Start != StartTime(os.Getpid()) {
		t.Fatalf("own stat: %+v, %v; StartTime says %d", self, err, StartTime(os.Getpid()))
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(1, "init", 'S', 1, 2, 3)))
	f.Add([]byte("1 ((a)) R"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStat(data)
		if err == nil && st.State == 0 {
			t.Fatalf("parsed %q with no state", data)
		}
	})
}

// fakeProc builds a /proc of processes: each has its stat (one thread,
// the process itself) and its children.
type fakeProc struct {
	root string
	t    *testing.T
}

func newFakeProc(t *testing.T) fakeProc {
	p := fakeProc{root: t.TempDir(), t: t}
	os.MkdirAll(filepath.Join(p.root, "self"), 0o755)
	return p
}

func (p fakeProc) add(pid int, state byte, ticks uint64, children ...int) {
	p.addNamed(pid, "d", state, ticks, children...)
}

func (p fakeProc) addNamed(pid int, comm string, state byte, ticks uint64, children ...int) {
	line := statLine(pid, comm, state, ticks, 0, 1)
	task := filepath.Join(p.root, fmt.Sprint(pid), "task", fmt.Sprint(pid))
	if err := os.MkdirAll(task, 0o755); err != nil {
		p.t.Fatal(err)
	}
	var kids []string
	for _, c := range children {
		kids = append(kids, fmt.Sprint(c))
	}
	for path, data := range map[string]string{
		filepath.Join(p.root, fmt.Sprint(pid), "stat"): line,
		filepath.Join(task, "stat"):                    line,
		filepath.Join(task, "children"):                strings.Join(kids, " "),
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

func TestSettle(t *testing.T) {
	const cpu = 20 * time.Millisecond // 2 ticks
	cases := []struct {
		name        string
		first, then func(p fakeProc) // the tree at the first look, and at the second
		want1       bool
		want2       bool
	}{
		{name: "sleeping", first: func(p fakeProc) { p.add(10, 'S', 0) }, want1: true, want2: true},
		{name: "runnable, never gets the CPU", first: func(p fakeProc) { p.add(10, 'R', 0) }},
		{name: "runnable, with CPU from before its exec", first: func(p fakeProc) { p.add(10, 'R', 50) }},
		{name: "runnable, then busy for 2 ticks", first: func(p fakeProc) { p.add(10, 'R', 50) },
			then: func(p fakeProc) { p.add(10, 'R', 52) }, want2: true},
		{name: "runnable, then 1 tick only", first: func(p fakeProc) { p.add(10, 'R', 50) },
			then: func(p fakeProc) { p.add(10, 'R', 51) }},
		{name: "runnable, then sleeps", first: func(p fakeProc) { p.add(10, 'R', 0) },
			then: func(p fakeProc) { p.add(10, 'S', 0) }, want2: true},
		{name: "in disk wait", first: func(p fakeProc) { p.add(10, 'D', 0) }},
		{name: "a zombie", first: func(p fakeProc) { p.add(10, 'Z', 0) }},
		{name: "gone", first: func(p fakeProc) {}},
		{name: "waits, a child runnable", first: func(p fakeProc) { p.add(10, 'S', 0, 11); p.add(11, 'R', 0) }},
		{name: "waits, a grandchild runnable", first: func(p fakeProc) { p.add(10, 'S', 0, 11); p.add(11, 'S', 0, 12); p.add(12, 'R', 0) }},
		{name: "waits, a busy child", first: func(p fakeProc) { p.add(10, 'S', 0, 11); p.add(11, 'R', 0) },
			then: func(p fakeProc) { p.add(11, 'R', 7) }, want2: true},
		{name: "waits, children wait", first: func(p fakeProc) { p.add(10, 'S', 0, 11, 12); p.add(11, 'T', 0); p.add(12, 'S', 0) }, want1: true, want2: true},
		{name: "a child ended meanwhile", first: func(p fakeProc) { p.add(10, 'S', 0, 11) }, want1: true, want2: true},
		{name: "sv-exec waits, then execs the daemon, which waits", first: func(p fakeProc) { p.addNamed(10, "sv-exec", 'S', 0) },
			then: func(p fakeProc) { p.addNamed(10, "d", 'S', 0) }, want2: true},
	}
	for _, c := range cases {
		p := newFakeProc(t)
		c.first(p)
		s := &Settle{Before: "sv-exec", procfs: p.root, pid: 10, base: map[int]uint64{}}
		if got := s.Done(cpu); got != c.want1 {
			t.Errorf("%s: first look: settled = %v, want %v", c.name, got, c.want1)
		}
		if c.then != nil {
			c.then(p)
		}
		if got := s.Done(cpu); got != c.want2 {
			t.Errorf("%s: second look: settled = %v, want %v", c.name, got, c.want2)
		}
	}
	// No /proc at all: nothing to learn, it counts as settled.
	s := &Settle{procfs: filepath.Join(t.TempDir(), "none"), pid: 10, base: map[int]uint64{}}
	if !s.Done(cpu) {
		t.Error("no /proc: not settled")
	}
}

// A real daemon that waits (sleep) has settled; the process that asks is
// running, and has not used an hour of CPU since.
func TestSettleReal(t *testing.T) {
	settledSleep(t)
	self := NewSettle(os.Getpid())
	for range 2 {
		if self.Done(time.Hour) {
			t.Error("this running test counts as settled")
		}
	}
}

// settledSleep starts a sleep, ended when the test ends, and returns its
// Settle once it has settled (at most 10s).
func settledSleep(tb testing.TB) *Settle {
	tb.Helper()
	cmd := exec.Command("sleep", "100000")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := NewSettle(cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for !s.Done(time.Hour) {
		if time.Now().After(deadline) {
			tb.Fatal("sleep has not settled after 10s")
		}
		time.Sleep(time.Millisecond) // polling /proc: there is no event for "went to sleep"
	}
	return s
}
