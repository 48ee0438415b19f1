package inotify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPathsAppearLater(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "a", "b", "sock")
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { done <- WaitPaths(ctx, []string{filepath.Join(dir, "other"), target}) }()
	// Whatever the order relative to the watches, Paths must notice.
	os.MkdirAll(filepath.Dir(target), 0o755)
	os.WriteFile(target, nil, 0o644)
	select {
	case err := <-done:
		t.Fatalf("returned before every path existed: %v", err)
	default:
	}
	os.WriteFile(filepath.Join(dir, "other"), nil, 0o644)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A path through a dangling symlink appears when the link's target is
// created, in another directory: the wait must watch there.
func TestPathsThroughDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "svc"), 0o755)
	os.Mkdir(filepath.Join(dir, "run"), 0o755)
	os.Symlink(filepath.Join(dir, "run", "state"), filepath.Join(dir, "svc", "supervise"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- WaitPaths(ctx, []string{filepath.Join(dir, "svc", "supervise", "status")}) }()
	os.Mkdir(filepath.Join(dir, "run", "state"), 0o755)
	os.WriteFile(filepath.Join(dir, "run", "state", "status"), nil, 0o644)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Woken by the creation, not by the deadline.
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v: the wait missed the creation", time.Since(start))
	}
	for in, want := range map[string]string{
		filepath.Join(dir, "svc", "supervise", "x"):       filepath.Join(dir, "run", "state"),
		filepath.Join(dir, "run", "nope", "a", "b"):       filepath.Join(dir, "run"),
		filepath.Join(dir, "run", "state", "status"):      filepath.Join(dir, "run", "state"),
		filepath.Join(dir, "run", "state", "status", "x"): filepath.Join(dir, "run", "state"),
	} {
		if got := deepestExisting(in); got != want {
			t.Errorf("deepestExisting(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPathsTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	missing := filepath.Join(t.TempDir(), "never")
	err := WaitPaths(ctx, []string{missing})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v", err)
	}
}

func TestMounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WaitMounts(ctx, []string{"/"}); err != nil {
		t.Fatalf("/ is always mounted: %v", err)
	}
	notMount := t.TempDir()
	if err := WaitMounts(ctx, []string{notMount}); err == nil || !strings.Contains(err.Error(), "is not mounted") {
		t.Fatalf("got %v", err)
	}
}

func TestMountPoints(t *testing.T) {
	info := "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n" +
		"37 35 0:5 / /proc rw - proc proc rw\nshort line\n"
	got, err := mountPoints(strings.NewReader(info))
	if err != nil || !got["/mnt/with space"] || !got["/proc"] || len(got) != 2 {
		t.Errorf("got %v %v", got, err)
	}
	if unescapeMount(`a\134b\0`) != `a\b\0` {
		t.Errorf("unescape: %q", unescapeMount(`a\134b\0`))
	}
}

// FuzzMountPoints: the mountinfo reader never panics, and every mount point
// it reports is a field of the input, unescaped.
func FuzzMountPoints(f *testing.F) {
	f.Add("36 35 98:0 /mnt1 /mnt/with\\040space rw - ext3 /dev/root rw\n")
	f.Add("1 2 3 4 \\134\\\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := mountPoints(strings.NewReader(s))
		if err != nil {
			return
		}
		for p := range got {
			if strings.Contains(p, "\n") && !strings.Contains(s, `\012`) {
				t.Fatalf("mount point %q has a newline the input did not encode", p)
			}
		}
	})
}

// A cancel without a deadline ends the wait too (and frees its inotify).
func TestPathsCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- WaitPaths(ctx, []string{filepath.Join(t.TempDir(), "never")}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a cancelled wait went on")
	}
}
