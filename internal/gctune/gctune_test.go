package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

var keep [][]byte

// A collection is followed, settle later, by one release; a quiet
// process then collects nothing more: no release arms another.
func TestReleaseAfterACollectionThenQuiet(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: Tune leaves them alone")
	}
	Tune()
	for i := 0; i < 16; i++ {
		keep = append(keep, make([]byte, 1<<20))
	}
	keep = nil
	runtime.GC() // a collection: arms the release
	_, before := collections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, last := collections(); last > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no release within 10s of a collection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	total, last := collections()
	time.Sleep(4 * settle) // a release that armed another would run now
	if total2, last2 := collections(); total2 != total || last2 != last {
		t.Errorf("a quiet process collected again: %d -> %d collections, last release at %d -> %d", total, total2, last, last2)
	}
}

// While the program says it is busy, no release comes; one comes once
// it has been quiet for settle.
func TestNoReleaseWhileBusy(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: Tune leaves them alone")
	}
	Tune()
	runtime.GC() // arms a release
	_, before := collections()
	busyUntil := time.Now().Add(3 * settle)
	for time.Now().Before(busyUntil) {
		Busy()
		if _, last := collections(); last != before {
			t.Fatal("a release came while the program was busy")
		}
		time.Sleep(settle / 10)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, last := collections(); last > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no release within 10s of the end of the burst")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled waits until no release is due (Tune's first one has run).
func settled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for armed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("a release still due 10s after Tune")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var sink []byte

// A burst that made garbage but ran no collection (starting a hundred
// services) is given back settle after it, without waiting for the
// collector's next cycle; one that made little is left alone.
func TestReleaseAfterABurstWithoutCollection(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: Tune leaves them alone")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection but a release's
	Tune()
	settled(t)

	total, last := collections()
	Busy()
	sink = make([]byte, 1024) // a restart's worth
	time.Sleep(4 * settle)
	if total2, last2 := collections(); total2 != total || last2 != last {
		t.Errorf("a burst of 1 KiB collected: %d -> %d collections", total, total2)
	}

	for i := 0; i < 64; i++ { // 2 MiB of garbage
		sink = make([]byte, 32<<10)
		Busy()
	}
	sink = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, last2 := collections(); last2 > last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no release within 10s of a burst of 2 MiB")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
