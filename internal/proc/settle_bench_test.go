package proc

import (
	"testing"
	"time"
)

// BenchmarkSettleDone is one look at a sleeping process: what each of a
// start's polls costs.
func BenchmarkSettleDone(b *testing.B) {
	s := settledSleep(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Done(time.Second)
	}
}
