// Package gctune keeps the memory of a long-running supervisor close to
// what it holds. Go's defaults suit a program with a busy heap: the
// collector lets the heap grow to 4 MiB before its first cycle, and the
// runtime keeps about that much resident, returning free pages to the
// system only slowly. A supervisor holds little (some KiB per service)
// and makes most of its garbage at once, when it starts its services;
// with the defaults it would keep that garbage's pages for good.
//
// Tune sets, after every collection, a memory limit of what the runtime
// holds outside the heap plus twice the live heap and some slack: the
// collector then runs as with GOGC=100 but without the 4 MiB floor, and
// the runtime returns what is above the limit to the system at once. The
// limit follows the live heap at each cycle, so a heap that grows (more
// services) raises it instead of making the collector run without end.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// slack is the heap that may grow between two collections beyond twice
// the live heap: enough that a quiet supervisor does not collect at
// every small allocation.
const slack = 256 << 10

var samples = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/gc/heap/live:bytes"},
}

// Tune starts following the collections, unless the user set GOGC or
// GOMEMLIMIT, which then stand as they are.
func Tune() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	follow()
	runtime.GC() // a first limit now, from what start-up left live
}

// follow sets the limit now and again after the next collection: a
// finalizer runs once the object it is set on has been found unreachable,
// which is at the end of a cycle.
func follow() {
	debug.SetMemoryLimit(Limit())
	runtime.SetFinalizer(new(sentinel), func(*sentinel) { follow() })
}

// sentinel holds a pointer: the tiny allocator, whose objects may never
// be finalized, takes only objects without.
type sentinel struct{ _ *byte }

// Limit is the memory limit for what the process holds now.
func Limit() int64 {
	metrics.Read(samples)
	v := func(i int) int64 { return int64(samples[i].Value.Uint64()) }
	total, released := v(0), v(1)
	heap := v(2) + v(3) + v(4)
	outside := total - released - heap // stacks, the runtime's own
	return outside + 2*v(5) + slack
}
