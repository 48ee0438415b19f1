package svdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
