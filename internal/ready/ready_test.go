package ready

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// bound is how long a test waits for what must happen; only a failing
// test waits that long.
const bound = 10 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return ctx
}

// received fails the test unless ch delivers within bound.
func received[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("%s: nothing after %s", what, bound)
		panic("unreachable")
	}
}

// acceptAll listens on a free local port and accepts until the test ends.
func acceptAll(t *testing.T, addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

func TestProbe(t *testing.T) {
	ctx := testContext(t)
	ln := acceptAll(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	if err := Probe(ctx, options.Ready{Kind: options.ReadyTCP, Addr: addr}, nil); err != nil {
		t.Errorf("listening port: %v", err)
	}
	ln.Close()
	if err := Probe(ctx, options.Ready{Kind: options.ReadyTCP, Addr: addr}, nil); err == nil {
		t.Error("closed port reported ready")
	}

	file := filepath.Join(t.TempDir(), "sock")
	if err := Probe(ctx, options.Ready{Kind: options.ReadyPath, Path: file}, nil); err == nil {
		t.Error("missing path reported ready")
	}
	os.WriteFile(file, nil, 0o644)
	if err := Probe(ctx, options.Ready{Kind: options.ReadyPath, Path: file}, nil); err != nil {
		t.Errorf("existing path: %v", err)
	}

	run := Command(nil, "")
	if err := Probe(ctx, options.Ready{Kind: options.ReadyCheck, Cmd: []string{"sh", "-c", "exit 0"}}, run); err != nil {
		t.Errorf("check exit 0: %v", err)
	}
	err := Probe(ctx, options.Ready{Kind: options.ReadyCheck, Cmd: []string{"sh", "-c", "echo nope; exit 3"}}, run)
	if want := `check sh -c 'echo nope; exit 3': exit status 3 "nope\n"`; err == nil || err.Error() != want {
		t.Errorf("check exit 3: %v, want %s", err, want)
	}
	if err := Probe(ctx, options.Ready{Kind: options.ReadyNone}, nil); err != nil {
		t.Errorf("none: %v", err)
	}
	for _, kind := range []string{options.ReadyNotify, options.ReadyFD} {
		if err := Probe(ctx, options.Ready{Kind: kind}, nil); !errors.Is(err, ErrNotProbeable) {
			t.Errorf("%s: %v", kind, err)
		}
	}
}

// Command runs the check in the directory and environment it is given.
func TestCommandEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	run := Command([]string{"WANT=" + dir}, dir)
	if err := run(testContext(t), []string{"/bin/sh", "-c", `test "$PWD" = "$WANT"`}); err != nil {
		t.Error(err)
	}
}

// watch runs Watch in the background: its result comes on the first
// channel, each call of ready on the second.
func watch(ctx context.Context, r options.Ready, run CheckFunc) (<-chan error, <-chan struct{}) {
	result, ready := make(chan error, 1), make(chan struct{}, 2)
	go func() { result <- Watch(ctx, r, run, func() { ready <- struct{}{} }) }()
	return result, ready
}

func TestWatchTCP(t *testing.T) {
	ln := acceptAll(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	result, ready := watch(testContext(t), options.Ready{Kind: options.ReadyTCP, Addr: addr}, nil)
	acceptAll(t, addr)
	received(t, ready, "ready once the port accepts")
	if err := received(t, result, "Watch's return"); err != nil {
		t.Error(err)
	}
}

func TestWatchPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "ready")
	result, ready := watch(testContext(t), options.Ready{Kind: options.ReadyPath, Path: file}, nil)
	os.MkdirAll(filepath.Dir(file), 0o755)
	os.WriteFile(file, nil, 0o644)
	received(t, ready, "ready once the path exists")
	if err := received(t, result, "Watch's return"); err != nil {
		t.Error(err)
	}

	ctx, cancel := context.WithCancel(testContext(t))
	result, ready = watch(ctx, options.Ready{Kind: options.ReadyPath, Path: file + ".never"}, nil)
	cancel()
	if err := received(t, result, "Watch's return after the cancel"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled path watch: %v", err)
	}
	if len(ready) != 0 {
		t.Error("cancelled path watch called ready")
	}
}

// A check is run again until it passes, through the runner given, with
// the spec's command.
func TestWatchCheckRunsUntilItPasses(t *testing.T) {
	cmd := []string{"probe", "me"}
	var runs int
	run := func(ctx context.Context, got []string) error {
		if !slices.Equal(got, cmd) {
			t.Errorf("runner got %q, want %q", got, cmd)
		}
		if runs++; runs < 4 {
			return errors.New("not yet")
		}
		return nil
	}
	result, ready := watch(testContext(t), options.Ready{Kind: options.ReadyCheck, Cmd: cmd}, run)
	received(t, ready, "ready once the check passes")
	if err := received(t, result, "Watch's return"); err != nil || runs != 4 {
		t.Errorf("Watch = %v after %d runs, want nil after 4", err, runs)
	}
}

// Ending the watch ends the check that runs: the runner gets a context
// that ends with Watch's.
func TestWatchCheckCancelled(t *testing.T) {
	started := make(chan struct{})
	run := func(ctx context.Context, _ []string) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(testContext(t))
	result, ready := watch(ctx, options.Ready{Kind: options.ReadyCheck, Cmd: []string{"x"}}, run)
	received(t, started, "the check's start")
	cancel()
	if err := received(t, result, "Watch's return after the cancel"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled check watch: %v", err)
	}
	if len(ready) != 0 {
		t.Error("cancelled check watch called ready")
	}
}

// A real command through Command, the way sv-exec runs checks.
func TestWatchCheckCommand(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "flag")
	result, ready := watch(testContext(t), options.Ready{Kind: options.ReadyCheck, Cmd: []string{"test", "-e", flag}}, Command(nil, ""))
	os.WriteFile(flag, nil, 0o644)
	received(t, ready, "ready once the check passes")
	if err := received(t, result, "Watch's return"); err != nil {
		t.Error(err)
	}
}

func TestWatchNotProbeable(t *testing.T) {
	for _, kind := range []string{options.ReadyNotify, options.ReadyFD, "sometimes"} {
		called := false
		if err := Watch(testContext(t), options.Ready{Kind: kind}, nil, func() { called = true }); !errors.Is(err, ErrNotProbeable) || called {
			t.Errorf("%s: Watch = %v, ready called: %v", kind, err, called)
		}
	}
}

func TestProbeWaitGrows(t *testing.T) {
	var got []time.Duration
	for w := firstWait; len(got) < 9; w = nextWait(w) {
		got = append(got, w)
	}
	ms := time.Millisecond
	want := []time.Duration{20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}
