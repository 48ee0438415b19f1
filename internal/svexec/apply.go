package svexec

import (
	"context"
	"errors"
	"fmt"
	"github.com/supervision-suite/supervision/internal/inotify"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// step names what failed, for the one-line error.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{name, err}
}

// Exec applies the spec to this process and execs the daemon. It returns
// only on failure.
func Exec(sp *Spec) error {
	if err := newSession(); err != nil {
		return step("setsid", err)
	}
	if err := JoinStderr(sp.JoinStderr); err != nil {
		return err
	}
	if err := waitPreconditions(sp); err != nil {
		return err
	}
	if len(sp.PreCmd) > 0 {
		if err := runPre(sp); err != nil {
			return step("PRE_CMD "+options.JoinWords(sp.PreCmd), err)
		}
	}
	if err := setLimits(sp); err != nil {
		return err
	}
	// Linux keeps the nice value per thread: set it on the thread that
	// calls execve, or the daemon starts with the nice of another thread.
	// Only then: the runtime starts a thread of its own at the first
	// LockOSThread, which every other start would pay for nothing.
	if sp.Nice != nil {
		runtime.LockOSThread()
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, *sp.Nice); err != nil {
			return step(fmt.Sprintf("SVC_NICE %d", *sp.Nice), err)
		}
	}
	if sp.Umask >= 0 {
		syscall.Umask(sp.Umask)
	}
	// The waits' inotify instance is closed now, not by the exec: closing
	// it can wait for an SRCU grace period, which the daemon,
	// marked as exec'd, would spend asleep in its execve, looking settled
	// to a start that watches it (sv-rc).
	inotify.Release()
	markExec(sp)
	if err := setCred(sp.Cred); err != nil {
		return err
	}
	if err := os.Chdir(sp.Dir); err != nil {
		return step("working directory", unwrap(err))
	}
	return execve(sp)
}

// Direct reports whether the spec asks nothing of the daemon's process
// before its exec that a supervisor's spawn cannot do itself (a new
// session, the files, the working directory, the user and groups, the
// environment): no waits, no PRE_CMD, no limits or nice, and a umask
// that is the spawner's own (umask), which the daemon inherits. sv-scan
// then starts such a daemon itself, without ./run's shell and sv-exec.
func (sp *Spec) Direct(umask int) bool {
	return len(sp.WaitPaths)+len(sp.WaitMounts)+len(sp.PreCmd)+len(sp.Limits) == 0 &&
		sp.Nice == nil && (sp.Umask < 0 || sp.Umask == umask)
}

// Credential is the user and groups a spawn of the daemon takes, as
// setCred would make them: nil when nothing is to change (no SVC_USER, or
// not root, where BuildSpec made sure the user is this one).
func (sp *Spec) Credential() *syscall.Credential {
	if sp.Cred == nil || os.Geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: sp.Cred.Uid, Gid: sp.Cred.Gid, Groups: sp.Cred.Groups}
}

// markExec tells whoever waits on the start (sv-rc) that the daemon is
// being exec'd now, while sv-exec still has its supervisor's rights to
// supervise/. A mark that cannot be made is said in the log; the start
// then waits for it in vain and fails, which says the same again.
func markExec(sp *Spec) {
	if sp.Supervise == "" {
		return
	}
	if err := svdir.MarkExec(sp.Supervise, os.Getpid()); err != nil {
		fmt.Fprintf(os.Stderr, "sv-exec %s: cannot mark the exec in %s: %v\n", sp.Name, sp.Supervise, unwrap(err))
	}
}

// JoinStderr points stderr where stdout goes (the log pipe), as run
// scripts do with `exec 2>&1`, so that sv-exec's own messages and the
// daemon's errors land in the service's log. Done again is harmless.
func JoinStderr(join bool) error {
	if !join {
		return nil
	}
	return step("join stderr to stdout", unix.Dup3(1, 2, 0))
}

// newSession makes the daemon a session and process group leader, so a
// stop can signal its whole group, on supervisors that do not do this
// themselves (runsv, daemontools' supervise). Where the supervisor made it
// a group leader already, setsid would fail and is not needed.
func newSession() error {
	if unix.Getpgrp() == os.Getpid() {
		return nil
	}
	_, err := unix.Setsid()
	return err
}

func waitPreconditions(sp *Spec) error {
	if len(sp.WaitPaths)+len(sp.WaitMounts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sp.WaitTimeout)
	defer cancel()
	if err := inotify.WaitPaths(ctx, sp.WaitPaths); err != nil {
		return temporary(step("SVC_WAIT_PATH", waitErr(err, sp)))
	}
	if err := inotify.WaitMounts(ctx, sp.WaitMounts); err != nil {
		return temporary(step("SVC_WAIT_MOUNT", waitErr(err, sp)))
	}
	return nil
}

func waitErr(err error, sp *Spec) error {
	var ny *inotify.NotYetError
	if errors.As(err, &ny) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s after SVC_WAIT_TIMEOUT=%s", ny.What, sp.WaitTimeout)
	}
	return err
}

// runPre runs PRE_CMD as the supervisor's user, with the daemon's
// environment and output. sv-exec is a plain process here (not a
// reaper), so waiting for the child is safe.
func runPre(sp *Spec) error {
	path, err := options.LookPath(sp.PreCmd[0], envPath(sp.Env), sp.Dir)
	if err != nil {
		return &permanentError{fmt.Errorf("%s: %v", sp.PreCmd[0], err)}
	}
	cmd := exec.Command(path, sp.PreCmd[1:]...)
	cmd.Args[0] = sp.PreCmd[0]
	cmd.Env, cmd.Dir = sp.Env, sp.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	return cmd.Run()
}

func envPath(env []string) string {
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			return kv[5:]
		}
	}
	return options.DefaultPath
}

// setLimits sets every limit but the memory ones, which execve sets
// last; those it may only need to raise now, while still privileged.
func setLimits(sp *Spec) error {
	for _, l := range sp.Limits {
		if isMemoryLimit(l.Resource) {
			continue
		}
		rl := syscall.Rlimit{Cur: l.Value.Soft, Max: l.Value.Hard}
		// syscall.Setrlimit (not x/sys) so the runtime knows NOFILE was set
		// on purpose and does not restore its own startup value at exec.
		if err := syscall.Setrlimit(l.Resource, &rl); err != nil {
			return step(l.Key, err)
		}
	}
	return raiseMemoryLimits(sp.Limits)
}

// setCred becomes the service's user: groups first, then gid, then uid,
// because each step needs the privilege the next one gives up.
func setCred(c *Cred) error {
	if c == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return canBecome(c) // nil: already that user, nothing to change
	}
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return step("setgroups", err)
	}
	if err := syscall.Setgid(int(c.Gid)); err != nil {
		return step("setgid", err)
	}
	return step("setuid", syscall.Setuid(int(c.Uid)))
}

// temporaryError marks a failure worth retrying: exit 111.
type temporaryError struct{ err error }

func (e *temporaryError) Error() string { return e.err.Error() }
func (e *temporaryError) Unwrap() error { return e.err }

func temporary(err error) error { return &temporaryError{err} }

// ExitCode is 100 for a permanent failure (bad OPTIONS, no such user or
// program), 111 for everything that may work next time.
func ExitCode(err error) int {
	var pe *permanentError
	var te *temporaryError
	switch {
	case errors.As(err, &te):
		return 111
	case errors.As(err, &pe):
		return 100
	}
	return 111
}
