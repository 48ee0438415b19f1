package options

import (
	"os"
	"testing"
)

// docs/OPTIONS.md is generated; `make docs` rewrites it. This fails when a
// key changed without the reference following.
func TestReferenceIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../docs/OPTIONS.md")
	if err != nil {
		t.Fatalf("%v (run make docs)", err)
	}
	if string(got) != Reference() {
		t.Fatal("docs/OPTIONS.md is stale: run make docs")
	}
}
