package proc

import (
	"os/exec"
	"testing"
	"time"
)

// BenchmarkSettleDone is one look at a sleeping process: what each of a
// start's polls costs.
func BenchmarkSettleDone(b *testing.B) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	s := NewSettle(cmd.Process.Pid)
	for s.Done(time.Second) == false {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Done(time.Second)
	}
}
