package svctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Asking whether a service is supervised while its supervisor starts must
// never make the supervisor find its lock busy: a shared-lock probe here
// did, and sv-scan then left the service unsupervised (50 parallel
// `rc-service sv.N start` lost one now and then).
func TestRunningWhileSupervisorStarts(t *testing.T) {
	dir := t.TempDir()
	sup := filepath.Join(dir, "supervise")
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				Running(dir)
			}
		}()
	}
	defer wg.Wait()
	defer stop.Store(true)
	for i := range 3000 {
		s, err := svdir.Acquire(sup)
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		if ok, err := Running(dir); !ok || err != nil {
			t.Fatalf("running %d: %v %v", i, ok, err)
		}
		s.Close()
	}
}

// A supervisor holding supervise/lock with no ok FIFO (s6-supervise) is
// seen through the lock; where ok is a FIFO with no reader, the FIFO says
// it all (no read of /proc/locks, which costs an RCU grace period), unless
// the status is s6's.
func TestRunningByLock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fifo   bool
		status []byte
		want   bool
	}{
		{"lock, no ok FIFO (s6)", false, nil, true},
		{"lock, ok FIFO without reader", true, nil, false},
		{"lock, ok FIFO left behind, s6 status", true, make([]byte, 35), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sup := filepath.Join(dir, "supervise")
			if err := os.Mkdir(sup, 0o755); err != nil {
				t.Fatal(err)
			}
			lock, err := os.OpenFile(filepath.Join(sup, "lock"), os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close()
			if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
				t.Fatal(err)
			}
			if tc.fifo {
				if err := unix.Mkfifo(filepath.Join(sup, "ok"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.status != nil {
				if err := os.WriteFile(filepath.Join(sup, "status"), tc.status, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := Running(dir); got != tc.want || err != nil {
				t.Errorf("Running = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// A log directory is its logger's user's: a FIFO (with no writer) put
// there as current is refused at once by sv-ctl log, not waited on.
func TestLogFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, "current"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := Tail(dir, 10, io.Discard); !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("Tail = %v, want a refused FIFO", err)
		}
		if err := Follow(context.Background(), dir, io.Discard); !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("Follow = %v, want a refused FIFO", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO log did not return within 10s")
	}
}

// Statuses reads each service, several at once, and gives each its own
// result in the order asked: a dir that does not exist is an error of its
// own, an unsupervised one is no error.
func TestStatusesInOrder(t *testing.T) {
	base := t.TempDir()
	var svcs []Service
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		dir := filepath.Join(base, name)
		if i%7 != 3 { // s03, s10, s17 are missing
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		svcs = append(svcs, Service{Name: name, Dir: dir})
	}
	infos, errs := Statuses(svcs)
	if len(infos) != len(svcs) || len(errs) != len(svcs) {
		t.Fatalf("%d infos, %d errors for %d services", len(infos), len(errs), len(svcs))
	}
	for i, svc := range svcs {
		missing := i%7 == 3
		if (errs[i] != nil) != missing {
			t.Errorf("%s: error %v, missing %v", svc.Name, errs[i], missing)
		}
		if infos[i].Name != svc.Name {
			t.Errorf("result %d is %q's, want %q's", i, infos[i].Name, svc.Name)
		}
		if !missing && infos[i].State != StateUnsupervised {
			t.Errorf("%s: state %q", svc.Name, infos[i].State)
		}
	}
	if infos, errs := Statuses(nil); len(infos)+len(errs) != 0 {
		t.Error("results for no service")
	}
}
