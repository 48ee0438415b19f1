package poller

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const bound = 10 * time.Second

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[1]) })
	return p[0], p[1]
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("%s: nothing in %s", what, bound)
	}
	var zero T
	return zero
}

// Every byte written is read by the handler, which is called again for
// each new write after it returned Again.
func TestAgain(t *testing.T) {
	p := newPoller(t)
	r, w := pipe(t)
	got := make(chan byte, 10)
	if _, err := p.Add(r, true, func() Next {
		buf := make([]byte, 1)
		if n, _ := unix.Read(r, buf); n == 1 {
			got <- buf[0]
		}
		return Again
	}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []byte("abc") {
		unix.Write(w, []byte{b})
		if g := await(t, got, "a write"); g != b {
			t.Fatalf("read %q, want %q", g, b)
		}
	}
}

// Later holds the handler back until Resume; Done stops the watch and
// closes the descriptor it owns.
func TestLaterAndDone(t *testing.T) {
	p := newPoller(t)
	r, w := pipe(t)
	calls := make(chan int, 10)
	var n atomic.Int32
	watch, err := p.Add(r, true, func() Next {
		k := n.Add(1)
		calls <- int(k)
		if k == 1 {
			return Later
		}
		return Done
	})
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(w, []byte("x")) // never read: the pipe stays readable
	await(t, calls, "the first call")
	select {
	case <-calls:
		t.Fatal("called again before Resume")
	case <-time.After(50 * time.Millisecond):
	}
	watch.Resume()
	if k := await(t, calls, "the call after Resume"); k != 2 {
		t.Fatalf("call %d", k)
	}
	// Done closed r: fcntl on it fails (or finds another file only if
	// something reused the number, which nothing here does).
	deadline := time.Now().Add(bound)
	for {
		if _, err := unix.FcntlInt(uintptr(r), unix.F_GETFD, 0); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the owned descriptor is still open after Done")
		}
		time.Sleep(time.Millisecond)
	}
}

// Stop waits for a call in progress, and no call begins after it.
func TestStopWaitsForTheHandler(t *testing.T) {
	p := newPoller(t)
	r, w := pipe(t)
	defer unix.Close(r)
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var after atomic.Bool
	var stopped atomic.Bool
	watch, err := p.Add(r, false, func() Next {
		if stopped.Load() {
			after.Store(true)
		}
		// The pipe stays readable: a second call may come between the
		// release and Stop, never after Stop.
		once.Do(func() { close(inside) })
		<-release
		return Again
	})
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(w, []byte("x"))
	await(t, inside, "the handler")
	done := make(chan struct{})
	go func() {
		watch.Stop()
		stopped.Store(true)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Stop returned while the handler ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	await(t, done, "Stop")
	unix.Write(w, []byte("y"))
	time.Sleep(50 * time.Millisecond) // a wrong call would come now
	if after.Load() {
		t.Fatal("the handler was called after Stop")
	}
	// r is not owned: still open.
	if _, err := unix.FcntlInt(uintptr(r), unix.F_GETFD, 0); err != nil {
		t.Fatalf("a descriptor not owned was closed: %v", err)
	}
}
