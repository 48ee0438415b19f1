package backend

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svdir"
)

// interruptedReason is what an interrupted start says, and all it says.
const interruptedReason = "interrupted before it was up, ready and settled"

// fakeScan is a scan dir whose scanner is the test: its control FIFO is
// held open for reading, and what sv-rc writes there comes on letters.
type fakeScan struct {
	scan, svc string
	control   *os.File
}

func newFakeScan(t *testing.T) *fakeScan {
	t.Helper()
	dir := t.TempDir()
	f := &fakeScan{scan: filepath.Join(dir, "scan"), svc: filepath.Join(dir, "sv", "web")}
	for _, d := range []string{filepath.Join(f.scan, ".sv-scan"), f.svc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := filepath.Join(f.scan, ".sv-scan", "control")
	if err := unix.Mkfifo(control, 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.control, err = os.OpenFile(control, os.O_RDWR, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.control.Close() })
	return f
}

// awaitRescan returns once the start has asked the scanner to look: it
// has linked the service and is waiting for the take-up.
func (f *fakeScan) awaitRescan(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1)
	if _, err := f.control.Read(buf); err != nil || buf[0] != 'a' {
		t.Fatalf("scanner read %q, %v; want a", buf, err)
	}
}

// leftSupervised gives the service the supervise dir an earlier
// supervisor left (its FIFOs there, no one holding them): a start then
// queues `u` in the control FIFO and waits for ok's reader.
func (f *fakeScan) leftSupervised(t *testing.T) {
	t.Helper()
	sv, err := svdir.Acquire(filepath.Join(f.svc, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	sv.Close()
}

func (f *fakeScan) service() Service {
	return Service{Name: "web", Dir: f.svc, ScanDir: f.scan,
		ReadyWanted: true, ReadyTimeout: time.Minute, StopTimeout: 5 * time.Second}
}

func (f *fakeScan) start(ctx context.Context) <-chan error {
	sup, _ := Get("builtin")
	done := make(chan error, 1)
	go func() { done <- Start(ctx, sup, f.service()) }()
	return done
}

// wantInterrupted waits for the start's end, which must be the plain
// interrupted failure, with the service out of the scan dir.
func (f *fakeScan) wantInterrupted(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		var fl *Failure
		if !errors.As(err, &fl) || fl.Reason != interruptedReason {
			t.Fatalf("Start: %v; want the failure %q", err, interruptedReason)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start still runs 30s after it was interrupted")
	}
	if _, err := os.Lstat(filepath.Join(f.scan, "web")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link is still in the scan dir: %v", err)
	}
}

// A start interrupted while the scanner has yet to take the service up
// ends as any interrupted start does, with the link taken out, and the
// `u` it queued for the supervisor to come is taken back: a take-up
// after the start gave up starts nothing.
func TestStartInterruptedBeforeTakeUp(t *testing.T) {
	f := newFakeScan(t)
	f.leftSupervised(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := f.start(ctx)
	f.awaitRescan(t)
	cancel()
	f.wantInterrupted(t, done)
	// The scanner takes the service up now, late: nothing waits for it.
	sv, err := svdir.Acquire(filepath.Join(f.svc, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	rc, err := sv.Control.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n := 0
	rc.Read(func(fd uintptr) bool {
		n, _ = unix.Read(int(fd), buf) // non-blocking: nothing there is EAGAIN
		return true
	})
	if n > 0 {
		t.Errorf("a late supervisor reads %q from the control FIFO: it would start the daemon", buf[:n])
	}
}

// A start interrupted once its supervisor has taken the service up and
// started the daemon, but before that supervisor wrote its first status
// (sv-scan acts on a `u` already queued before its first status), stops
// it all the same: the stop waits for the status under way instead of
// failing with "no status yet" and leaving the daemon running.
func TestStartInterruptedBeforeFirstStatus(t *testing.T) {
	f := newFakeScan(t)
	f.leftSupervised(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := f.start(ctx)
	f.awaitRescan(t)
	sv, err := svdir.Acquire(filepath.Join(f.svc, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	daemon := make(chan *exec.Cmd, 1)
	letters := make(chan string, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		letters <- superviseLate(sv, daemon)
	}()
	var cmd *exec.Cmd
	t.Cleanup(func() {
		if cmd != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		sv.Control.Close() // ends the supervisor's read, if it still reads
		<-finished
		sv.Close()
		if cmd != nil && cmd.ProcessState == nil {
			cmd.Wait()
		}
	})
	select {
	case cmd = <-daemon: // up, with no status written yet
	case got := <-letters:
		t.Fatalf("the supervisor read %q and ended before it started the daemon", got)
	}
	cancel()
	f.wantInterrupted(t, done)
	select {
	case got := <-letters:
		if got != "ud" && got != "udd" {
			t.Errorf("the supervisor read %q, want u, then d (once or twice), then x", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor was never told to exit")
	}
	<-finished
	if cmd.ProcessState == nil {
		t.Error("the daemon still runs")
	}
}

// superviseLate plays a supervisor that starts the daemon on `u` before
// it writes any status, and writes its first status only once told `d`
// (the status under way while the stop began); it then stops the daemon
// and lets go of the service on `x`. It returns the letters read before
// `x`.
func superviseLate(sv *svdir.Supervise, daemon chan<- *exec.Cmd) string {
	var got []byte
	var cmd *exec.Cmd
	buf := make([]byte, 16)
	for {
		n, err := sv.Control.Read(buf)
		if err != nil {
			return string(got) + " (read: " + err.Error() + ")"
		}
		for _, b := range buf[:n] {
			switch b {
			case 'u':
				if cmd != nil {
					break
				}
				cmd = exec.Command("sleep", "1000")
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				if err := cmd.Start(); err != nil {
					return "start: " + err.Error()
				}
				daemon <- cmd
			case 'd':
				if cmd == nil || cmd.ProcessState != nil {
					break
				}
				if err := sv.WriteStatus(svdir.Status{Since: time.Now(), Pid: cmd.Process.Pid, WantUp: true, State: svdir.StateRun}, false); err != nil {
					return "status: " + err.Error()
				}
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				cmd.Wait()
				if err := sv.WriteStatus(svdir.Status{Since: time.Now()}, false); err != nil {
					return "status: " + err.Error()
				}
			case 'x':
				sv.Close()
				return string(got)
			}
			got = append(got, b)
		}
	}
}

// A supervisor that lets go of a service it took up before writing any
// status (it could not set the service up) started nothing: a stop made
// meanwhile only takes the link out.
func TestStopWhenTheSupervisorLetsGoWithoutStatus(t *testing.T) {
	f := newFakeScan(t)
	sv, err := svdir.Acquire(filepath.Join(f.svc, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Link(f.scan, "web", f.svc); err != nil {
		t.Fatal(err)
	}
	sup, _ := Get("builtin")
	done := make(chan error, 1)
	go func() { done <- Stop(context.Background(), sup, f.service()) }()
	buf := make([]byte, 1)
	if _, err := sv.Control.Read(buf); err != nil || buf[0] != 'd' {
		t.Fatalf("the supervisor read %q, %v; want d", buf, err)
	}
	sv.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Stop still waits 30s after the supervisor let go")
	}
	if _, err := os.Lstat(filepath.Join(f.scan, "web")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link is still in the scan dir: %v", err)
	}
}
