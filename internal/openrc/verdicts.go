package openrc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// verdicts are the FIFOs where sv-scan says how the starts it made on
// request went, to init scripts waiting with shell builtins (see
// request.go): one per service, made at sv-scan's start for a service
// with a sync stamp, else at its first request, and held open, read and
// write, for as long as sv-scan runs. An init script opens its
// end only while sv-scan holds the FIFO, so its read ends with a line or,
// sv-scan gone, at EOF: never a hang.
type verdicts struct {
	dir string
	mu  sync.Mutex
	fds map[string]int // service name -> the FIFO, held
}

// openVerdicts makes the verdicts' directory and holds the FIFOs an
// earlier sv-scan left there.
func openVerdicts(scanDir string) (*verdicts, error) {
	v := &verdicts{dir: filepath.Dir(VerdictPath(scanDir, "x")), fds: map[string]int{}}
	if err := os.MkdirAll(v.dir, 0o755); err != nil {
		return nil, fmt.Errorf("start verdicts: %w", err)
	}
	ents, err := os.ReadDir(v.dir)
	if err != nil {
		return nil, fmt.Errorf("start verdicts: %w", err)
	}
	for _, e := range ents {
		if e.Type()&os.ModeNamedPipe != 0 {
			v.hold(e.Name())
		}
	}
	return v, nil
}

// hold makes name's FIFO if it is not there and holds it; it says whether
// it was held before (an init script may then be waiting on it).
func (v *verdicts) hold(name string) (before bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.fds[name]; ok {
		return true
	}
	path := filepath.Join(v.dir, name)
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return false
	}
	// Non-blocking: a FIFO full of lines no one read (their readers
	// died) must not stop the writer; see say.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd) // not a FIFO (a shell's `<>` made a file)
		os.Remove(path)
		return false
	}
	v.fds[name] = fd
	return false
}

// say writes one verdict on name's FIFO. A line that does not fit (the
// FIFO full of lines no one read) or any other failure closes and removes
// the FIFO: a reader then sees EOF, and the next request makes a new one.
func (v *verdicts) say(name string, line []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	fd, ok := v.fds[name]
	if !ok {
		return nil
	}
	n, err := unix.Write(fd, line)
	if err == nil && n == len(line) {
		return nil
	}
	if err == nil {
		err = errors.New("short write")
	}
	delete(v.fds, name)
	unix.Close(fd)
	os.Remove(filepath.Join(v.dir, name))
	return fmt.Errorf("%s: start verdict: %w", name, err)
}
