package svdir

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSupervised(t *testing.T) {
	dir := t.TempDir()
	if ok, err := Supervised(dir); ok || err != nil {
		t.Fatalf("no supervise dir: %v %v", ok, err)
	}
	os.Mkdir(filepath.Join(dir, "supervise"), 0o755)
	fifo := filepath.Join(dir, "supervise", "ok")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := Supervised(dir); ok || err != nil {
		t.Fatalf("FIFO without reader: %v %v", ok, err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ok, err := Supervised(dir); !ok || err != nil {
		t.Fatalf("FIFO with a reader: %v %v", ok, err)
	}
}
