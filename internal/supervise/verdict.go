package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/rcdaemons"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/startreq"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// verdicts are the FIFOs where sv-scan says how the starts it made on
// request went, to init scripts waiting with shell builtins (see
// startreq): one per service, made at its first request and held open,
// read and write, for as long as sv-scan runs. An init script opens its
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
	v := &verdicts{dir: filepath.Dir(startreq.VerdictPath(scanDir, "x")), fds: map[string]int{}}
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

// verify watches a start made on request as sv-rc would, and says the
// verdict. Before "ok" the daemon is recorded for OpenRC, as sv-rc does.
func (s *Scanner) verify(ctx context.Context, r startreq.Request, a startreq.Answer, svc backend.Service) {
	v := startreq.Verdict{Token: r.Token, OK: true}
	if err := backend.Verify(ctx, svc, a); err != nil {
		v = startreq.Verdict{Token: r.Token, Outcome: "failed", Reason: err.Error()}
	} else if r.OpenRC != "" {
		pidfile := filepath.Join(s.cfg.Tree.ScanDir, r.Name, "supervise", "pid")
		if err := rcdaemons.Mark(r.OpenRC, rcdaemons.Prefix+r.Name, pidfile); err != nil {
			v = startreq.Verdict{Token: r.Token, Outcome: "failed", Reason: "recording its daemon for OpenRC: " + err.Error()}
		}
	}
	if !v.OK {
		s.vlogf("%s: start on request not verified: %s", r.Name, v.Reason)
		// Down at once, not restarting until sv-rc stops it: the init
		// script may never get that far (killed), and a failed start
		// leaves the service down. (Not supervised: stopped already.)
		err := svdir.SendControl(filepath.Join(s.cfg.Tree.ScanDir, r.Name), "d")
		if err != nil && !errors.Is(err, svdir.ErrNotSupervised) {
			s.logf("%s: taking a failed start down: %v", r.Name, err)
		}
		// For sv-rc, which the init script runs next to stop it and
		// say why: what it would see now may be a later state (the
		// daemon restarted by its own readiness timeout).
		failed := startreq.Answer{Token: r.Token, Started: true, Failed: true, Reason: v.Reason}
		if err := safefile.Write(startreq.AnswerPath(s.dir, r.Name), failed.Encode(), 0o644); err != nil {
			s.logf("%s: answering a start request: %v", r.Name, err)
		}
	}
	if err := s.verdicts.say(r.Name, v.Encode()); err != nil {
		s.logf("%v", err)
	}
}
