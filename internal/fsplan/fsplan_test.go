package fsplan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyAndIdempotence(t *testing.T) {
	dir := t.TempDir()
	build := func() *Plan {
		p := &Plan{}
		p.Dir(filepath.Join(dir, "a/b"), 0o755)
		p.File(filepath.Join(dir, "a/b/run"), []byte("#!/bin/sh\n"), 0o755)
		p.Symlink(filepath.Join(dir, "a/link"), "b/run")
		p.FileIfAbsent(filepath.Join(dir, "a/mine"), []byte("default\n"), 0o644)
		return p
	}
	changes, err := build().Apply()
	if err != nil || len(changes) != 4 {
		t.Fatalf("first apply: %v %v", changes, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "a/b/run")); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", fi.Mode())
	}
	if tgt, _ := os.Readlink(filepath.Join(dir, "a/link")); tgt != "b/run" {
		t.Errorf("link -> %q", tgt)
	}
	os.WriteFile(filepath.Join(dir, "a/mine"), []byte("edited\n"), 0o644)
	changes, err = build().Apply()
	if err != nil || len(changes) != 0 {
		t.Fatalf("second apply changed %v, %v", changes, err)
	}
	if read(t, filepath.Join(dir, "a/mine")) != "edited\n" {
		t.Error("FileIfAbsent overwrote the user's file")
	}
	// A mode change alone is a change.
	os.Chmod(filepath.Join(dir, "a/b/run"), 0o644)
	if changes, _ := build().Apply(); len(changes) != 1 || changes[0].What != "updated" {
		t.Errorf("mode change: %v", changes)
	}
}

// A plan that cannot be carried out in full changes nothing.
func TestFailureLeavesTreeIntact(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "old"), []byte("old\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "blocker"), 0o755)
	os.WriteFile(filepath.Join(dir, "blocker/x"), nil, 0o644)

	p := &Plan{}
	p.File(filepath.Join(dir, "old"), []byte("new\n"), 0o644)
	p.Symlink(filepath.Join(dir, "newlink"), "old")
	p.File(filepath.Join(dir, "blocker"), []byte("cannot\n"), 0o644)
	_, err := p.Apply()
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("want an is-a-directory error, got %v", err)
	}
	if read(t, filepath.Join(dir, "old")) != "old\n" {
		t.Error("old was replaced by a failed plan")
	}
	if _, err := os.Lstat(filepath.Join(dir, "newlink")); err == nil {
		t.Error("newlink was created by a failed plan")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "d/control"), 0o755)
	os.Symlink("x", filepath.Join(dir, "d/control/t"))
	p := &Plan{}
	p.RemoveEmptyDir(filepath.Join(dir, "d/control"))
	p.Remove(filepath.Join(dir, "d/control/t"))
	p.Remove(filepath.Join(dir, "d/absent"))
	changes, err := p.Apply()
	if err != nil || len(changes) != 2 {
		t.Fatalf("want the link and the directory it empties removed: %v %v", changes, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "d/control")); err == nil {
		t.Error("control/ is still there")
	}
	os.MkdirAll(filepath.Join(dir, "d/keep"), 0o755)
	os.WriteFile(filepath.Join(dir, "d/keep/user-file"), nil, 0o644)
	p = &Plan{}
	p.RemoveEmptyDir(filepath.Join(dir, "d/keep"))
	if changes, err := p.Apply(); err != nil || len(changes) != 0 {
		t.Fatalf("a directory with other files must stay: %v %v", changes, err)
	}
	p2 := &Plan{}
	p2.Remove(dir)
	if _, err := p2.Apply(); err == nil {
		t.Error("Remove of a directory must fail")
	}
}
