package svexec

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Memory limits (address space, data segment) bind sv-exec itself as soon
// as they are set: the Go runtime has more address space mapped than a
// daemon's limit may allow, and any allocation after that can abort the
// process ("fatal error: runtime: cannot allocate memory"). So they are set
// last, by raw prlimit calls between which and execve nothing is allocated.
func isMemoryLimit(resource int) bool {
	return resource == unix.RLIMIT_AS || resource == unix.RLIMIT_DATA
}

// raiseMemoryLimits lifts the hard memory limits the daemon may exceed
// while sv-exec still has the privilege to (it may become another user
// next), keeping the soft limits so that sv-exec can go on allocating.
func raiseMemoryLimits(limits []Limit) error {
	for _, l := range limits {
		if !isMemoryLimit(l.Resource) {
			continue
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(l.Resource, &cur); err != nil {
			return step(l.Key, err)
		}
		if l.Value.Hard > cur.Max {
			cur.Max = l.Value.Hard
			if err := unix.Setrlimit(l.Resource, &cur); err != nil {
				return step(l.Key, err)
			}
		}
	}
	return nil
}

// execve execs the daemon. Without memory limits it is syscall.Exec;
// with them, everything is built first, then the limits are set and
// execve called with raw system calls. On failure at that point sv-exec
// writes its message with no allocation and exits 111 itself.
func execve(sp *Spec) error {
	var memory []Limit
	for _, l := range sp.Limits {
		if isMemoryLimit(l.Resource) {
			memory = append(memory, l)
		}
	}
	if len(memory) == 0 {
		return step("exec "+sp.Path, syscall.Exec(sp.Path, sp.Argv, sp.Env))
	}
	path, err := syscall.BytePtrFromString(sp.Path)
	if err != nil {
		return step("exec "+sp.Path, err)
	}
	argv, err := syscall.SlicePtrFromStrings(sp.Argv)
	if err != nil {
		return step("exec "+sp.Path, err)
	}
	env, err := syscall.SlicePtrFromStrings(sp.Env)
	if err != nil {
		return step("exec "+sp.Path, err)
	}
	limits := make([]unix.Rlimit, len(memory))
	failed := make([][]byte, len(memory))
	for i, l := range memory {
		limits[i] = unix.Rlimit{Cur: l.Value.Soft, Max: l.Value.Hard}
		failed[i] = []byte("sv-exec " + sp.Name + ": " + l.Key + ": ")
	}
	execFailed := []byte("sv-exec " + sp.Name + ": exec " + sp.Path + ": ")
	restoreNofile()

	for i := range memory {
		_, _, e := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, uintptr(memory[i].Resource),
			uintptr(unsafe.Pointer(&limits[i])), 0, 0, 0)
		if e != 0 {
			die(failed[i], e)
		}
	}
	_, _, e := syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&env[0])))
	die(execFailed, e)
	return nil // not reached
}

// restoreNofile gives the daemon the soft NOFILE limit sv-exec started
// with: the Go runtime raised it at startup and puts it back in
// syscall.Exec, just before execve (documented since Go 1.19). Calling
// syscall.Exec on an empty path does exactly that and fails at once with
// ENOENT, with no other effect; a NOFILE set by SVC_LIMIT_NOFILE was set
// through syscall.Setrlimit, which tells the runtime to leave it alone.
func restoreNofile() {
	_ = syscall.Exec("", nil, nil)
}

// die reports a failure after the memory limits are set, without
// allocating: only raw writes of bytes built before, then exit 111.
func die(prefix []byte, e syscall.Errno) {
	write(prefix)
	msg := e.Error() // from the runtime's table of errno strings
	write(unsafe.Slice(unsafe.StringData(msg), len(msg)))
	write(newline[:])
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, 111, 0, 0)
}

var newline = [1]byte{'\n'}

func write(b []byte) {
	if len(b) > 0 {
		syscall.RawSyscall(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	}
}
