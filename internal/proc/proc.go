// Package proc starts processes and reaps every child of this process in one
// place: a single SIGCHLD handler loops wait4(-1, WNOHANG) and hands each
// exit to whoever started that pid. Nothing else may wait for children
// (no exec.Cmd.Wait), or the two would steal each other's exits.
//
// Start registers a child under the same lock the reaper takes around each
// wait4, so an exit can never be reaped before someone waits for it.
package proc

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/poller"
)

// Exit is how a child ended.
type Exit struct {
	Pid    int
	Status syscall.WaitStatus
	At     time.Time
	// Unknown is set for an adopted process, which is not our child: we
	// see that it ended, not how.
	Unknown bool
}

// Code is the exit code, or -1 when a signal killed the process.
func (e Exit) Code() int {
	if e.Status.Signaled() {
		return -1
	}
	return e.Status.ExitStatus()
}

// Signal is the signal that killed the process, or 0.
func (e Exit) Signal() syscall.Signal {
	if e.Status.Signaled() {
		return e.Status.Signal()
	}
	return 0
}

func (e Exit) String() string {
	if e.Unknown {
		return "ended (status unknown: not our child)"
	}
	if e.Status.Signaled() {
		return "killed by " + unix.SignalName(e.Status.Signal())
	}
	return "exit " + strconv.Itoa(e.Status.ExitStatus())
}

// Reaper reaps all children. There must be only one per process, created
// before anything is started (a fast child's exit would otherwise be missed).
type Reaper struct {
	mu      sync.Mutex
	waiters map[int]waiter
	sigs    chan os.Signal
	orphans func(Exit)
	poller  *poller.Poller // nil: a goroutine waits on each pidfd
}

// waiter is who is told of a child's exit: a callback, or a channel.
type waiter struct {
	ch chan Exit
	on func(Exit)
}

func (w waiter) tell(e Exit) {
	if w.on != nil {
		w.on(e)
	} else {
		w.ch <- e // buffered: the reaper never blocks on a slow owner
	}
}

// NewReaper subscribes to SIGCHLD and makes this process a child subreaper,
// so that orphans of its children (double-forked daemons) become its own
// children and are reaped here, instead of escaping to init. orphan, if not
// nil, is told of each exit that no one waits for. With a Poller, the
// pidfds of the children wait in it, at no goroutine each.
func NewReaper(orphan func(Exit), p *poller.Poller) (*Reaper, error) {
	r := &Reaper{waiters: map[int]waiter{}, sigs: make(chan os.Signal, 1), orphans: orphan, poller: p}
	signal.Notify(r.sigs, syscall.SIGCHLD)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("set child subreaper: %w", err)
	}
	go r.loop()
	select { // reap what exited before we listened
	case r.sigs <- syscall.SIGCHLD:
	default:
	}
	return r, nil
}

func (r *Reaper) loop() {
	for range r.sigs {
		r.reapAll()
	}
}

// reapAll drains every exit: SIGCHLD signals merge, so one may stand for many.
func (r *Reaper) reapAll() {
	for {
		var ws syscall.WaitStatus
		r.mu.Lock()
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		var w waiter
		var waited bool
		if pid > 0 {
			w, waited = r.waiters[pid]
			delete(r.waiters, pid)
		}
		r.mu.Unlock()
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if pid <= 0 {
			return // 0: nothing more has exited; ECHILD: no children at all
		}
		e := Exit{Pid: pid, Status: ws, At: time.Now()}
		if waited {
			w.tell(e)
		} else if r.orphans != nil {
			r.orphans(e)
		}
	}
}

// Spec is a process to start.
type Spec struct {
	Path  string
	Argv  []string
	Env   []string
	Dir   string
	Files []*os.File // fd 0, 1, 2, ...; nil closes that fd in the child
	// CgroupFD, if >= 0, starts the child directly in that cgroup (clone3
	// CLONE_INTO_CGROUP): it never runs, or forks, anywhere else.
	CgroupFD int
	// Cred, if not nil, is the user and groups the child becomes.
	Cred *syscall.Credential
	// Ctty makes Files[0], a terminal, the controlling terminal of the
	// child's new session: job control and ^C for a shell on a console.
	Ctty bool
	// OnExit, if not nil, is told of the exit instead of Process.Exit,
	// on the reaper's goroutine: it must not block.
	OnExit func(Exit)
}

// Process is a started child.
type Process struct {
	Pid   int
	Start uint64    // start time in clock ticks since boot (/proc/PID/stat)
	Exit  chan Exit // receives the exit, once (nil with Spec.OnExit)
	proc  *os.Process
}

