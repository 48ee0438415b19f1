// Package ready observes a daemon's readiness, each SVC_READY kind the one
// way it can be: tcp, path and check are seen from outside (Probe once,
// Watch until they hold); fd:N and notify are messages from the daemon
// itself (ReadLine on the pipe at its fd N, a NotifySocket for sd_notify).
package ready

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/options"
)

// ErrNotProbeable is returned for kinds only the supervisor can observe.
var ErrNotProbeable = errors.New("readiness of this kind is signalled by the daemon, not probed")

// CheckFunc runs a check: command once; nil means it exited 0. It must
// end the command when ctx ends. The caller chooses how commands run: a
// supervisor that reaps every child itself cannot let os/exec wait for one.
type CheckFunc func(ctx context.Context, cmd []string) error

// Command runs check: commands with os/exec, with env in dir; a failure
// says the end of what the command printed.
func Command(env []string, dir string) CheckFunc {
	return func(ctx context.Context, argv []string) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env, cmd.Dir = env, dir
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		if len(out) > 200 {
			out = out[len(out)-200:]
		}
		return fmt.Errorf("%v %q", err, out)
	}
}

// Probe tests r once. nil means ready; run runs a check: command.
func Probe(ctx context.Context, r options.Ready, run CheckFunc) error {
	p := prober{run: run}
	return p.probe(ctx, r)
}

// Watch calls ready once r holds and returns nil, or returns why not when
// ctx ends (or for a kind it cannot watch). tcp and check are probed
// again and again, often at first and then less (the wait doubles up to
// maxWait): quick for a fast daemon, cheap for a slow one. A path is
// waited for with inotify, not polled.
func Watch(ctx context.Context, r options.Ready, run CheckFunc, ready func()) error {
	switch r.Kind {
	case options.ReadyPath:
		if err := inotify.WaitPaths(ctx, []string{r.Path}); err != nil {
			return err
		}
	case options.ReadyNone, options.ReadyTCP, options.ReadyCheck:
		// A dial that hangs (a filtered port) must not hold up the next try.
		p := prober{run: run, dial: net.Dialer{Timeout: time.Second}}
		if err := p.until(ctx, r); err != nil {
			return err
		}
	default:
		return ErrNotProbeable
	}
	ready()
	return nil
}

const (
	firstWait = 20 * time.Millisecond
	maxWait   = time.Second
)

func nextWait(wait time.Duration) time.Duration { return min(2*wait, maxWait) }

// prober tests the kinds seen from outside the daemon.
type prober struct {
	run  CheckFunc
	dial net.Dialer
}

// until probes r until it holds or ctx ends.
func (p *prober) until(ctx context.Context, r options.Ready) error {
	for wait := firstWait; ctx.Err() == nil; wait = nextWait(wait) {
		if p.probe(ctx, r) == nil {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return ctx.Err()
}

func (p *prober) probe(ctx context.Context, r options.Ready) error {
	switch r.Kind {
	case options.ReadyNone:
		return nil
	case options.ReadyTCP:
		conn, err := p.dial.DialContext(ctx, "tcp", r.Addr)
		if err != nil {
			return fmt.Errorf("tcp %s: %w", r.Addr, NetError(err))
		}
		return conn.Close()
	case options.ReadyPath:
		if _, err := os.Stat(r.Path); err != nil {
			return fmt.Errorf("path %s: %w", r.Path, errors.Unwrap(err))
		}
		return nil
	case options.ReadyCheck:
		if err := p.run(ctx, r.Cmd); err != nil {
			return fmt.Errorf("check %s: %w", options.JoinWords(r.Cmd), err)
		}
		return nil
	}
	return ErrNotProbeable
}

// NetError is a network error as a message says it: the system call's
// error ("connect: connection refused"), without the addresses the
// message gives already.
func NetError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
