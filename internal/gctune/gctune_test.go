package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// currentLimit reads the memory limit without changing it.
func currentLimit() int64 { return debug.SetMemoryLimit(-1) }

// waitLimit waits until the limit, set from the finalizer's goroutine
// after a collection, satisfies ok.
func waitLimit(t *testing.T, what string, ok func(int64) bool) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		if l := currentLimit(); ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("the limit is %d, not %s, after 10s of collections", currentLimit(), what)
		}
		time.Sleep(time.Millisecond)
	}
}

var keep [][]byte

// The limit follows the live heap up and down, collection by collection.
func TestLimitFollowsTheLiveHeap(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: Tune leaves them alone")
	}
	defer debug.SetMemoryLimit(currentLimit())
	Tune()
	small := waitLimit(t, "set", func(l int64) bool { return l < 1<<40 })
	for i := 0; i < 32; i++ {
		keep = append(keep, make([]byte, 1<<20)) // 32 MiB live
	}
	waitLimit(t, "above twice the live heap", func(l int64) bool { return l >= 64<<20 })
	keep = nil
	waitLimit(t, "back down", func(l int64) bool { return l < small+8<<20 })
}
