package backend

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// startChild starts argv and ends it (by its pid) when the test ends.
func startChild(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func TestWaitBrief(t *testing.T) {
	cmd := startChild(t, "sleep", "100")
	end := openExit(cmd.Process.Pid)
	if end == nil {
		t.Skip("no pidfd on this kernel")
	}
	defer end.close()
	if end.waitBrief(time.Millisecond) {
		t.Fatal("waitBrief says a running process ended")
	}
	cmd.Process.Kill()
	// Ended (a zombie until reaped is ended): true, long before the bound.
	if !end.waitBrief(5 * time.Second) {
		t.Fatal("waitBrief does not see the process end")
	}
}

// A settle waits with raw system calls, which Go's scheduler does not see;
// a start interrupted meanwhile (its context ended, as SIGTERM from OpenRC
// does) must still end the settle, here with a single processor and a
// daemon that never waits for anything (it would settle as busy after a
// second of CPU).
func TestSettleEndsWhenInterrupted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cmd := startChild(t, "sh", "-c", "while :; do :; done")
	if end := openExit(cmd.Process.Pid); end == nil {
		t.Skip("no pidfd on this kernel")
	} else {
		end.close()
	}
	w := &watch{svc: Service{Name: "busy"}, pid: cmd.Process.Pid, execAt: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := w.settle(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("settle of a busy daemon, interrupted after 50ms: %v, want %v", err, context.Canceled)
	}
}
