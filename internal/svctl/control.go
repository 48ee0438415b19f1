package svctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Resolver finds services by name: in the scan dir first, then among the
// definitions.
type Resolver struct {
	ScanDir string
	SvDir   string
}

// Resolve turns an argument into a service: a path (with a slash, or
// starting with a dot) is taken as it is; a name is looked up.
func (r Resolver) Resolve(arg string) (Service, error) {
	if strings.Contains(arg, "/") || strings.HasPrefix(arg, ".") {
		abs, err := filepath.Abs(arg)
		if err != nil {
			return Service{}, err
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return Service{}, fmt.Errorf("%s: %w", arg, ErrUnknown)
		}
		return Service{Name: filepath.Base(abs), Dir: abs}, nil
	}
	if err := options.CheckServiceName(arg); err != nil {
		return Service{}, err
	}
	for _, dir := range []string{r.ScanDir, r.SvDir} {
		p := filepath.Join(dir, arg)
		if _, err := os.Stat(p); err == nil {
			return Service{Name: arg, Dir: p}, nil
		}
	}
	return Service{}, fmt.Errorf("%s: %w in %s or %s", arg, ErrUnknown, r.ScanDir, r.SvDir)
}

// ErrUnknown: no service by that name, or no directory at that path.
var ErrUnknown = errors.New("no such service")

// All lists the services linked in the scan dir.
func (r Resolver) All() ([]Service, error) {
	ents, err := os.ReadDir(r.ScanDir)
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, Service{Name: e.Name(), Dir: filepath.Join(r.ScanDir, e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Send writes control letters to the service's supervisor.
func Send(svc Service, letters string) error {
	err := svdir.SendControl(svc.Dir, letters)
	switch {
	case errors.Is(err, svdir.ErrNotSupervised):
		return fmt.Errorf("%s: not supervised: nothing listens on %s", svc.Name, filepath.Join(svc.Dir, "supervise", "control"))
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s: permission denied on %s (the supervisor's user, or root, may control it)", svc.Name, filepath.Join(svc.Dir, "supervise", "control"))
	case err != nil:
		return fmt.Errorf("%s: %w", svc.Name, err)
	}
	return nil
}

// letters maps signals to the control letters of runsv(8), which every
// supervisor of the family understands.
var letters = map[syscall.Signal]string{
	syscall.SIGHUP: "h", syscall.SIGINT: "i", syscall.SIGQUIT: "q", syscall.SIGUSR1: "1",
	syscall.SIGUSR2: "2", syscall.SIGALRM: "a", syscall.SIGTERM: "t", syscall.SIGKILL: "k",
	syscall.SIGSTOP: "p", syscall.SIGCONT: "c",
}

// Signal sends sig to the service: through its supervisor when there is a
// letter for it, else straight to the daemon's process group.
func Signal(svc Service, sig syscall.Signal) error {
	if l, ok := letters[sig]; ok {
		return Send(svc, l)
	}
	info, err := Status(svc)
	if err != nil {
		return err
	}
	if info.Pid == 0 {
		return fmt.Errorf("%s: not running", svc.Name)
	}
	if err := syscall.Kill(-info.Pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return syscall.Kill(info.Pid, sig)
		}
		return fmt.Errorf("%s: signal %s to pid %d: %w", svc.Name, options.SignalName(sig), info.Pid, err)
	}
	return nil
}
