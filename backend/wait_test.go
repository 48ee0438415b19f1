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
)

// okDir is a service dir whose supervise/ok FIFO is there, unopened.
func okDir(t *testing.T) (dir, ok string) {
	t.Helper()
	dir = t.TempDir()
	ok = filepath.Join(dir, "supervise", "ok")
	if err := os.Mkdir(filepath.Dir(ok), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(ok, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, ok
}

func TestWaitOKReaderReturnsWhenASupervisorOpensOK(t *testing.T) {
	dir, ok := okDir(t)
	done := make(chan error, 1)
	go func() { done <- waitOKReader(context.Background(), dir, func() bool { return true }) }()
	r, err := os.OpenFile(ok, os.O_RDONLY|syscall.O_NONBLOCK, 0) // the supervisor
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waitOKReader: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after the supervisor opened ok")
	}
}

func TestWaitOKReaderNoFIFO(t *testing.T) {
	if err := waitOKReader(context.Background(), t.TempDir(), func() bool { return true }); !errors.Is(err, errNoFIFO) {
		t.Errorf("got %v, want errNoFIFO", err)
	}
}

// A wait given up leaves no writer behind: the FIFO has no reader after
// it, as before.
func TestWaitOKReaderGivenUp(t *testing.T) {
	for name, tc := range map[string]struct {
		ctx       func() (context.Context, context.CancelFunc)
		scannerUp bool
		want      error
	}{
		"deadline": {func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, true, context.DeadlineExceeded},
		"scanner gone": {func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}, false, errScannerGone},
	} {
		t.Run(name, func(t *testing.T) {
			dir, ok := okDir(t)
			ctx, cancel := tc.ctx()
			defer cancel()
			if err := waitOKReader(ctx, dir, func() bool { return tc.scannerUp }); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			fd, err := unix.Open(ok, unix.O_WRONLY|unix.O_NONBLOCK, 0)
			if err == nil {
				unix.Close(fd)
				t.Fatal("ok has a reader left after the wait")
			}
			if !errors.Is(err, unix.ENXIO) {
				t.Fatalf("open ok: %v", err)
			}
		})
	}
}

// A stop learns that the supervisor let go of the service from the write
// end of ok: POLLERR once no reader is left.
func TestReaderGone(t *testing.T) {
	dir, ok := okDir(t)
	if fd, err := openOKWriter(dir); fd != -1 || err != nil {
		t.Fatalf("no supervisor: openOKWriter = %d, %v; want -1", fd, err)
	}
	if fd, err := openOKWriter(t.TempDir()); fd != -1 || err != nil {
		t.Fatalf("no FIFO: openOKWriter = %d, %v; want -1", fd, err)
	}
	r, err := os.OpenFile(ok, os.O_RDONLY|syscall.O_NONBLOCK, 0) // the supervisor
	if err != nil {
		t.Fatal(err)
	}
	w, err := openOKWriter(dir)
	if err != nil || w < 0 {
		t.Fatalf("openOKWriter = %d, %v", w, err)
	}
	defer unix.Close(w)
	if readerGone(context.Background(), w, 20*time.Millisecond) {
		t.Fatal("reader gone while the supervisor holds ok")
	}
	done := make(chan bool, 1)
	go func() { done <- readerGone(context.Background(), w, 10*time.Second) }()
	r.Close() // the supervisor lets go
	if !<-done {
		t.Error("readerGone did not see the supervisor let go")
	}
}

// The daemon's pidfd says when it ends; a context ends the wait early.
func TestExitWait(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	end := openExit(cmd.Process.Pid)
	if end == nil {
		t.Skip("no pidfd here")
	}
	defer end.close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if end.waitCtx(ctx, 10*time.Second) {
		t.Fatal("ended with the context, but says the process did")
	}
	if end.waitCtx(context.Background(), 20*time.Millisecond) {
		t.Fatal("says a running process ended")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if !end.waitCtx(context.Background(), 10*time.Second) {
		t.Error("did not see the process end")
	}
}

// A start queues `u` in the control FIFO before it links the service: the
// supervisor that takes the service up finds it there. Withdrawn (no
// supervisor came), it is gone for one that comes later.
func TestQueueUp(t *testing.T) {
	dir := t.TempDir()
	if q := queueUp(dir); q.queued() {
		t.Fatal("queued into a FIFO that does not exist")
	}
	sup := filepath.Join(dir, "supervise")
	if err := os.Mkdir(sup, 0o755); err != nil {
		t.Fatal(err)
	}
	control := filepath.Join(sup, "control")
	if err := unix.Mkfifo(control, 0o600); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		fd, err := unix.Open(control, unix.O_RDWR|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		buf := make([]byte, 8)
		n, _ := unix.Read(fd, buf)
		return string(buf[:max(n, 0)])
	}

	// The supervisor opens the FIFO while the start still holds it.
	q := queueUp(dir)
	if !q.queued() {
		t.Fatal("not queued")
	}
	if got := read(); got != "u" {
		t.Errorf("the supervisor read %q, want u", got)
	}
	q.release()

	// Withdrawn while another holds the FIFO (a supervisor coming just as
	// the start gives up): the letter is not left for it.
	holder, err := unix.Open(control, unix.O_RDWR|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	q = queueUp(dir)
	q.withdraw()
	buf := make([]byte, 8)
	if n, _ := unix.Read(holder, buf); n > 0 {
		t.Errorf("after withdraw the holder read %q, want nothing", buf[:n])
	}
	unix.Close(holder)

	// Not a FIFO: nothing queued.
	os.Remove(control)
	os.WriteFile(control, nil, 0o600)
	if q := queueUp(dir); q.queued() {
		t.Error("queued into a regular file")
	}
}
