// Package gctune keeps the memory of a long-running supervisor close to
// what it holds. Go's defaults suit a program with a busy heap: the
// collector lets the heap grow to 4 MiB between cycles, and the runtime
// keeps the pages it freed for a while, returning them to the system only
// slowly. A supervisor holds little (some KiB per service) and makes its
// garbage in bursts (starting its services, a restart); with the defaults
// it would keep the pages of that garbage for good.
//
// Tune lets the collector run as it would (a tighter pace, such as a
// memory limit near the live heap, makes every burst collect and return
// pages over and over, which a restart then waits for), and returns the
// free pages once a burst is over: settle after the last collection and
// the last Busy, it collects once more and gives back all the heap holds
// free (debug.FreeOSMemory). A burst that allocated less than minGarbage
// since the last release and ran no collection is left alone: a restart
// now and then costs no collection. A quiet supervisor is never woken
// for this.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// settle is how long after a collection the heap is given back: a burst
// of work collects more than once, and its pages are returned after its
// last collection.
const settle = 500 * time.Millisecond

// minGarbage is what a burst must have allocated, without a collection,
// for its release to collect: starting a hundred services allocates some
// MiB that the collector, whose heap goal is at least 4 MiB, would
// otherwise keep until its next cycle, which in a quiet supervisor is the
// runtime's forced one, two minutes later.
const minGarbage = 512 << 10

var (
	mu    sync.Mutex
	timer *time.Timer
	// released is the count of collections when the last release ended,
	// and releasing is set during one: a release's own collection does
	// not arm another.
	released  uint64
	releasing bool
	// allocsAtRelease is how many bytes the program had allocated in all
	// when the last release ended.
	allocsAtRelease uint64
)

// armed is set while a release is due: Busy arms one only if none is, so
// that an event costs an atomic load, not a timer's reset.
var armed atomic.Bool

// Tune starts following the collections, unless the user set GOGC or
// GOMEMLIMIT, which then stand as they are. The first release comes
// settle from now (what start-up made).
func Tune() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mu.Lock()
	armed.Store(true)
	timer = time.AfterFunc(settle, release)
	mu.Unlock()
	follow()
}

// follow calls collected after the next collection: a finalizer runs
// once the object it is set on has been found unreachable, which is at
// the end of a cycle.
func follow() {
	runtime.SetFinalizer(new(sentinel), func(*sentinel) { collected() })
}

// sentinel holds a pointer: the tiny allocator, whose objects may never
// be finalized, takes only objects without.
type sentinel struct{ _ *byte }

// collected arms the release after a collection that was not a
// release's own.
func collected() {
	follow()
	n, _ := counts()
	mu.Lock()
	defer mu.Unlock()
	if !releasing && n > released {
		armed.Store(true)
		timer.Reset(settle)
	}
}

// lastBusy is when the program last said it was at work (Busy), in
// nanoseconds since the Unix epoch.
var lastBusy atomic.Int64

// Busy says the program is at work (sv-scan: at each event of a
// service): a release waits until settle after the last of a burst, so
// that starting a hundred services does not stop to collect and give
// pages back only to take them again.
func Busy() {
	lastBusy.Store(time.Now().UnixNano())
	if armed.Load() || !armed.CompareAndSwap(false, true) {
		return
	}
	mu.Lock()
	if timer != nil {
		timer.Reset(settle)
	}
	mu.Unlock()
}

// release collects and returns every free page of the heap, once the
// program has been quiet for settle, unless there is too little to give.
func release() {
	armed.Store(false) // a Busy from here on arms the next release
	if quiet := time.Since(time.Unix(0, lastBusy.Load())); quiet < settle {
		armed.Store(true)
		mu.Lock()
		timer.Reset(settle - quiet)
		mu.Unlock()
		return
	}
	total, allocs := counts()
	mu.Lock()
	if total == released && allocs-allocsAtRelease < minGarbage {
		mu.Unlock()
		return
	}
	releasing = true
	mu.Unlock()
	debug.FreeOSMemory()
	total, allocs = counts()
	mu.Lock()
	released, allocsAtRelease, releasing = total, allocs, false
	mu.Unlock()
}

// counts reads how many collections have run and how many bytes the
// program has allocated in all.
func counts() (collections, allocs uint64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// collections is how many collections have run, and how many had when
// the last release ended.
func collections() (total, lastRelease uint64) {
	total, _ = counts()
	mu.Lock()
	defer mu.Unlock()
	return total, released
}
