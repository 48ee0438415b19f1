// Package backend drives services on the supervisors of the daemontools
// family: the suite's own sv-scan ("builtin"), runit, s6 and daemontools.
// Each speaks the same service directory (supervise/control, status, ok);
// they differ in how a scanner is run, told to rescan, and let go of a
// service. Start and Stop are the race-free algorithms sv-rc runs on any
// of them.
package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Supervisor is one supervisor family.
type Supervisor interface {
	// Name is the backend's name in conf.d: builtin, runit, s6, daemontools.
	Name() string
	// Scanner is the command that supervises every service of scanDir.
	Scanner(scanDir string) ([]string, error)
	// ScannerReady reports whether the scanner of scanDir answers.
	ScannerReady(scanDir string) bool
	// Rescan makes the scanner look at scanDir now. ErrNoRescan: it cannot
	// be told, and notices new links by itself within NoticeDelay.
	Rescan(scanDir string) error
	// ExitScanner tells the scanner to stop every service and exit.
	// ErrNoScannerControl: it cannot be told (only a signal ends it).
	ExitScanner(scanDir string) error
	// NoticeDelay bounds how long the scanner takes to notice a new link
	// by itself (0: it is told, or it watches).
	NoticeDelay() time.Duration
	// Limits says what this supervisor cannot do, for the docs and errors.
	Limits() string

	// Supervised reports whether a supervisor runs the service dir.
	Supervised(dir string) (bool, error)
	// Send writes control letters (runsv(8)'s: u d o x t k h ...).
	Send(dir, letters string) error
	// Status reads the service's state.
	Status(dir string) (svctl.Info, error)
	// Release makes the service's own supervisor exit, once the service
	// is unlinked from the scan dir and down.
	Release(ctx context.Context, dir, scanDir string) error
	// Prepare readies the service dir for this supervisor, where nothing
	// supervises it yet; a supervised one it leaves alone.
	Prepare(dir string) error
	// EndsSupervisors reports whether stopping the scanner ends the
	// services' supervisors too.
	EndsSupervisors() bool
}

// ErrNoScannerControl: the scanner has no control FIFO to tell it to exit.
var ErrNoScannerControl = errors.New("this scanner cannot be told to exit (only a signal ends it)")

// ErrNoRescan: the scanner cannot be told to rescan.
var ErrNoRescan = errors.New("this scanner cannot be told to rescan")

// Names lists the backends, for help and errors.
func Names() []string {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var all = map[string]Supervisor{
	"builtin":     builtin{},
	"runit":       runit{},
	"s6":          s6{},
	"daemontools": daemontools{},
}

// Get returns the backend called name.
func Get(name string) (Supervisor, error) {
	if s, ok := all[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown backend %q (want one of %v)", name, Names())
}

// family is what every member shares: the control FIFO, the status files
// and sv-ctl's reading of them.
type family struct{}

// Supervised: runsv, supervise and sv-scan hold supervise/ok open for
// reading while they run. (They open it an instant after taking their
// lock, as they start; the kernel's lock table would tell that instant
// too, but each look at it waits for an RCU grace period, and a start or
// stop looks often.)
func (family) Supervised(dir string) (bool, error) { return svdir.Supervised(dir) }

func (family) Send(dir, letters string) error {
	return svctl.Send(svctl.Service{Name: filepath.Base(dir), Dir: dir}, letters)
}

func (family) Status(dir string) (svctl.Info, error) {
	return svctl.Status(svctl.Service{Name: filepath.Base(dir), Dir: dir})
}

// release sends x to the service and to its log service, and waits until
// their supervisors are gone: runsv, supervise and s6-supervise exit on x
// once their service is down.
func (f family) release(ctx context.Context, sup Supervisor, dir string) error {
	dirs := []string{dir}
	if _, err := os.Stat(filepath.Join(dir, "log")); err == nil {
		dirs = append(dirs, filepath.Join(dir, "log"))
	}
	if err := tellExit(dirs...); err != nil {
		return err
	}
	if err := waitUnsupervised(ctx, sup, dir); err != nil {
		return err
	}
	if len(dirs) == 1 {
		return nil
	}
	// The logger exits at the end of its input; if something still holds
	// the pipe open after a while, it is stopped instead.
	lctx, cancel := context.WithTimeout(ctx, logGrace)
	err := waitUnsupervised(lctx, sup, dirs[1])
	cancel()
	if err == nil {
		return nil
	}
	svdir.SendControl(dirs[1], "dx")
	return waitUnsupervised(ctx, sup, dirs[1])
}

// tellExit sends x to each service dir's supervisor. One already gone is
// no error, nor EPIPE: the supervisor closed its FIFO between our open
// and write; it is going, as asked.
func tellExit(dirs ...string) error {
	for _, d := range dirs {
		err := svdir.SendControl(d, "x")
		if err != nil && !errors.Is(err, svdir.ErrNotSupervised) && !errors.Is(err, syscall.EPIPE) {
			return err
		}
	}
	return nil
}

// logGrace is how long a logger has to read the end of its input.
const logGrace = 2 * time.Second

// Link puts the service dir into the scan dir as name, atomically; a link
// there already pointing at dir is left as it is.
func Link(scanDir, name, dir string) error {
	path := filepath.Join(scanDir, name)
	if t, err := os.Readlink(path); err == nil && t == dir {
		return nil
	}
	return renameio.Symlink(dir, path)
}

// Unlink takes name out of the scan dir; no link is no error.
func Unlink(scanDir, name string) error {
	err := os.Remove(filepath.Join(scanDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// controlFIFOReady reports whether a scanner reads its control FIFO
// (writing nothing to it tells).
func controlFIFOReady(path string) bool { return svdir.WriteFIFO(path, "") == nil }

// exitByFIFO writes `t` to a scanner's control FIFO; no scanner reading
// it is one that has exited already.
func exitByFIFO(path string) error {
	if err := svdir.WriteFIFO(path, "t"); err != nil && !errors.Is(err, svdir.ErrNotSupervised) {
		return err
	}
	return nil
}

// writeControlFIFO writes letters to a scanner's control FIFO.
func writeControlFIFO(path, letters string) error {
	err := svdir.WriteFIFO(path, letters)
	if errors.Is(err, svdir.ErrNotSupervised) {
		return fmt.Errorf("no scanner listens on %s", path)
	}
	return err
}
