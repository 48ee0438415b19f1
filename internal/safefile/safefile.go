// Package safefile reads and writes the files of a service tree safely. It
// reads what the suite takes from a tree (OPTIONS, catalog entries,
// templates, env files, state and stamp files) so that no such file can
// hang or exhaust its reader: a FIFO or a device in its place is refused
// at once, and a file is read only up to a limit. It replaces files
// atomically (write.go): never half a file.
//
// A plain os.ReadFile blocks for ever on a FIFO with no writer, and reads
// /dev/zero until memory runs out; either stalled sv-scan as a whole.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// The limits of what is read, by kind of file. docs/OPTIONS.md states
// them (internal/options/doc.go).
const (
	// ConfigLimit bounds what a person writes: OPTIONS and its overlays,
	// .opt/SVC_OPTIONS, site catalog entries and templates; and the sync
	// stamps, which list the paths of a service.
	ConfigLimit = 1 << 20
	// EnvLimit bounds an SVC_ENV_FILE, which becomes a daemon's
	// environment: twice what execve takes in all (a quarter of the
	// stack limit, 2 MiB by default), so that it never refuses a file
	// that a daemon could be given.
	EnvLimit = 4 << 20
	// StateLimit bounds what a supervisor writes: supervise/state.json,
	// status and pid, the restart record, start answers. Each is a few
	// hundred bytes.
	StateLimit = 64 << 10
)

// Sentinels for errors.Is: every refusal wraps one of them.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("too large")
)

// Refused says why a file was not read: what it is instead of a regular
// file, or the limit it exceeds. ReadFile returns it inside an
// *fs.PathError, as os.ReadFile returns its errors.
type Refused struct {
	Err  error  // ErrNotRegular or ErrTooLarge
	What string // "a FIFO"; or the limit, "1 MiB"
}

func (r *Refused) Error() string {
	if r.Err == ErrTooLarge {
		return "larger than " + r.What
	}
	return fmt.Sprintf("%v (%s)", r.Err, r.What)
}

func (r *Refused) Unwrap() error { return r.Err }

// ReadFile reads the regular file at path, of at most limit bytes. It
// opens without blocking (a FIFO with no writer opens at once), then
// refuses anything fstat does not call a regular file, and a file that
// holds more than limit bytes. Errors are *fs.PathError, so that
// errors.Is(err, fs.ErrNotExist) works as with os.ReadFile.
func ReadFile(path string, limit int) ([]byte, error) {
	fd, st, err := openRegular(path, limit)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// Room for one byte more than the limit tells a file that grew past
	// it (or a /proc file, whose size says 0) from one that fits. The
	// first buffer is at most firstBuffer: a size is only what stat says.
	buf := make([]byte, 0, min(int(st.Size), limit, firstBuffer)+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(len(buf), limit)+1)
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, tooLarge(path, limit)
		}
	}
}

// Open opens the regular file at path for reading, as ReadFile would
// read it, for a reader that follows it as it grows (sv-ctl log -f):
// anything else is refused, unopened.
func Open(path string) (*os.File, error) {
	fd, _, err := openRegular(path, math.MaxInt)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openRegular opens path if it is a regular file of at most limit bytes,
// and gives its status as opened. A file that is no regular file is not
// even opened: opening a device can do something (a watchdog's starts
// counting). fstat after the open catches what was put in its place
// meanwhile.
func openRegular(path string, limit int) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return -1, st, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return -1, st, refusal(path, st.Mode, st.Size, limit)
	}
	fd, err := open(path)
	if err != nil {
		return -1, st, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := refusal(path, st.Mode, st.Size, limit); err != nil {
		unix.Close(fd)
		return -1, st, err
	}
	return fd, st, nil
}

// firstBuffer bounds the first allocation of ReadFile, whatever the
// file's size claims (/proc/kcore's is 128 TiB); the buffer grows as
// bytes come.
const firstBuffer = 64 << 10

// open opens path for reading: O_NONBLOCK so that neither a FIFO nor a
// device (a tty waiting for carrier) can block the open, O_NOCTTY so that
// a terminal never becomes the reader's controlling one.
func open(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func tooLarge(path string, limit int) error {
	return &fs.PathError{Op: "read", Path: path, Err: &Refused{Err: ErrTooLarge, What: Size(limit)}}
}

// Size writes a limit as people do: 1 MiB, 64 KiB, 100 bytes.
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Check says, from what stat found, whether ReadFile would read path (it
// could change before): nil, or the refusal ReadFile would give. For a
// check ahead of time (sv-gen check), not in place of ReadFile.
func Check(path string, fi fs.FileInfo, limit int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return refusal(path, st.Mode, st.Size, limit)
}

// refusal is why a file of this mode and size is not read, or nil.
func refusal(path string, mode uint32, size int64, limit int) error {
	if mode&unix.S_IFMT != unix.S_IFREG {
		return &fs.PathError{Op: "read", Path: path, Err: &Refused{Err: ErrNotRegular, What: kind(mode)}}
	}
	if size > int64(limit) {
		return tooLarge(path, limit)
	}
	return nil
}

// kind names a file type that is not a regular file.
func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return fmt.Sprintf("file type %#o", mode&unix.S_IFMT)
}

// Why is the reason alone of an error from ReadFile, without the
// operation and path that *fs.PathError adds: for messages that name the
// path themselves.
func Why(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Short is an error from ReadFile as a message shows it, without the
// operation: "PATH: not a regular file (a FIFO)". It wraps err.
func Short(err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return err
	}
	return &short{pe}
}

type short struct{ pe *fs.PathError }

func (s *short) Error() string { return s.pe.Path + ": " + s.pe.Err.Error() }
func (s *short) Unwrap() error { return s.pe }
