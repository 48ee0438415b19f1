package supervise

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/supervision-suite/supervision/internal/health"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
)

// checkHealth runs one check of u's run in a goroutine of its own; its
// result comes back as an event of the service, for the run it was made
// for (gen), within SVC_HEALTH_TIMEOUT.
func (s *service) checkHealth(u *unit) {
	h, gen, pgid := *u.cfg.health, u.gen, u.pgid
	if u.memLimit {
		h.MemoryMax = 0 // the kernel holds it to it
	}
	cg := s.cgroupOf(u)
	pids := func() []int {
		if cg != nil {
			if ps, err := cg.Procs(); err == nil {
				return ps
			}
		}
		return groupPids(pgid)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
		defer cancel()
		fail := ""
		if err := health.Check(ctx, h, pids, func(ctx context.Context, cmd []string) error { return s.runHealthCheck(ctx, u, cmd) }); err != nil {
			fail = err.Error()
			if ctx.Err() != nil {
				fail += " (SVC_HEALTH_TIMEOUT=" + h.Timeout.String() + ")"
			}
		}
		s.send(event{kind: evHealth, u: u, gen: gen, fail: fail})
	}()
}

// runHealthCheck runs a check: command through the reaper, its output
// kept (its last 200 bytes say why it failed).
func (s *service) runHealthCheck(ctx context.Context, u *unit, cmd []string) error {
	path, err := options.LookPath(cmd[0], os.Getenv("PATH")+":"+options.DefaultPath, u.dir)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	p, err := s.sc.reaper.Start(proc.Spec{Path: path, Argv: cmd, Env: s.sc.environ, Dir: u.dir,
		Files: []*os.File{s.sc.devnull, w, w}, CgroupFD: -1})
	w.Close()
	if err != nil {
		return err
	}
	defer p.Release()
	out := make(chan []byte, 1)
	go func() {
		data, _ := io.ReadAll(io.LimitReader(r, 64<<10))
		out <- data
	}()
	select {
	case ex := <-p.Exit:
		data := <-out
		if ex.Code() == 0 {
			return nil
		}
		text := strings.TrimSpace(string(data))
		if len(text) > 200 {
			text = text[len(text)-200:]
		}
		if text == "" {
			return errors.New(ex.String())
		}
		return errors.New(ex.String() + ": " + text)
	case <-ctx.Done():
		proc.SignalGroup(p.Pid, syscall.SIGKILL) // its own session: its group
		<-p.Exit
		return ctx.Err()
	}
}

// groupPids are the processes of the process group pgid (a service
// without a cgroup), found in /proc.
func groupPids(pgid int) []int {
	if pgid <= 0 {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pg, err := syscall.Getpgid(pid); err == nil && pg == pgid {
			out = append(out, pid)
		}
	}
	return out
}
