package initsys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Action is how the system ends.
type Action byte

// The control FIFO's letters.
const (
	Poweroff Action = 'p'
	Reboot   Action = 'r'
	Halt     Action = 'h'
)

func (a Action) String() string {
	switch a {
	case Poweroff:
		return "poweroff"
	case Reboot:
		return "reboot"
	case Halt:
		return "halt"
	}
	return fmt.Sprintf("unknown action %q", byte(a))
}

// ParseAction reads a command name: poweroff, reboot or halt.
func ParseAction(s string) (Action, error) {
	for _, a := range []Action{Poweroff, Reboot, Halt} {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%q is not poweroff, reboot or halt", s)
}

// DefaultControl is PID 1's control FIFO.
const DefaultControl = "/run/sv-init/control"

// openControl makes the control FIFO (root only: 0600) and opens it for
// reading. It is opened read-write so that it never reports end of file
// between two writers.
func openControl(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}

// sameFile reports whether path is still the file f has open.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// readControl sends each valid letter written to the FIFO to requests.
func readControl(f *os.File, requests chan<- Action) {
	buf := make([]byte, 64)
	for {
		n, err := f.Read(buf)
		for _, b := range buf[:n] {
			if a := Action(b); a == Poweroff || a == Reboot || a == Halt {
				requests <- a
			}
		}
		if err != nil {
			return
		}
	}
}

// Request asks the running sv-init, through its control FIFO, to end the
// system with a.
func Request(control string, a Action) error {
	fd, err := unix.Open(control, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: sv-init is not running (no one reads %s)", a, control)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s: permission denied on %s: only root may ask PID 1", a, control)
	case err != nil:
		return fmt.Errorf("%s: open %s: %w", a, control, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte{byte(a)}); err != nil {
		return fmt.Errorf("%s: write %s: %w", a, control, err)
	}
	return nil
}
