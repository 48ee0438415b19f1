package backend

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/svdir"
)

func TestS6FifoName(t *testing.T) {
	name := s6FifoName(time.Unix(1700000000, 5))
	// s6-supervise writes only to FIFOs named "ftrig1:@" + 33 characters
	// more (src/libs6/ftrigw_notifyb_nosig.c).
	if !strings.HasPrefix(name, "ftrig1:@") || len(name) != len("ftrig1")+33 {
		t.Fatalf("s6FifoName = %q: not a name s6-supervise notifies", name)
	}
	if !strings.HasPrefix(name, "ftrig1:@400000006553f10a00000005:") {
		t.Fatalf("s6FifoName = %q: the time is not TAI64N in hex", name)
	}
}

// s6-supervise, told to exit, writes to a listener's FIFO; the write shows
// as an inotify event that svdir.FifodirEvents recognises, and the listener's FIFO
// goes with stop.
func TestS6ListenSeesSupervisorExit(t *testing.T) {
	supervise, err := lookPathS6("s6-supervise")
	if err != nil {
		if os.Getenv("SV_TEST_REQUIRE_PEERS") == "1" {
			t.Fatalf("s6-supervise: %v, and SV_TEST_REQUIRE_PEERS=1", err)
		}
		t.Skip("s6 is not installed")
	}
	dir := filepath.Join(t.TempDir(), "svc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A service kept down: nothing but the supervisor runs.
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexec sleep 100000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "down"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(supervise, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitUntil(ctx, dir, nil, func([]byte) bool { return true }, func() (bool, error) {
		_, err := os.Stat(filepath.Join(dir, "event"))
		return err == nil && controlFIFOReady(filepath.Join(dir, "supervise", "control")), nil
	}); err != nil {
		t.Fatalf("s6-supervise did not make its event directory and control FIFO: %v", err)
	}

	eventDir, stop := s6{}.listenExit(dir)
	if eventDir == "" {
		t.Fatal("listenExit made no FIFO in the event directory")
	}
	w, err := inotify.New()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(eventDir, unix.IN_CLOSE_WRITE); err != nil {
		t.Fatal(err)
	}
	if err := writeControlFIFO(filepath.Join(dir, "supervise", "control"), "x"); err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		ev, err := w.Next(ctx, -1)
		if err != nil {
			t.Fatalf("no write to the listener's FIFO as s6-supervise exited: %v", err)
		}
		seen = svdir.FifodirEvents(ev)
	}
	stop()
	ents, _ := os.ReadDir(eventDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "ftrig1:") || strings.HasPrefix(e.Name(), ".ftrig1:") {
			t.Errorf("%s left in the event directory after stop", e.Name())
		}
	}
}
