package proc

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stat is what this package reads of /proc/PID/stat (see proc(5)).
type Stat struct {
	Comm  string // the command name: the executable's base name, as the kernel cut it
	State byte   // R running or runnable, S sleeping, D disk wait, Z zombie, T stopped...
	Utime uint64 // CPU time in user mode, in clock ticks
	Stime uint64 // CPU time in kernel mode, in clock ticks
	Start uint64 // start time, in clock ticks since boot
	Flags uint64 // the kernel's PF_* flags of the task (field 9)
}

// pfKthread is PF_KTHREAD in Stat.Flags: the task is a kernel thread.
const pfKthread = 0x00200000

// KernelThread reports whether the task is one of the kernel's own
// threads, which no signal ends and no one needs to.
func (st Stat) KernelThread() bool { return st.Flags&pfKthread != 0 }

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture (sysconf(_SC_CLK_TCK) reports it, and it is fixed).
const clockTicks = 100

var errStat = errors.New("malformed /proc stat line")

// ParseStat reads a /proc/PID/stat line. The command name (field 2) may
// hold spaces and parentheses, so fields are counted after the last ')'.
func ParseStat(data []byte) (Stat, error) {
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	j := strings.IndexByte(s, '(')
	if i < 0 || j < 0 || j > i {
		return Stat{}, errStat
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); flags, utime, stime and starttime are
	// fields 9, 14, 15 and 22.
	if len(f) < 20 || len(f[0]) != 1 || !isLetter(f[0][0]) {
		return Stat{}, errStat
	}
	st := Stat{Comm: s[j+1 : i], State: f[0][0]}
	for _, p := range []struct {
		dst   *uint64
		field int
	}{{&st.Flags, 9}, {&st.Utime, 14}, {&st.Stime, 15}, {&st.Start, 22}} {
		n, err := strconv.ParseUint(f[p.field-3], 10, 64)
		if err != nil {
			return Stat{}, errStat
		}
		*p.dst = n
	}
	return st, nil
}

// isLetter: a task's state is one letter (R, S, D, Z, T, t, X, I, ...).
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Settle follows a process tree (a daemon and what it started) to tell
// when it has run long enough to be judged: each of its threads sleeps
// until something happens (a socket, a timer, a child; or it is stopped),
// or has been busy on the CPU for a while since Settle first saw it. A thread
// that is runnable but has not had the CPU, as on a loaded machine right
// after an exec, has not settled: a daemon that is going to exit at once
// may not have got that far. Nor has one in disk wait (D): it is reading
// its program or its files, and runs again as soon as they are in.
//
// CPU time is counted from Settle's first look, not from the thread's
// start: a process's counters go on across exec, so the daemon's would
// include what ran before it (sv-exec).
type Settle struct {
	// Before is the command name of what execs the daemon (sv-exec): a
	// daemon's process still under that name has not exec'd the daemon
	// yet, however still it looks (sv-exec marks the exec just before it
	// makes it, and may wait for a lock or a thread meanwhile).
	Before string
	procfs string
	pid    int
	base   map[int]uint64 // each busy thread's CPU ticks when first seen busy
	read   procReader
	looked bool // whether procfs was looked for
	noProc bool // it is not there
}

// NewSettle follows the tree of pid.
func NewSettle(pid int) *Settle {
	return &Settle{procfs: "/proc", pid: pid, base: map[int]uint64{}}
}

// Done reports whether the tree has settled, a busy thread counting once
// it has used busy of CPU time since first seen busy. The daemon gone (or a
// zombie) has not settled: its supervisor has yet to say how it ended
// (a pid of another PID namespace looks gone too: the caller bounds its
// wait). No /proc at all counts as settled: nothing can be learnt there.
func (s *Settle) Done(busy time.Duration) bool {
	if !s.looked {
		_, err := os.Stat(filepath.Join(s.procfs, "self"))
		s.looked, s.noProc = true, err != nil
	}
	if s.noProc {
		return true // no /proc to look in
	}
	if !s.execd() {
		return false
	}
	need := uint64((busy*clockTicks + time.Second - 1) / time.Second) // in ticks, rounded up
	settled := true
	seen := map[int]bool{}
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		taskDir := s.procfs + "/" + strconv.Itoa(pid) + "/task/"
		tids, _ := s.read.names(taskDir)
		for _, t := range tids {
			task := taskDir + t
			st, err := s.read.stat(task + "/stat")
			if err != nil {
				continue // a thread that ended meanwhile
			}
			if st.State == 'R' || st.State == 'D' {
				tid, _ := strconv.Atoi(t)
				ticks := st.Utime + st.Stime
				base, ok := s.base[tid]
				if !ok {
					s.base[tid] = ticks
				}
				if !ok || ticks < base+need {
					settled = false
				}
			}
			children, _ := s.read.file(task + "/children")
			for _, c := range strings.Fields(string(children)) {
				if n, err := strconv.Atoi(c); err == nil {
					walk(n)
				}
			}
		}
	}
	walk(s.pid)
	// Gone or a zombie (no threads, or a main thread in Z) is not settled;
	// and a thread that could not be read may be the daemon's, ending: look
	// at the daemon once every thread has been read.
	return settled && s.alive()
}

// alive: the daemon runs, neither gone nor a zombie.
func (s *Settle) alive() bool {
	st, err := s.read.stat(s.procfs + "/" + strconv.Itoa(s.pid) + "/stat")
	return err == nil && st.State != 'Z' && st.State != 'X'
}

// execd: the process no longer has the name Before, so it has exec'd the
// daemon. Read before the threads are (the name changes once, inside the
// execve): threads seen asleep after it are the daemon's, not those of the
// program that was about to exec it.
func (s *Settle) execd() bool {
	if s.Before == "" {
		return true
	}
	st, err := s.read.stat(s.procfs + "/" + strconv.Itoa(s.pid) + "/stat")
	return err == nil && st.Comm != s.Before
}

func readStat(path string) (Stat, error) {
	var r procReader
	return r.stat(path)
}
