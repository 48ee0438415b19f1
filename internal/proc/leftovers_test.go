package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// statWithFlags is a /proc/PID/stat line with the given PF_* flags.
func statWithFlags(pid, ppid int, comm string, flags uint64) string {
	return fmt.Sprintf("%d (%s) S %d 0 0 0 -1 %d 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 rest\n", pid, comm, ppid, flags)
}

// A machine's /proc after stage 3: PID 1, kthreadd and its kernel
// threads, and a getty nobody stopped. Only the getty is left to end;
// with no getty, nothing is, though kill(-1, 0) would still find the
// kernel's threads.
func TestLeftovers(t *testing.T) {
	dir := t.TempDir()
	write := func(pid int, line string) {
		d := filepath.Join(dir, fmt.Sprint(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(1, statWithFlags(1, 0, "init", 0x400100))
	write(2, statWithFlags(2, 0, "kthreadd", 0x208040))        // PF_KTHREAD
	write(15, statWithFlags(15, 2, "kworker/0:1H", 0x4208060)) // PF_KTHREAD|PF_WQ_WORKER
	write(80, statWithFlags(80, 2, "ksoftirqd/0", 0x4208040))
	for _, name := range []string{"self", "sys", "net"} { // not processes
		os.MkdirAll(filepath.Join(dir, name), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "uptime"), []byte("1.0 1.0\n"), 0o644)

	left, err := Leftovers(dir)
	if err != nil || len(left) != 0 {
		t.Fatalf("kernel threads only: %v, %v; want none left", left, err)
	}

	write(312, statWithFlags(312, 1, "getty", 0x400100))
	write(400, statWithFlags(400, 312, "a (weird) name", 0x400000))
	os.MkdirAll(filepath.Join(dir, "401"), 0o755) // ended while the directory was read: no stat
	left, err = Leftovers(dir)
	want := []Leftover{{312, "getty"}, {400, "a (weird) name"}}
	if err != nil || !reflect.DeepEqual(left, want) {
		t.Fatalf("got %v, %v; want %v", left, err, want)
	}
	if s := JoinLeftovers(want, 1); s != "312 (getty), and 1 more" {
		t.Errorf("JoinLeftovers: %q", s)
	}

	// one stat that cannot be read is counted, and spoils nothing else
	write(500, "garbage")
	left, err = Leftovers(dir)
	if err != nil || len(left) != 3 || left[2].Pid != 500 || !strings.HasPrefix(left[2].Comm, "stat: ") {
		t.Errorf("a malformed stat: %v, %v", left, err)
	}
	if _, err := Leftovers(filepath.Join(dir, "none")); err == nil {
		t.Error("no /proc: no error")
	}
}

// This process and its parent are user processes on the machine's /proc.
func TestLeftoversHere(t *testing.T) {
	left, err := Leftovers("/proc")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range left {
		found = found || l.Pid == os.Getpid()
	}
	if !found && os.Getpid() != 1 {
		t.Errorf("this process (%d) is not among %v", os.Getpid(), left)
	}
}
