package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/poller"
	"github.com/supervision-suite/supervision/internal/svlog"
)

// A logger started on a FIFO that already holds lines (a daemon adopted
// after sv-scan was killed wrote them meanwhile) writes them, then what
// comes later: the poller may call its handler before startLogger has
// returned.
func TestLoggerStartsOnAFullFIFO(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < 50; i++ {
		dir := t.TempDir()
		o, err := openOutput(dir)
		if err != nil {
			t.Fatal(err)
		}
		w, err := o.writeEnd()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "before %d\n", i)
		logDir := filepath.Join(dir, "log")
		if err := o.startLogger(p, svlog.Config{Dir: logDir, Size: 1 << 20, Files: 2}, func(svlog.Status) {}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "after %d\n", i)
		want := fmt.Sprintf("before %d\nafter %d\n", i, i)
		deadline := time.Now().Add(10 * time.Second)
		for {
			data, _ := os.ReadFile(filepath.Join(logDir, "current"))
			if bytes.Equal(data, []byte(want)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: current holds %q after 10s, want %q", i, data, want)
			}
			time.Sleep(time.Millisecond)
		}
		w.Close()
		o.close(true)
	}
}
