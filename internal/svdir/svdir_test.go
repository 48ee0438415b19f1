package svdir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/safefile"
)

func TestSupervised(t *testing.T) {
	dir := t.TempDir()
	if ok, err := Supervised(dir); ok || err != nil {
		t.Fatalf("no supervise dir: %v %v", ok, err)
	}
	os.Mkdir(filepath.Join(dir, "supervise"), 0o755)
	fifo := filepath.Join(dir, "supervise", "ok")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := Supervised(dir); ok || err != nil {
		t.Fatalf("FIFO without reader: %v %v", ok, err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ok, err := Supervised(dir); !ok || err != nil {
		t.Fatalf("FIFO with a reader: %v %v", ok, err)
	}
}

func TestAcquire(t *testing.T) {
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	os.Mkdir(svc, 0o755)
	// a dangling link to the run dir, as sv-gen makes it
	os.Symlink(filepath.Join(dir, "run", "svc"), filepath.Join(svc, "supervise"))
	os.Mkdir(filepath.Join(dir, "run"), 0o755)
	s, err := Acquire(filepath.Join(svc, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Supervised(svc); !ok || err != nil {
		t.Fatalf("Supervised: %v %v", ok, err)
	}
	if _, err := Acquire(filepath.Join(svc, "supervise")); !errors.Is(err, ErrLocked) {
		t.Errorf("second Acquire: %v", err)
	}
	if err := SendControl(svc, "du"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if n, err := s.Control.Read(buf); n != 2 || string(buf) != "du" || err != nil {
		t.Errorf("control read %q %v", buf[:n], err)
	}
	st := Status{Since: time.Unix(1700000000, 0), Pid: 42, WantUp: true, State: StateRun}
	if err := s.WriteStatus(st, false); err != nil {
		t.Fatal(err)
	}
	if d, err := ReadStatus(filepath.Join(svc, "supervise")); err != nil || d.Pid != 42 {
		t.Errorf("ReadStatus %+v %v", d, err)
	}
	for file, want := range map[string]string{"pid": "42\n", "stat": "run\n"} {
		if b, _ := os.ReadFile(filepath.Join(dir, "run", "svc", file)); string(b) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
	if err := s.WriteState(&State{Service: "svc", Phase: PhaseUp, Ready: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadState(filepath.Join(svc, "supervise")); err != nil || got.Phase != PhaseUp || !got.Ready {
		t.Errorf("ReadState %+v %v", got, err)
	}
	s.Close()
	if ok, _ := Supervised(svc); ok {
		t.Error("still supervised after Close")
	}
	if err := SendControl(svc, "u"); !errors.Is(err, ErrNotSupervised) {
		t.Errorf("SendControl without supervisor: %v", err)
	}
	s2, err := Acquire(filepath.Join(svc, "supervise"))
	if err != nil {
		t.Fatalf("Acquire after Close: %v", err)
	}
	s2.Close()
}

// inotifyEvent encodes one event as the kernel does, name padded with NULs.
func inotifyEvent(mask uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 1 + 15) / 16 * 16
	}
	b := make([]byte, unix.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(n))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestStatusEvents(t *testing.T) {
	cat := func(evs ...[]byte) []byte { return bytes.Join(evs, nil) }
	for _, c := range []struct {
		name string
		buf  []byte
		want bool
	}{
		{"status replaced", inotifyEvent(unix.IN_MOVED_TO, "status"), true},
		{"state.json replaced", inotifyEvent(unix.IN_MOVED_TO, StateFile), true},
		{"exec marked", inotifyEvent(unix.IN_MOVED_TO, ExecFile), true},
		{"exec marked first", inotifyEvent(unix.IN_CREATE, ExecFile), true},
		{"ok opened by a client", inotifyEvent(unix.IN_CLOSE_WRITE, "ok"), false},
		{"control, then status", cat(inotifyEvent(unix.IN_CLOSE_WRITE, "control"), inotifyEvent(unix.IN_MOVED_TO, "status")), true},
		{"temp files only", cat(inotifyEvent(unix.IN_CREATE, "status.new"), inotifyEvent(unix.IN_CLOSE_WRITE, "status.new")), false},
		{"supervise dir created", inotifyEvent(unix.IN_CREATE|unix.IN_ISDIR, "web"), true},
		{"the watched dir itself", inotifyEvent(unix.IN_DELETE_SELF, ""), true},
		{"cut short", inotifyEvent(unix.IN_CLOSE_WRITE, "ok")[:unix.SizeofInotifyEvent+2], true},
		{"empty", nil, false},
	} {
		if got := StatusEvents(c.buf); got != c.want {
			t.Errorf("%s: StatusEvents = %v, want %v", c.name, got, c.want)
		}
	}
}

// The exec mark names the daemon's pid and is replaced by the next one.
func TestExecMark(t *testing.T) {
	dir := t.TempDir()
	if Execed(dir, 42) {
		t.Fatal("Execed before any mark")
	}
	for _, pid := range []int{42, 43} {
		if err := MarkExec(dir, pid); err != nil {
			t.Fatal(err)
		}
		if !Execed(dir, pid) || Execed(dir, pid-1) {
			t.Errorf("after MarkExec(%d): Execed(%d) = %v, Execed(%d) = %v", pid, pid, Execed(dir, pid), pid-1, Execed(dir, pid-1))
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in the supervise dir; want the mark alone", len(ents))
	}
}

// The supervisor marks the exec relative to the directory it holds, as
// sv-exec does by path; no temporary file is left.
func TestSuperviseMarkExec(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "supervise")
	s, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, pid := range []int{42, 43} {
		if err := s.MarkExec(pid); err != nil {
			t.Fatal(err)
		}
		if !Execed(dir, pid) || Execed(dir, pid-1) {
			t.Errorf("after MarkExec(%d): Execed(%d) = %v, Execed(%d) = %v", pid, pid, Execed(dir, pid), pid-1, Execed(dir, pid-1))
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, ExecFile+".new")); err == nil {
		t.Error("the temporary mark was left")
	}
}

func FuzzStatusEvents(f *testing.F) {
	f.Add(inotifyEvent(unix.IN_MOVED_TO, "status"))
	f.Add(inotifyEvent(unix.IN_CLOSE_WRITE, "ok"))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, buf []byte) {
		StatusEvents(buf) // must not panic or read past the buffer
	})
}

func TestSupervisorEvents(t *testing.T) {
	if !SupervisorEvents(inotifyEvent(unix.IN_CLOSE_NOWRITE, "ok")) {
		t.Error("a supervisor closing ok must wake")
	}
	if SupervisorEvents(inotifyEvent(unix.IN_CLOSE_WRITE, "ok")) {
		t.Error("a client's own open of ok must not wake")
	}
	if !SupervisorEvents(inotifyEvent(unix.IN_MOVED_TO, "status")) {
		t.Error("a new status must wake")
	}
}

// A status file, state.json or lock that is a FIFO (with no writer), or
// /dev/zero, is refused at once: sv-ctl status and sv-scan's take-up must
// not hang or run out of memory on them.
func TestStateFilesNotRegular(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{StateFile, "status", "lock"} {
		if err := unix.Mkfifo(filepath.Join(dir, name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	zero := t.TempDir()
	for _, name := range []string{StateFile, "status"} {
		if err := os.Symlink("/dev/zero", filepath.Join(zero, name)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, d := range []string{dir, zero} {
			if _, err := ReadState(d); !errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("ReadState(%s) = %v, want a refusal", d, err)
			}
			if _, err := ReadStatus(d); !errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("ReadStatus(%s) = %v, want a refusal", d, err)
			}
		}
		if locked, err := WriteLocked(filepath.Join(dir, "lock")); locked {
			t.Errorf("WriteLocked(FIFO) = true, %v", err)
		}
		if _, err := Acquire(dir); err == nil {
			t.Errorf("Acquire with a FIFO for lock succeeded")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO status file did not return within 10s")
	}
}
