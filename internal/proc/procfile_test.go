package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestProcReaderFile(t *testing.T) {
	dir := t.TempDir()
	var r procReader
	for _, size := range []int{0, 1, 1023, 1024, 1025, 5000} {
		want := bytes.Repeat([]byte{'x'}, size)
		path := filepath.Join(dir, fmt.Sprint(size))
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := r.file(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("file of %d bytes: got %d bytes, %v", size, len(got), err)
		}
	}
	if _, err := r.file(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file read without error")
	}
	// A real /proc file, whose size stat does not tell.
	got, err := r.file("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseStat(got); err != nil {
		t.Errorf("/proc/self/stat as read: %v (%q)", err, got)
	}
}

func TestProcReaderNames(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 300 { // more than one getdents buffer holds
		name := fmt.Sprintf("entry-with-a-longish-name-%03d", i)
		want = append(want, name)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var r procReader
	got, err := r.names(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("names: got %d entries, want %d (first %v)", len(got), len(want), got[:min(3, len(got))])
	}
	if _, err := r.names(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory listed without error")
	}
}
