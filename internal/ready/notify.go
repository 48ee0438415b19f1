package ready

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// NotifySocket receives sd_notify datagrams for one service on an abstract
// socket named after the scan dir and the service, so a restarted sv-scan
// binds the same name and still hears a daemon it adopted. The sender is
// checked by its credentials: the daemon, or a process of its session.
type NotifySocket struct {
	addr string
	conn *net.UnixConn

	mu    sync.Mutex
	pid   int    // the daemon whose readiness is awaited, 0: none
	ready func() // called once it says READY=1
}

// ListenNotify binds the notify socket of service name of the scan dir
// key. Its address, for NOTIFY_SOCKET, is Addr.
func ListenNotify(key, name string) (*NotifySocket, error) {
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
	ns := &NotifySocket{addr: addr, conn: conn}
	go ns.read()
	return ns, nil
}

// Addr is the socket's name as NOTIFY_SOCKET gives it ("@" for abstract).
func (ns *NotifySocket) Addr() string { return ns.addr }

// Expect says whose READY=1 to wait for next (pid 0: nobody's).
func (ns *NotifySocket) Expect(pid int, ready func()) {
	ns.mu.Lock()
	ns.pid, ns.ready = pid, ready
	ns.mu.Unlock()
}

// Forget drops the expectation of pid's readiness, if it is still the one.
func (ns *NotifySocket) Forget(pid int) {
	ns.mu.Lock()
	if ns.pid == pid {
		ns.pid, ns.ready = 0, nil
	}
	ns.mu.Unlock()
}

// Close unbinds the name; a daemon's later datagrams go nowhere.
func (ns *NotifySocket) Close() error { return ns.conn.Close() }

func (ns *NotifySocket) read() {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := ns.conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err == nil {
			ns.heard(senderPid(oob[:oobn]), buf[:n])
		}
	}
}

// heard takes one datagram from sender: READY=1 from the awaited daemon
// (or its session) calls its ready, once.
func (ns *NotifySocket) heard(sender int, msg []byte) {
	if !hasLine(msg, "READY=1") {
		return
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.pid != 0 && ns.ready != nil && sameService(sender, ns.pid) {
		ns.ready()
		ns.pid, ns.ready = 0, nil
	}
}

// senderPid is the pid of the sender's credentials, 0 if none came.
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
	for l := range strings.SplitSeq(string(msg), "\n") {
		if l == line {
			return true
		}
	}
	return false
}
