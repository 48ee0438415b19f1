package ready

import (
	"context"
	"errors"
	"os"
	"testing"
)

// readLine runs ReadLine on a fresh pipe in the background: the pipe's
// write end, a channel closed when ReadLine returns, and one that gets
// each call of ready.
func readLine(t *testing.T, ctx context.Context) (*os.File, *os.File, <-chan struct{}, <-chan struct{}) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	done, ready := make(chan struct{}), make(chan struct{}, 2)
	go func() {
		ReadLine(ctx, r, func() { ready <- struct{}{} })
		close(done)
	}()
	return r, w, done, ready
}

// A line may come in pieces; ready is called once its newline arrives.
func TestReadLineReady(t *testing.T) {
	_, w, done, ready := readLine(t, testContext(t))
	w.WriteString("READY")
	w.WriteString(" and more\nafter")
	received(t, ready, "ready at the newline")
	received(t, done, "ReadLine's return")
	if len(ready) != 0 {
		t.Error("ready called more than once")
	}
}

// A pipe closed without a newline is no readiness.
func TestReadLineClosedWithoutNewline(t *testing.T) {
	_, w, done, ready := readLine(t, testContext(t))
	w.WriteString("no newline")
	w.Close()
	received(t, done, "ReadLine's return at EOF")
	if len(ready) != 0 {
		t.Error("ready called without a newline")
	}
}

// The end of the watch closes the pipe, which ends the blocked read.
func TestReadLineCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	r, _, done, ready := readLine(t, ctx)
	cancel()
	received(t, done, "ReadLine's return after the cancel")
	if len(ready) != 0 {
		t.Error("ready called after the cancel")
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read end after the cancel: %v, want it closed", err)
	}
}
