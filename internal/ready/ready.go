// Package ready probes the readiness conditions that can be tested from
// outside a daemon: a TCP port that accepts, a file that exists, a command
// that exits 0. (fd:N and notify are messages from the daemon itself; the
// supervisor receives those.)
package ready

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// ErrNotProbeable is returned for kinds only the supervisor can observe.
var ErrNotProbeable = errors.New("readiness of this kind is signalled by the daemon, not probed")

// Probe tests r once. nil means ready. env and dir are for check: commands.
func Probe(ctx context.Context, r options.Ready, env []string, dir string) error {
	switch r.Kind {
	case options.ReadyNone:
		return nil
	case options.ReadyTCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", r.Addr)
		if err != nil {
			return fmt.Errorf("tcp %s: %w", r.Addr, unwrapOp(err))
		}
		return conn.Close()
	case options.ReadyPath:
		if _, err := os.Stat(r.Path); err != nil {
			return fmt.Errorf("path %s: %w", r.Path, errors.Unwrap(err))
		}
		return nil
	case options.ReadyCheck:
		cmd := exec.CommandContext(ctx, r.Cmd[0], r.Cmd[1:]...)
		cmd.Env, cmd.Dir = env, dir
		cmd.WaitDelay = time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			if len(out) > 200 {
				out = out[len(out)-200:]
			}
			return fmt.Errorf("check %s: %v %q", options.JoinWords(r.Cmd), err, out)
		}
		return nil
	}
	return ErrNotProbeable
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
