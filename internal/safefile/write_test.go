package safefile

import (
	"os"
	"path/filepath"
	"testing"
)

// The file is replaced, keeps its mode, and nothing is left beside it or
// in TMPDIR.
func TestWriteStagesBeside(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path := filepath.Join(dir, "status")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "new" {
		t.Fatalf("content %q, %v; want new", data, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want the existing 0600 kept", fi.Mode().Perm())
	}
	for _, d := range []string{dir, tmp} {
		ents, _ := os.ReadDir(d)
		if d == dir && len(ents) != 1 || d == tmp && len(ents) != 0 {
			t.Errorf("%s holds %d entries after the write", d, len(ents))
		}
	}
}

// TMPDIR is never touched, even when it does not exist.
func TestWriteWithoutTmpdir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	path := filepath.Join(t.TempDir(), "pid")
	if err := Write(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat %v, %v; want a 0644 file", fi, err)
	}
}
