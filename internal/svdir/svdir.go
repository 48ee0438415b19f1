// Package svdir speaks the on-disk protocol of a daemontools-family service
// directory: supervise/control, supervise/ok, supervise/lock and the status
// files that runsv, supervise and s6-supervise keep.
package svdir

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
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
