package backend

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/svdir"
)

// Stop on the builtin backend takes the link out and tells the service's
// own supervisor to exit (`x`) through the service dir, the link being
// gone by then: a supervisor that only ever hears `x` (its scanner does
// not rescan, here none answers at all) lets go, and Stop returns.
func TestStopQuickTellsTheSupervisorToExit(t *testing.T) {
	dir := t.TempDir()
	scan, svc := filepath.Join(dir, "scan"), filepath.Join(dir, "sv", "web")
	for _, d := range []string{scan, svc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sv, err := svdir.Acquire(filepath.Join(svc, "supervise"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.WriteStatus(svdir.Status{Since: time.Now()}, false); err != nil { // down
		t.Fatal(err)
	}
	if err := Link(scan, "web", svc); err != nil {
		t.Fatal(err)
	}
	letters := make(chan string, 1)
	go func() { // the supervisor: reads letters until `x`, then lets go
		var got []byte
		buf := make([]byte, 16)
		for {
			n, err := sv.Control.Read(buf)
			if err != nil {
				letters <- string(got) + " (read: " + err.Error() + ")"
				return
			}
			got = append(got, buf[:n]...)
			if n > 0 && buf[n-1] == 'x' {
				sv.Close()
				letters <- string(got)
				return
			}
		}
	}()
	sup, _ := Get("builtin")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = Stop(ctx, sup, Service{Name: "web", Dir: svc, ScanDir: scan})
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case got := <-letters:
		if got != "dx" {
			t.Errorf("the supervisor read %q, want dx", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the supervisor never read x")
	}
	if _, err := os.Lstat(filepath.Join(scan, "web")); !os.IsNotExist(err) {
		t.Errorf("the link is still in the scan dir: %v", err)
	}
}
