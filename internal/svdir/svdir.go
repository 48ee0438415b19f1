// Package svdir speaks the on-disk protocol of a daemontools-family service
// directory: supervise/control, supervise/ok, supervise/lock and the status
// files that runsv, supervise and s6-supervise keep, with their TAI64N
// timestamps (tai.go).
package svdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
)

// Supervised reports whether a supervisor is running for the service dir.
// Like runit's sv, it opens supervise/ok for writing without blocking: a
// supervisor holds the FIFO open for reading, so the open succeeds only
// while one runs (ENXIO otherwise).
func Supervised(serviceDir string) (bool, error) {
	fd, err := unix.Open(filepath.Join(serviceDir, "supervise", "ok"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		unix.Close(fd)
		return true, nil
	case errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return false, nil
	}
	return false, &os.PathError{Op: "open", Path: filepath.Join(serviceDir, "supervise", "ok"), Err: err}
}

// StatusEvents reports whether a buffer of inotify events on a supervise
// directory says its status may have changed: an event on status or
// state.json (the files a supervisor replaces) or sv-exec's exec mark, on
// the directory itself, or a directory created (a supervise directory,
// seen from its parent). Events on the FIFOs are not: a client checking
// whether a supervisor runs opens supervise/ok itself, and must not wake
// on that.
func StatusEvents(buf []byte) bool {
	return anyEvent(buf, func(mask uint32, name string) bool {
		created := mask&unix.IN_CREATE != 0 && mask&unix.IN_ISDIR != 0
		return name == "" || name == "status" || name == StateFile || name == ExecFile || created
	})
}

// SupervisorEvents is StatusEvents, and also says when a supervisor lets
// go of supervise/ok (it holds it open for reading; a client checking it
// opens it for writing).
func SupervisorEvents(buf []byte) bool {
	return StatusEvents(buf) || anyEvent(buf, func(mask uint32, name string) bool {
		return name == "ok" && mask&unix.IN_CLOSE_NOWRITE != 0
	})
}

// FifodirEvents reports whether inotify events on an s6 fifodir (a
// service's event/) say its supervisor wrote to a listener's FIFO: it
// closes each one after writing. Listeners' FIFOs are named ftrig1:...
func FifodirEvents(buf []byte) bool {
	return anyEvent(buf, func(mask uint32, name string) bool {
		return mask&unix.IN_CLOSE_WRITE != 0 && strings.HasPrefix(name, "ftrig1:")
	})
}

// anyEvent reports whether an event of buf satisfies match; a buffer cut
// short counts as a match (nothing is missed).
func anyEvent(buf []byte, match func(mask uint32, name string) bool) bool {
	evs, whole := inotify.Events(buf)
	for _, e := range evs {
		if match(e.Mask, e.Name) {
			return true
		}
	}
	return !whole
}
