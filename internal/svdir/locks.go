package svdir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// procLocks is the kernel's table of every file lock held.
const procLocks = "/proc/locks"

// fileID is what /proc/locks names a file by: its filesystem's device and
// its inode.
type fileID struct {
	major, minor uint32
	ino          uint64
}

// WriteLocked reports whether some process holds an exclusive lock (flock,
// POSIX or OFD) on the file at path, the way a supervisor holds
// supervise/lock. It only reads the kernel's lock table: probing with a
// lock of its own, as s6-svok does, would make a supervisor taking the lock
// at that moment fail. Locks of processes outside this PID namespace are
// not listed there; F_GETLK still sees their POSIX and OFD locks.
func WriteLocked(path string) (bool, error) {
	// Without blocking: a FIFO in the lock's place must not hang the asker.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err == nil && lk.Type == unix.F_WRLCK {
		return true, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	table, err := os.Open(procLocks)
	if err != nil {
		return false, fmt.Errorf("cannot tell whether %s is locked: %w", path, err)
	}
	defer table.Close()
	id := fileID{major: unix.Major(st.Dev), minor: unix.Minor(st.Dev), ino: st.Ino}
	return writeLockIn(table, id)
}

// writeLockIn reads a /proc/locks table and reports whether it lists a
// granted write lock on the file id. Lines look like
//
//	1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF
//	1: -> FLOCK  ADVISORY  WRITE 99 00:1a:5678 0 EOF   (a waiter, not a holder)
//
// with the device's major and minor in hex and the inode in decimal.
func writeLockIn(r io.Reader, id fileID) (bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || string(f[1]) == "->" {
			continue
		}
		switch string(f[1]) {
		case "FLOCK", "POSIX", "OFDLCK":
		default:
			continue // leases and delegations are not locks
		}
		if string(f[3]) != "WRITE" {
			continue
		}
		if got, ok := parseFileID(f[5]); ok && got == id {
			return true, nil
		}
	}
	return false, sc.Err()
}

// parseFileID reads "MAJOR:MINOR:INODE" (hex, hex, decimal).
func parseFileID(b []byte) (fileID, bool) {
	parts := bytes.Split(b, []byte(":"))
	if len(parts) != 3 {
		return fileID{}, false
	}
	major, err1 := strconv.ParseUint(string(parts[0]), 16, 32)
	minor, err2 := strconv.ParseUint(string(parts[1]), 16, 32)
	ino, err3 := strconv.ParseUint(string(parts[2]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fileID{}, false
	}
	return fileID{uint32(major), uint32(minor), ino}, true
}
