package metrics

import (
	"os"
	"testing"
)

func TestReadProcess(t *testing.T) {
	f, err := os.Open(os.DevNull) // one more descriptor to see counted
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ents, _ := os.ReadDir("/proc/self/fd")
	p, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// ReadDir's own descriptor was open while it listed.
	if p.OpenFDs < float64(len(ents)-1) || p.OpenFDs > float64(len(ents)+1) {
		t.Errorf("OpenFDs = %v, ReadDir saw %d", p.OpenFDs, len(ents))
	}
	if p.Threads < 1 || p.ResidentBytes <= 0 || p.StartTime <= 0 || p.MaxFDs <= 0 {
		t.Errorf("ReadProcess = %+v", p)
	}
}

func TestMaxOpenFiles(t *testing.T) {
	limits := "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n"
	if got := maxOpenFiles([]byte(limits)); got != 1024 {
		t.Errorf("maxOpenFiles = %v, want 1024", got)
	}
	if got := maxOpenFiles([]byte("Max open files unlimited unlimited files\n")); got != -1 {
		t.Errorf("unlimited: %v, want -1", got)
	}
}
