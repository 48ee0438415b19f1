package svctl

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

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
