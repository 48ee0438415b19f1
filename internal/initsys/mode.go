// Package initsys is sv-init: PID 1 for a small system or a container. It
// runs stage 1 (one-time setup), then stage 2 (the scanner, restarted if
// it dies), and on a shutdown request stage 3; it reaps every orphan all
// along, through the one reaper of package proc.
package initsys

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode is how sv-init ends and what it assumes of its surroundings.
type Mode int

const (
	// Auto picks Container or System by looking (see Detect).
	Auto Mode = iota
	// System is a machine's init: a console, Ctrl-Alt-Del, reboot(2).
	System
	// Container is a container's PID 1: SIGTERM means shut down, and the
	// end is an exit code for the runtime, never reboot(2).
	Container
)

func (m Mode) String() string {
	switch m {
	case System:
		return "system"
	case Container:
		return "container"
	}
	return "auto"
}

// ParseMode reads --mode and SV_INIT_MODE.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "auto":
		return Auto, nil
	case "system":
		return System, nil
	case "container":
		return Container, nil
	}
	return Auto, fmt.Errorf("mode %q: want auto, system or container", s)
}

// initialPidNS is the inode of the kernel's first PID namespace
// (PROC_PID_INIT_INO), the one a machine's init runs in.
const initialPidNS = "pid:[4026531836]"

// KernelBooted reports whether the kernel itself started this process as
// the machine's init: PID 1 of the first PID namespace. Its arguments are
// then the words of the kernel's command line, and it must never exit:
// the kernel panics when init does. Without a /proc to tell, it mounts
// one on /proc to look (the kernel never mounts it for init; stage 1
// finds it there), and takes it away again when it says otherwise: a PID
// 1 in a namespace of its own, given no /proc (unshare --root without
// --mount-proc), is no machine's init, and its stages must not set up or
// take down the mounts it may share with its host.
func KernelBooted() bool {
	if os.Getpid() != 1 {
		return false
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		return strings.EqualFold(ns, initialPidNS)
	}
	os.Mkdir("/proc", 0o555)
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return false
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err == nil && strings.EqualFold(ns, initialPidNS) {
		return true
	}
	unix.Unmount("/proc", unix.MNT_DETACH)
	return false
}

// Detect says Container when the environment says so (container=, set by
// docker, podman, LXC and systemd-nspawn) or when this process is not in
// the initial PID namespace; otherwise System.
func Detect() Mode {
	if os.Getenv("container") != "" {
		return Container
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil && !strings.EqualFold(ns, initialPidNS) {
		return Container
	}
	return System
}
