package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/options"
)

// watchReady follows SVC_READY for the run c: fd:N and notify are
// messages from the daemon; check, tcp and path are probed, with a
// growing interval. fresh: c was started now (an adopted daemon's fd:N
// pipe was the previous sv-scan's). The unit arms SVC_READY_TIMEOUT.
func (s *service) watchReady(u *unit, c child, fresh bool) {
	cfg := u.cfg
	readyPipe := u.io.readyPipe
	u.io.readyPipe = nil
	gen := u.gen
	ctx, cancel := context.WithCancel(context.Background())
	u.io.cancelReady = cancel
	ready := func() { s.send(event{kind: evReady, u: u, gen: gen}) }
	switch cfg.ready.Kind {
	case options.ReadyFD:
		if !fresh || readyPipe == nil {
			u.errMsg = "readiness unknown: adopted before it was ready, and fd readiness cannot be resumed"
			break
		}
		go readLine(ctx, readyPipe, ready)
	case options.ReadyNotify:
		if s.notify == nil {
			ns, err := newNotifySocket(s.sc.key, s.name)
			if err != nil {
				u.errMsg = err.Error()
				break
			}
			s.notify = ns
		}
		ns, pid := s.notify, c.pid()
		ns.expect(pid, ready)
		// Forget this run's expectation when the run ends, at once (in the
		// unit's goroutine, before any next run registers its own).
		u.io.cancelReady = func() { cancel(); ns.forget(pid) }
	case options.ReadyCheck:
		go probeLoop(ctx, func(ctx context.Context) bool { return s.runCheck(ctx, u, cfg.ready.Cmd) }, ready)
	case options.ReadyTCP:
		addr := cfg.ready.Addr
		go probeLoop(ctx, func(ctx context.Context) bool {
			d := net.Dialer{Timeout: time.Second}
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
			}
			return err == nil
		}, ready)
	case options.ReadyPath:
		path := cfg.ready.Path
		go func() {
			if inotify.WaitPaths(ctx, []string{path}) == nil {
				ready()
			}
		}()
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

// readLine calls ready when a newline arrives on r (s6's notification-fd
// protocol); a pipe closed without one means no readiness.
func readLine(ctx context.Context, r *os.File, ready func()) {
	go func() { <-ctx.Done(); r.Close() }() // unblocks the read
	buf := make([]byte, 256)
	for {
		n, err := r.Read(buf)
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			ready()
			return
		}
		if err != nil {
			return
		}
	}
}

// probeLoop runs probe until it succeeds or ctx ends, 20 ms apart at
// first, doubling up to a second: quick for fast daemons, cheap for slow.
func probeLoop(ctx context.Context, probe func(context.Context) bool, ready func()) {
	wait := 20 * time.Millisecond
	for ctx.Err() == nil {
		if probe(ctx) {
			ready()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// runCheck runs a check:CMD once, through the reaper like every child.
func (s *service) runCheck(ctx context.Context, u *unit, cmd []string) bool {
	p, err := s.spawnCheck(u, cmd)
	if err != nil {
		return false
	}
	defer p.Release()
	select {
	case ex := <-p.Exit:
		return ex.Code() == 0
	case <-ctx.Done():
		// Through the pidfd: a process that has just exited (its exit
		// ready too, select having picked this case) is not confused with
		// whatever reuses its pid.
		p.Signal(syscall.SIGKILL)
		<-p.Exit
		return false
	}
}

// notifySocket receives sd_notify datagrams for one service on an abstract
// socket named after the scan dir and the service, so a restarted sv-scan
// binds the same name and still hears a daemon it adopted. The sender is
// checked by its credentials: the daemon, or a process of its session.
type notifySocket struct {
	addr string
	conn *net.UnixConn

	mu    sync.Mutex
	pid   int    // the daemon whose readiness is awaited, 0: none
	ready func() // called once it says READY=1
}

func newNotifySocket(key, name string) (*notifySocket, error) {
	addr := "@supervision/" + key + "/" + name
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	raw, err := conn.SyscallConn()
	if err == nil {
		raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket: SO_PASSCRED: %w", err)
	}
	ns := &notifySocket{addr: addr, conn: conn}
	go ns.read()
	return ns, nil
}

// expect says whose READY=1 to wait for next (pid 0: nobody's).
func (ns *notifySocket) expect(pid int, ready func()) {
	ns.mu.Lock()
	ns.pid, ns.ready = pid, ready
	ns.mu.Unlock()
}

// forget drops the expectation of pid's readiness, if it is still the one.
func (ns *notifySocket) forget(pid int) {
	ns.mu.Lock()
	if ns.pid == pid {
		ns.pid, ns.ready = 0, nil
	}
	ns.mu.Unlock()
}

func (ns *notifySocket) read() {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := ns.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		sender := senderPid(oob[:oobn])
		if !hasLine(buf[:n], "READY=1") {
			continue
		}
		ns.mu.Lock()
		if ns.pid != 0 && ns.ready != nil && sameService(sender, ns.pid) {
			ns.ready()
			ns.pid, ns.ready = 0, nil
		}
		ns.mu.Unlock()
	}
}

func senderPid(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) == 0 {
		return 0
	}
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	if err != nil {
		return 0
	}
	return int(cred.Pid)
}

// sameService: the daemon itself, or a process in its session (the daemon
// leads one: sv-scan starts every ./run with setsid).
func sameService(sender, daemon int) bool {
	if sender == 0 {
		return false
	}
	if sender == daemon {
		return true
	}
	sid, err := unix.Getsid(sender)
	return err == nil && sid == daemon
}

// hasLine reports whether a datagram of newline-separated assignments has
// exactly this line, as sd_notify(3) defines them.
func hasLine(msg []byte, line string) bool {
	for _, l := range strings.Split(string(msg), "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func (ns *notifySocket) close() { ns.conn.Close() }
