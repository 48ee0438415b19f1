package supervise

import (
	"context"
	"os"
	"strconv"
	"syscall"

	"github.com/supervision-suite/supervision/internal/health"
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
		if err := health.Check(ctx, h, pids, func(ctx context.Context, cmd []string) error { return s.runCheck(ctx, u, cmd) }); err != nil {
			fail = err.Error()
			if ctx.Err() != nil {
				fail += " (SVC_HEALTH_TIMEOUT=" + h.Timeout.String() + ")"
			}
		}
		s.send(event{kind: evHealth, u: u, gen: gen, fail: fail})
	}()
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