// Start starts a child in a new session (so that it and what it forks form
// a process group that can be signalled as one) and registers it before the
// reaper can see it exit.
func (r *Reaper) Start(s Spec) (*Process, error) {
	attr := &os.ProcAttr{Dir: s.Dir, Env: s.Env, Files: s.Files, Sys: &syscall.SysProcAttr{Setsid: true, Setctty: s.Ctty, Credential: s.Cred}}
	if s.CgroupFD >= 0 {
		attr.Sys.UseCgroupFD = true
		attr.Sys.CgroupFD = s.CgroupFD
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := os.StartProcess(s.Path, s.Argv, attr)
	if err != nil {
		return nil, err
	}
	w := waiter{on: s.OnExit}
	if w.on == nil {
		w.ch = make(chan Exit, 1)
	}
	r.waiters[p.Pid] = w
	r.watch(p.Pid)
	return &Process{Pid: p.Pid, Start: StartTime(p.Pid), Exit: w.ch, proc: p}, nil
}

// watch reaps as soon as the child's pidfd says it ended: one wakeup of
// Go's poller, where SIGCHLD takes two (the signal thread, then the
// reaper), which is time a restart waits. SIGCHLD still reaps everything
// else, and anything this misses. The caller holds r.mu: the child cannot
// be reaped, and its pid reused, before the pidfd is open.
func (r *Reaper) watch(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return // an old kernel: SIGCHLD alone
	}
	if r.poller != nil {
		_, err := r.poller.Add(fd, true, func() poller.Next {
			r.reapAll()
			return poller.Done
		})
		if err == nil {
			return
		}
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	go func() {
		defer pidfd.Close()
		waitPidfd(pidfd)
		r.reapAll()
	}()
}

// waitPidfd returns when the process of a non-blocking pidfd has ended,
// waiting in Go's poller (no thread held) where it can.
func waitPidfd(pidfd *os.File) {
	// A pidfd becomes readable when the process ends.
	ended := func(fd uintptr, timeout int) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, timeout)
		return n > 0 || err != nil && !errors.Is(err, unix.EINTR)
	}
	rc, err := pidfd.SyscallConn()
	if err == nil && rc.Read(func(fd uintptr) bool { return ended(fd, 0) }) == nil {
		return
	}
	// Not in the poller after all: wait in this thread.
	rc.Control(func(fd uintptr) {
		for !ended(fd, -1) {
		}
	})
}

// Signal sends sig to the process (through its pidfd: never to a recycled
// pid). A process that has exited is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := p.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// Release frees the pidfd once the exit has been received.
func (p *Process) Release() { p.proc.Release() }

// SignalGroup sends sig to the process group led by pid, which Start made
// a session (and group) leader. A group with no one left is not an error.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// GroupAlive reports whether any process is left in the group.
func GroupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}

// StartTime reads a process's start time from /proc/PID/stat (field 22),
// which tells a process from a later one that reuses its pid. 0 if unknown.
func StartTime(pid int) uint64 {
	st, err := readStat("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return st.Start
}

// ErrNotSame is returned by Adopt when the pid now belongs to another
// process than the one recorded.
var ErrNotSame = errors.New("the pid belongs to another process now")

// Adopt watches a process that is not our child, left running by a
// supervisor that was killed, recognised by its pid and start time. Its
// Exit channel receives a value (with Unknown set) when it ends; with
// onExit, onExit is told instead, from the reaper's Poller.
func (r *Reaper) Adopt(pid int, start uint64, onExit func(Exit)) (*Process, error) {
	if start == 0 || StartTime(pid) != start {
		return nil, ErrNotSame
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	if StartTime(pid) != start { // the pid could have been reused in between
		unix.Close(fd)
		return nil, ErrNotSame
	}
	p, err := os.FindProcess(pid) // holds a pidfd of its own, for Signal
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ended := func() Exit { return Exit{Pid: pid, At: time.Now(), Unknown: true} }
	if onExit != nil && r.poller != nil {
		if _, err := r.poller.Add(fd, true, func() poller.Next {
			onExit(ended())
			return poller.Done
		}); err != nil {
			p.Release()
			return nil, err
		}
		return &Process{Pid: pid, Start: start, proc: p}, nil
	}
	w := waiter{on: onExit}
	if w.on == nil {
		w.ch = make(chan Exit, 1)
	}
	// Non-blocking, the pidfd is waited on in Go's poller: a hundred
	// adopted daemons cost no thread each.
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	go func() {
		defer pidfd.Close()
		waitPidfd(pidfd)
		w.tell(ended())
	}()
	return &Process{Pid: pid, Start: start, Exit: w.ch, proc: p}, nil
}

// Umask is this process's file creation mask, read from /proc (setting it
// to learn it would change it for every thread meanwhile); -1 when /proc
// does not say.
func Umask() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	return umaskIn(string(data))
}

// umaskIn reads the "Umask:\t0022" line of a /proc/PID/status.
func umaskIn(status string) int {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil && n <= 0o777 {
				return int(n)
			}
		}
	}
	return -1
}
