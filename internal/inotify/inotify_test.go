package inotify

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bound is how long a test waits for an event that must come.
const bound = 10 * time.Second

type event struct {
	mask uint32
	name string
}

func events(buf []byte) []event {
	var out []event
	evs, _ := Events(buf)
	for _, e := range evs {
		out = append(out, event{e.Mask, e.Name})
	}
	return out
}

// nextMatching waits for an event on name with a bit of mask, and returns
// every event seen until then.
func nextMatching(t *testing.T, w *Watch, name string, mask uint32) []event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var seen []event
	for {
		buf, err := w.Next(ctx, -1)
		if err != nil {
			t.Fatalf("no event %#x on %q within %s (saw %v): %v", mask, name, bound, seen, err)
		}
		for _, e := range events(buf) {
			seen = append(seen, e)
			if e.name == name && e.mask&mask != 0 {
				return seen
			}
		}
	}
}

func newWatch(t *testing.T, path string, mask uint32) *Watch {
	t.Helper()
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	if err := w.Add(path, mask); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEachWatchGetsWhatItAskedFor(t *testing.T) {
	dir := t.TempDir()
	creates := newWatch(t, dir, unix.IN_CREATE)
	deletes := newWatch(t, dir, unix.IN_DELETE)
	f := filepath.Join(dir, "a")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	for _, e := range nextMatching(t, deletes, "a", unix.IN_DELETE) {
		if e.mask&unix.IN_CREATE != 0 {
			t.Errorf("a watch for IN_DELETE was told of %v", e)
		}
	}
	for _, e := range nextMatching(t, creates, "a", unix.IN_CREATE) {
		if e.mask&unix.IN_DELETE != 0 {
			t.Errorf("a watch for IN_CREATE was told of %v", e)
		}
	}
}

func TestCloseKeepsSharedWatch(t *testing.T) {
	dir := t.TempDir()
	first := newWatch(t, dir, unix.IN_CREATE)
	second := newWatch(t, dir, unix.IN_CREATE)
	first.Close()
	if err := os.WriteFile(filepath.Join(dir, "b"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	nextMatching(t, second, "b", unix.IN_CREATE)
}

func TestCloseRemovesTheKernelWatch(t *testing.T) {
	dir := t.TempDir()
	w := newWatch(t, dir, unix.IN_CREATE)
	if n := watchesOn(t, dir); n != 1 {
		t.Fatalf("%d kernel watches on %s with one Watch, want 1", n, dir)
	}
	w.Close()
	if n := watchesOn(t, dir); n != 0 {
		t.Fatalf("%d kernel watches on %s after Close, want 0", n, dir)
	}
}

// watchesOn counts the watches of the process's instance on path's inode,
// from the instance's fdinfo (lines "inotify wd:1 ino:1a2b sdev:...").
func watchesOn(t *testing.T, path string) int {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(shared.fd))
	if err != nil {
		t.Fatal(err)
	}
	want := " ino:" + strconv.FormatUint(st.Ino, 16) + " "
	return strings.Count(string(data), want)
}

// One instance, whatever the number of Watches: each instance closed would
// cost a grace period.
func TestOneInstance(t *testing.T) {
	dir := t.TempDir()
	for range 5 {
		newWatch(t, dir, unix.IN_CREATE).Close()
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, _ := os.Readlink("/proc/self/fd/" + e.Name()); target == "anon_inode:inotify" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d inotify instances open, want 1", n)
	}
}

func TestWatchEndsWithItsFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWatch(t, dir, unix.IN_DELETE_SELF)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	nextMatching(t, w, "", unix.IN_IGNORED)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if len(w.wds) != 0 {
		t.Fatalf("the Watch still holds %d descriptors after the kernel dropped its watch", len(w.wds))
	}
}

func TestNextTimesOutAndEndsWithContext(t *testing.T) {
	w := newWatch(t, t.TempDir(), unix.IN_CREATE)
	buf, err := w.Next(context.Background(), time.Millisecond)
	if err != nil || len(buf) != 0 {
		t.Fatalf("Next with nothing happening = %q, %v; want nothing, nil", buf, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Next(ctx, -1); err == nil {
		t.Fatal("Next with an ended context returned no error")
	}
}

func TestAddMissingPath(t *testing.T) {
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	missing := filepath.Join(t.TempDir(), "missing")
	err = w.Add(missing, unix.IN_CREATE)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Add of a missing path = %v, want an error naming it", err)
	}
}

func record(wd int32, mask uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 1 + 15) / 16 * 16
	}
	rec := make([]byte, unix.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(rec[0:], uint32(wd))
	binary.NativeEndian.PutUint32(rec[4:], mask)
	binary.NativeEndian.PutUint32(rec[12:], uint32(n))
	copy(rec[unix.SizeofInotifyEvent:], name)
	return rec
}

func TestRecords(t *testing.T) {
	a, b := record(1, unix.IN_CREATE, "status"), record(2, unix.IN_IGNORED, "")
	buf := append(append([]byte{}, a...), b...)
	got := Records(buf)
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("Records = %q, want %q and %q", got, a, b)
	}
	if got := Records(buf[:len(a)+3]); len(got) != 1 {
		t.Fatalf("a record cut short: Records gave %d, want the one whole record", len(got))
	}
	evs, whole := Events(buf)
	if !whole || len(evs) != 2 || evs[0] != (Event{1, unix.IN_CREATE, "status"}) || evs[1] != (Event{2, unix.IN_IGNORED, ""}) {
		t.Fatalf("Events = %+v, %v", evs, whole)
	}
	if _, whole := Events(buf[:len(a)+3]); whole {
		t.Fatal("Events of a buffer cut short says it is whole")
	}
	long := record(3, unix.IN_CREATE, "x")
	binary.NativeEndian.PutUint32(long[12:], 1<<31) // a length past the buffer
	if got := Records(long); len(got) != 0 {
		t.Fatalf("a record longer than the buffer: Records gave %d, want none", len(got))
	}
}

func FuzzRecords(f *testing.F) {
	f.Add(record(1, unix.IN_CREATE, "status"))
	f.Add(append(record(1, unix.IN_CREATE, "ok"), record(2, unix.IN_IGNORED, "")...))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, buf []byte) {
		total := 0
		for _, rec := range Records(buf) {
			if len(rec) < unix.SizeofInotifyEvent {
				t.Fatalf("a record of %d bytes", len(rec))
			}
			if !bytes.Equal(rec, buf[total:total+len(rec)]) {
				t.Fatal("records are not the buffer's consecutive pieces")
			}
			total += len(rec)
		}
	})
}
