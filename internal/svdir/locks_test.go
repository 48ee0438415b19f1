package svdir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteLockIn(t *testing.T) {
	id := fileID{major: 0, minor: 0x1a, ino: 5678}
	cases := []struct {
		name, table string
		want        bool
	}{
		{"flock write", "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF\n", true},
		{"posix write", "1: POSIX  ADVISORY  WRITE 1234 00:1a:5678 0 EOF\n", true},
		{"ofd write", "3: OFDLCK ADVISORY  WRITE -1 00:1a:5678 0 EOF\n", true},
		{"read lock is a probe", "1: FLOCK  ADVISORY  READ 1234 00:1a:5678 0 EOF\n", false},
		{"waiter", "1: FLOCK  ADVISORY  WRITE 1 00:1a:5678 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 99 00:1a:5678 0 EOF\n", true},
		{"only a waiter", "1: -> FLOCK  ADVISORY  WRITE 99 00:1a:5678 0 EOF\n", false},
		{"lease", "1: LEASE  ACTIVE    WRITE 1234 00:1a:5678 0 EOF\n", false},
		{"other inode", "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5679 0 EOF\n", false},
		{"other device", "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF\n", false},
		{"hex minor", "1: FLOCK  ADVISORY  WRITE 1234 00:1A:5678 0 EOF\n", true},
		{"garbage", "what\n1: FLOCK\n\n1: FLOCK ADVISORY WRITE 1 x:y:z 0 EOF\n", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		got, err := writeLockIn(strings.NewReader(c.table), id)
		if err != nil || got != c.want {
			t.Errorf("%s: got %v %v, want %v", c.name, got, err, c.want)
		}
	}
}

func FuzzWriteLockIn(f *testing.F) {
	f.Add("1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF\n")
	f.Add("1: -> POSIX ADVISORY WRITE 1 fd:01:1 0 EOF\n")
	f.Fuzz(func(t *testing.T, table string) {
		// It never fails on content, and never claims a lock on a file
		// the table does not name.
		got, err := writeLockIn(strings.NewReader(table), fileID{major: 1, minor: 2, ino: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got && !strings.Contains(strings.ToLower(table), ":2:3") && !strings.Contains(table, ":02:3") {
			t.Fatalf("claims a lock on 1:2:3 in %q", table)
		}
	})
}

func TestWriteLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	if _, err := WriteLocked(path); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := func(what string, want bool) {
		t.Helper()
		if got, err := WriteLocked(path); err != nil || got != want {
			t.Fatalf("%s: got %v %v, want %v", what, got, err, want)
		}
	}
	check("unlocked", false)
	syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
	check("shared flock", false)
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	check("exclusive flock (runsv, sv-scan)", true)
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	check("unlocked again", false)
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	check("fcntl write lock (s6-supervise)", true)
}
