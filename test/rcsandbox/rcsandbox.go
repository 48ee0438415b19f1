// Package rcsandbox gives OpenRC a place to run for real without touching
// the machine's own: a private mount namespace where /etc is an overlay
// with empty tmpfs init.d, conf.d and runlevels, /run is a tmpfs holding
// /run/openrc with its state dirs and softlevel (without which openrc-run
// says "openrc did not boot this system"), and /sys/fs/cgroup is an empty
// tmpfs (OpenRC's rc-cgroup.sh would make cgroups on the machine's). The
// tests and the benchmarks use it; the caller must already be in its own
// mount namespace (unshare -m --propagation private).
package rcsandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Setup mounts the sandbox; scratch is a directory (made if missing) for
// its own tmpfs.
func Setup(scratch string) error {
	mount := func(src, target, fstype, data string) error {
		if err := unix.Mount(src, target, fstype, 0, data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
		}
		return nil
	}
	os.MkdirAll(scratch, 0o755)
	if err := mount("sbx", scratch, "tmpfs", "mode=0755"); err != nil {
		return err
	}
	upper, work := filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
	os.Mkdir(upper, 0o755)
	os.Mkdir(work, 0o755)
	if err := mount("sbx-etc", "/etc", "overlay", "lowerdir=/etc,upperdir="+upper+",workdir="+work); err != nil {
		return err
	}
	for _, d := range []string{"/etc/init.d", "/etc/conf.d", "/etc/runlevels"} {
		os.MkdirAll(d, 0o755)
		if err := mount("sbx", d, "tmpfs", "mode=0755"); err != nil {
			return err
		}
	}
	for _, l := range []string{"sysinit", "boot", "default", "nonetwork", "shutdown"} {
		os.Mkdir(filepath.Join("/etc/runlevels", l), 0o755)
	}
	// Detaching the top takes its submounts (the hierarchies) with it.
	unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH)
	if err := mount("sbx", "/sys/fs/cgroup", "tmpfs", "mode=0755"); err != nil {
		return err
	}
	if err := mount("sbx", "/run", "tmpfs", "mode=0755"); err != nil {
		return err
	}
	for _, d := range []string{"daemons", "exclusive", "failed", "hotplugged", "inactive", "options",
		"scheduled", "started", "starting", "stopping", "tmp", "wasinactive"} {
		os.MkdirAll(filepath.Join("/run/openrc", d), 0o755)
	}
	os.MkdirAll("/run/lock", 0o755)
	return os.WriteFile("/run/openrc/softlevel", nil, 0o644)
}

// Run runs the command as a child subreaper, reaping every orphan,
// then ends what is left in the namespace and returns the command's exit
// code.
func Run(name string, args []string) int {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "openrcns:", err)
		return 127
	}
	code := 0
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			break
		}
		if pid == cmd.Process.Pid {
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			break
		}
	}
	endNamespace()
	return code
}

// endNamespace ends every process of this mount namespace but this one,
// by pid: TERM, up to 5 s for them to end (watched through pidfds), then
// KILL; and reaps those that were ours.
func endNamespace() {
	self := os.Getpid()
	ns, _ := os.Readlink("/proc/self/ns/mnt")
	others := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			if l, _ := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); l == ns {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		pids := others()
		for _, pid := range pids {
			syscall.Kill(pid, sig)
		}
		waitEnded(pids, 5*time.Second)
		reapAll()
	}
}

// waitEnded waits until every pid has ended (a zombie has), at most d.
func waitEnded(pids []int, d time.Duration) {
	var fds []unix.PollFd
	for _, pid := range pids {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			defer unix.Close(fd)
			fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		}
	}
	deadline := time.Now().Add(d)
	for len(fds) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n <= 0 {
			continue
		}
		kept := fds[:0]
		for _, f := range fds {
			if f.Revents == 0 {
				kept = append(kept, f)
			}
		}
		fds = kept
	}
}

func reapAll() {
	for {
		var ws syscall.WaitStatus
		if pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 {
			return
		}
	}
}
