package hooks

import (
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// A slot lets N runs begin within a window, then none until the oldest
// of them is a window old.
func TestSlotRate(t *testing.T) {
	rate := options.Rate{Count: 2, Window: 10 * time.Second}
	now := time.Unix(1000, 0)
	var s slot
	for i := 0; i < 2; i++ {
		if !s.allows(rate, now) {
			t.Fatalf("run %d refused", i)
		}
		s.admitted(rate, now)
		now = now.Add(time.Second)
	}
	if s.allows(rate, now) {
		t.Fatal("a third within the window")
	}
	if s.allows(rate, time.Unix(1009, 999)) {
		t.Fatal("before the first is a window old")
	}
	if !s.allows(rate, time.Unix(1010, 0)) {
		t.Fatal("the first is a window old")
	}
	var free slot
	for i := 0; i < 1000; i++ {
		if !free.allows(options.Rate{}, now) {
			t.Fatal("no rate, no limit")
		}
		free.admitted(options.Rate{}, now)
	}
	if len(free.starts) != 0 {
		t.Error("no rate keeps no times")
	}
}
