package backend

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// listenExit subscribes to an s6-supervise'd service's events the way s6's
// own clients (s6-svwait) do: a FIFO in DIR/event with a name of theirs,
// to which s6-supervise writes a letter at each event (x as it exits).
// The write, closed, is an inotify event on DIR/event, which the caller
// watches: the supervisor leaving, which its lock does not show, then
// wakes the wait at once instead of at its Recheck. It returns the event
// directory and what undoes the subscription; "" when it cannot be made
// (no event directory): the Recheck still bounds the wait.
func (s6) listenExit(dir string) (string, func()) {
	eventDir := filepath.Join(dir, "event")
	name := s6FifoName(time.Now())
	hidden := filepath.Join(eventDir, "."+name)
	if err := unix.Mkfifo(hidden, 0o600); err != nil {
		return "", func() {}
	}
	// Read end first: s6-supervise drops a FIFO that no one reads. The
	// write end is ours too, so the read end never sees EOF.
	r, err := os.OpenFile(hidden, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		os.Remove(hidden)
		return "", func() {}
	}
	w, err := os.OpenFile(hidden, os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		r.Close()
		os.Remove(hidden)
		return "", func() {}
	}
	visible := filepath.Join(eventDir, name)
	if err := os.Rename(hidden, visible); err != nil {
		w.Close()
		r.Close()
		os.Remove(hidden)
		return "", func() {}
	}
	return eventDir, func() {
		os.Remove(visible)
		w.Close()
		r.Close()
	}
}

// s6FifoName is the name s6's ftrig clients give their FIFO, which
// s6-supervise's notifier requires: "ftrig1:@", the time as TAI64N in
// hex (24 digits), ":" and 6 characters to make it unique.
func s6FifoName(now time.Time) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// Unique, not secret: math/rand/v2's generator, seeded by the runtime,
	// keeps crypto/rand (and its start-up cost) out of every sv-rc run.
	var b [6]byte
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return fmt.Sprintf("ftrig1:@%016x%08x:%s", uint64(1)<<62+uint64(now.Unix())+10, now.Nanosecond(), b[:])
}
