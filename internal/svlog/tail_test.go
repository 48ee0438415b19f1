package svlog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tail takes the last lines from current, and from the rotated files
// before it when current holds fewer, reading back from the end only.
func TestTail(t *testing.T) {
	dir := t.TempDir()
	var old, cur strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&old, "old %d %s\n", i, strings.Repeat("x", 40))
	}
	cur.WriteString("new 0\nnew 1\nnew 2 unfinished")
	os.WriteFile(filepath.Join(dir, "@400000005f5e100000000000.s"), []byte(old.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "current"), []byte(cur.String()), 0o644)
	got, err := Tail(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("old 4998 %s\nold 4999 %s\nnew 0\nnew 1\nnew 2 unfinished", strings.Repeat("x", 40), strings.Repeat("x", 40))
	if string(got) != want {
		t.Errorf("Tail = %q, want %q", got, want)
	}
	if got, _ := Tail(dir, 2); string(got) != "new 1\nnew 2 unfinished" {
		t.Errorf("Tail 2 = %q", got)
	}
	if got, err := Tail(t.TempDir(), 5); err != nil || len(got) != 0 {
		t.Errorf("an empty log: %q, %v", got, err)
	}
}
