package proc

import (
	"errors"

	"golang.org/x/sys/unix"
)

// procReader reads small /proc files and directories with bare system
// calls into buffers it keeps. os.ReadFile costs several times as much per
// file (an fstat, registering with the poller, a file object), and a
// start's settle reads a few /proc files many times a millisecond while
// the daemon it waits for is still loading, on the same CPUs.
type procReader struct {
	buf  []byte
	dirb []byte
}

// file returns the contents of path, valid until the next call.
func (r *procReader) file(path string) ([]byte, error) {
	fd, err := openRetry(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if r.buf == nil {
		r.buf = make([]byte, 1024)
	}
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := unix.Read(fd, r.buf[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return nil, err
		case m == 0:
			return r.buf[:n], nil
		}
		n += m
	}
}

// stat reads and parses a /proc/PID/stat (or task) file.
func (r *procReader) stat(path string) (Stat, error) {
	data, err := r.file(path)
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(data)
}

// names lists the entries of the directory path (without . and ..).
func (r *procReader) names(path string) ([]string, error) {
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if r.dirb == nil {
		r.dirb = make([]byte, 4096)
	}
	var names []string
	for {
		n, err := unix.ReadDirent(fd, r.dirb)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return nil, err
		case n <= 0:
			return names, nil
		}
		_, _, names = unix.ParseDirent(r.dirb[:n], -1, names)
	}
}

func openRetry(path string, mode int) (int, error) {
	for {
		fd, err := unix.Open(path, mode|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
