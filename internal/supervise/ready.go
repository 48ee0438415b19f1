package supervise

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/ready"
)

// watchReady follows SVC_READY for the run c through package ready, with
// what only the service has: the fd:N pipe of the run, its notify socket,
// and the reaper to run check: commands. fresh: c was started now (an
// adopted daemon's fd:N pipe was the previous sv-scan's). The unit arms
// SVC_READY_TIMEOUT.
func (s *service) watchReady(u *unit, c child, fresh bool) {
	pipe := u.io.readyPipe
	u.io.readyPipe = nil
	gen := u.gen
	done := func() { s.send(event{kind: evReady, u: u, gen: gen}) }
	ctx, cancel := context.WithCancel(context.Background())
	u.io.cancelReady = cancel
	switch r := u.cfg.ready; r.Kind {
	case options.ReadyFD:
		if !fresh || pipe == nil {
			u.errMsg = "readiness unknown: adopted before it was ready, and fd readiness cannot be resumed"
			return
		}
		go ready.ReadLine(ctx, pipe, done)
	case options.ReadyNotify:
		ns, err := s.notifySocket()
		if err != nil {
			u.errMsg = err.Error()
			return
		}
		pid := c.pid()
		ns.Expect(pid, done)
		// Forget this run's expectation when the run ends, at once (in the
		// unit's goroutine, before any next run registers its own).
		u.io.cancelReady = func() { cancel(); ns.Forget(pid) }
	default:
		check := func(ctx context.Context, cmd []string) error { return s.runCheck(ctx, u, cmd) }
		go ready.Watch(ctx, r, check, done)
	}
}

// stopWatchingReady ends the readiness watch of the unit's run.
func (s *service) stopWatchingReady(u *unit) {
	if u.io.cancelReady != nil {
		u.io.cancelReady()
		u.io.cancelReady = nil
	}
	if u.io.readyPipe != nil {
		u.io.readyPipe.Close()
		u.io.readyPipe = nil
	}
}

// checkOutputWait bounds the wait for a failed check's output, once it
// has exited.
const checkOutputWait = 100 * time.Millisecond

// runCheck runs a check:CMD (SVC_READY, SVC_HEALTH) once, through the
// reaper like every child; a failure says how it ended and the end of
// what it printed.
func (s *service) runCheck(ctx context.Context, u *unit, cmd []string) error {
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
		if ex.Code() == 0 {
			return nil
		}
		// What it printed is in the pipe; a process it left running may
		// hold the pipe open, and is not waited for.
		r.SetReadDeadline(time.Now().Add(checkOutputWait))
		text := strings.TrimSpace(string(<-out))
		if len(text) > 200 {
			text = text[len(text)-200:]
		}
		if text == "" {
			return errors.New(ex.String())
		}
		return errors.New(ex.String() + ": " + text)
	case <-ctx.Done():
		// Through the pidfd: a process that has just exited (its exit
		// ready too, select having picked this case) is not confused with
		// whatever reuses its pid.
		p.Signal(syscall.SIGKILL)
		<-p.Exit
		return ctx.Err()
	}
}

// notifySocket returns the service's sd_notify socket, bound at its first
// use: by the first start, or the adoption, of a daemon that wants one.
func (s *service) notifySocket() (*ready.NotifySocket, error) {
	if s.notify == nil {
		ns, err := ready.ListenNotify(s.sc.key, s.name)
		if err != nil {
			return nil, err
		}
		s.notify = ns
	}
	return s.notify, nil
}
