package backend

import (
	"context"
	"errors"
	"os"
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
