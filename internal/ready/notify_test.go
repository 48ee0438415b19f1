package ready

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// testKey names the test's notify sockets apart from any other's: the
// abstract namespace is the whole network namespace's.
func testKey(t *testing.T) string { return fmt.Sprintf("test-%d-%s", os.Getpid(), t.Name()) }

func notify(t *testing.T, addr, msg string) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func listenNotify(t *testing.T, key string) *NotifySocket {
	t.Helper()
	ns, err := ListenNotify(key, "svc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// READY=1 from the awaited daemon (here this process) is taken once,
// whatever else the datagram assigns.
func TestNotifySocketReady(t *testing.T) {
	key := testKey(t)
	ns := listenNotify(t, key)
	if want := "@supervision/" + key + "/svc"; ns.Addr() != want {
		t.Errorf("Addr() = %q, want %q", ns.Addr(), want)
	}
	first, second := make(chan struct{}, 2), make(chan struct{}, 2)
	ns.Expect(os.Getpid(), func() { first <- struct{}{} })
	notify(t, ns.Addr(), "STATUS=starting")
	notify(t, ns.Addr(), "MAINPID=1\nREADY=1\n")
	received(t, first, "ready on READY=1")
	// Taken once: the expectation is gone, so the next READY=1 goes to
	// whoever is expected next, or nowhere.
	notify(t, ns.Addr(), "READY=1")
	ns.Expect(os.Getpid(), func() { second <- struct{}{} })
	notify(t, ns.Addr(), "READY=1")
	received(t, second, "ready of the next expectation")
	if len(first) != 0 {
		t.Error("the first expectation was called twice")
	}
}

// The name is the scan dir's and the service's: taken while one socket
// has it, bound again once it is closed (a restarted sv-scan), and then
// what the daemon sends there arrives.
func TestNotifySocketNameIsReboundByTheNext(t *testing.T) {
	key := testKey(t)
	ns, err := ListenNotify(key, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenNotify(key, "svc"); err == nil {
		t.Fatal("a second socket bound a name in use")
	}
	ns.Close()
	next := listenNotify(t, key)
	ready := make(chan struct{}, 1)
	next.Expect(os.Getpid(), func() { ready <- struct{}{} })
	notify(t, next.Addr(), "READY=1")
	received(t, ready, "ready on the rebound socket")
}

// noPid is above the kernel's largest pid (PID_MAX_LIMIT): no process,
// and no session, has it.
const noPid = 1<<22 + 1

// heard is the socket's decision on one datagram.
func TestNotifySocketHeard(t *testing.T) {
	self := os.Getpid()
	for _, tc := range []struct {
		name   string
		expect int
		sender int
		msg    string
		ready  bool
	}{
		{"the daemon", self, self, "READY=1", true},
		{"among other lines", self, self, "STATUS=up\nREADY=1\nMAINPID=7", true},
		{"not a whole line", self, self, "READY=10\nXREADY=1\nREADY=1 ", false},
		{"no credentials", self, 0, "READY=1", false},
		{"not its session", noPid, self, "READY=1", false},
		{"nobody expected", 0, self, "READY=1", false},
	} {
		ns := &NotifySocket{}
		called := false
		ns.Expect(tc.expect, func() { called = true })
		ns.heard(tc.sender, []byte(tc.msg))
		if called != tc.ready {
			t.Errorf("%s: ready called: %v, want %v", tc.name, called, tc.ready)
		}
	}
}

func TestNotifySocketForget(t *testing.T) {
	self := os.Getpid()
	ns := &NotifySocket{}
	called := false
	ns.Expect(self, func() { called = true })
	ns.Forget(self + 1) // a run before: not the one awaited now
	ns.heard(self, []byte("READY=1"))
	if !called {
		t.Error("Forget of another pid dropped the expectation")
	}
	called = false
	ns.Expect(self, func() { called = true })
	ns.Forget(self)
	ns.heard(self, []byte("READY=1"))
	if called {
		t.Error("ready called after Forget")
	}
}

// A process of the daemon's session speaks for it; this process does not.
func TestSameService(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 1000 & echo $!; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	daemon := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-daemon, syscall.SIGKILL); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sender int
		want   bool
	}{{daemon, true}, {child, true}, {os.Getpid(), false}, {0, false}} {
		if got := sameService(tc.sender, daemon); got != tc.want {
			t.Errorf("sameService(%d, daemon %d) = %v, want %v", tc.sender, daemon, got, tc.want)
		}
	}
}

func TestSenderPid(t *testing.T) {
	oob := unix.UnixCredentials(&unix.Ucred{Pid: 4242, Uid: 1, Gid: 1})
	if got := senderPid(oob); got != 4242 {
		t.Errorf("senderPid(credentials of 4242) = %d", got)
	}
	for _, oob := range [][]byte{nil, {1, 2, 3}, unix.UnixRights(0)} {
		if got := senderPid(oob); got != 0 {
			t.Errorf("senderPid(%v) = %d, want 0", oob, got)
		}
	}
}

// hasLine agrees with a reading of sd_notify(3) by hand: the line alone,
// or bounded by newlines or the datagram's ends.
func FuzzHasLine(f *testing.F) {
	for _, s := range []string{"READY=1", "STATUS=x\nREADY=1\n", "READY=10", "\nREADY=1", "XREADY=1\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		const line = "READY=1"
		s := string(msg)
		want := s == line || strings.HasPrefix(s, line+"\n") || strings.HasSuffix(s, "\n"+line) ||
			strings.Contains(s, "\n"+line+"\n")
		if got := hasLine(msg, line); got != want {
			t.Errorf("hasLine(%q) = %v, want %v", msg, got, want)
		}
	})
}
