package testscript_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/svdir"
	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// probeMain is sv-probe: a stand-in daemon for tests. It reports what
// sv-exec gave it (identity, limits, directory, environment, session), to
// stdout or to a file, then does what its flags ask:
//
//	-o FILE          write the report to FILE (atomically) instead of stdout
//	-delay D         wait D before becoming ready (a Go duration)
//	-notify-fd N     readiness s6's way: a newline on fd N
//	-notify          readiness sd_notify's way: READY=1 to $NOTIFY_SOCKET
//	-listen ADDR     accept TCP connections on ADDR (tcp: readiness)
//	-touch FILE      create FILE when ready (path: readiness)
//	-lines N         print N numbered lines "line 1".. then go on
//	-exit CODE       exit with CODE once ready (instead of staying)
//	-ignore-term     ignore SIGTERM (only KILL ends it)
//	-grandchild FILE fork a detached grandchild (own session) that ignores
//	                 TERM, and write its pid to FILE
//	-stay            wait for signals: report each; exit 0 on TERM or INT
//	-trace FILE      append "NAME start" when it starts and, with -stay,
//	                 "NAME term" when TERM comes and "NAME exit" as it
//	                 exits (NAME from -name), for tests of start and stop
//	                 order across services
//	-term-delay D    with -stay: wait D between TERM and the exit
//	-term-wait FILE  with -stay: after TERM, exit only once FILE exists
//	                 (looked for every 20ms, for a minute at most)
func probeMain() {
	fs := flag.NewFlagSet("sv-probe", flag.ExitOnError)
	out := fs.String("o", "", "")
	delay := fs.Duration("delay", 0, "")
	notifyFD := fs.Int("notify-fd", -1, "")
	notify := fs.Bool("notify", false, "")
	listen := fs.String("listen", "", "")
	touch := fs.String("touch", "", "")
	lines := fs.Int("lines", 0, "")
	exitCode := fs.Int("exit", -1, "")
	ignoreTerm := fs.Bool("ignore-term", false, "")
	grandchild := fs.String("grandchild", "", "")
	stay := fs.Bool("stay", false, "")
	trace := fs.String("trace", "", "")
	name := fs.String("name", "probe", "")
	termDelay := fs.Duration("term-delay", 0, "")
	termWait := fs.String("term-wait", "", "")
	fs.Parse(os.Args[1:])
	traceLine := func(what string) {
		if *trace == "" {
			return
		}
		// One write with O_APPEND: lines of several probes never mix.
		if f, err := os.OpenFile(*trace, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			f.WriteString(*name + " " + what + "\n")
			f.Close()
		}
	}
	traceLine("start")

	if os.Getenv("SV_PROBE_GRANDCHILD") != "" { // the detached grandchild itself
		signal.Ignore(syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
		select {}
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	// Handlers first: once the probe reports or says it is ready, a stop
	// signal is heard, not the runtime's default.
	sigs := make(chan os.Signal, 1)
	if *stay || *listen != "" {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
		if !*ignoreTerm { // Notify would undo the Ignore
			signal.Notify(sigs, syscall.SIGTERM)
		}
	}
	report := probeReport()
	if *out == "" {
		os.Stdout.WriteString(report)
	} else {
		writeAtomic(*out, report)
		fmt.Println("sv-probe: report written")
	}
	for i := 1; i <= *lines; i++ {
		fmt.Printf("line %d\n", i)
	}
	if *grandchild != "" {
		self, _ := os.Executable()
		cmd := exec.Command(self)
		cmd.Args[0] = "sv-probe"
		cmd.Env = append(os.Environ(), "SV_PROBE_GRANDCHILD=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err == nil {
			writeAtomic(*grandchild, fmt.Sprintln(cmd.Process.Pid))
			fmt.Printf("sv-probe: grandchild %d\n", cmd.Process.Pid)
		}
	}
	var ln net.Listener
	if *listen != "" {
		var err error
		if ln, err = net.Listen("tcp", *listen); err != nil {
			fmt.Println("sv-probe:", err)
			os.Exit(1)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	time.Sleep(*delay)
	if *touch != "" {
		writeAtomic(*touch, "")
	}
	if *notifyFD >= 0 {
		f := os.NewFile(uintptr(*notifyFD), "notification-fd")
		f.Write([]byte("\n"))
		f.Close()
		fmt.Println("sv-probe: ready")
	}
	if *notify {
		if err := sdNotify("READY=1"); err != nil {
			fmt.Println("sv-probe: sd_notify:", err)
		} else {
			fmt.Println("sv-probe: ready")
		}
	}
	if *exitCode >= 0 {
		fmt.Printf("sv-probe: exiting %d\n", *exitCode)
		os.Exit(*exitCode)
	}
	if *stay || ln != nil {
		for s := range sigs {
			fmt.Printf("sv-probe: got %v\n", s)
			if s == syscall.SIGTERM || s == syscall.SIGINT {
				traceLine("term")
				time.Sleep(*termDelay)
				for end := time.Now().Add(time.Minute); *termWait != "" && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
					if _, err := os.Stat(*termWait); err == nil {
						break
					}
				}
				traceLine("exit")
				os.Exit(0)
			}
		}
	}
}

// writeAtomic writes a file whole or not at all, so a test waiting for it
// to exist never reads it half-written.
func writeAtomic(path, text string) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err == nil {
		os.Rename(tmp, path)
	}
}

// sdNotify sends one sd_notify(3) message to $NOTIFY_SOCKET.
func sdNotify(msg string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return errors.New("NOTIFY_SOCKET is not set")
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	return err
}

func probeReport() string {
	var b strings.Builder
	groups, _ := syscall.Getgroups()
	sort.Ints(groups)
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	prio, _ := unix.Getpriority(unix.PRIO_PROCESS, 0)
	cwd, _ := os.Getwd()
	sid, _ := unix.Getsid(0)
	fmt.Fprintf(&b, "uid=%d gid=%d groups=%v\n", os.Getuid(), os.Getgid(), groups)
	fmt.Fprintf(&b, "umask=%03o\nnice=%d\ncwd=%s\n", umask, 20-prio, cwd)
	fmt.Fprintf(&b, "pgid-is-pid=%v sid-is-pid=%v\n", unix.Getpgrp() == os.Getpid(), sid == os.Getpid())
	// Go raises its own soft NOFILE limit at startup and gives children
	// the original back: ask a child what this process was given.
	out, _ := exec.Command("/bin/sh", "-c", `echo "$(ulimit -Sn):$(ulimit -Hn)"`).Output()
	fmt.Fprintf(&b, "limit-nofile=%s\n", strings.TrimSpace(string(out)))
	for _, l := range []struct {
		name string
		res  int
	}{{"nproc", unix.RLIMIT_NPROC}, {"core", unix.RLIMIT_CORE}, {"as", unix.RLIMIT_AS}} {
		var rl unix.Rlimit
		unix.Getrlimit(l.res, &rl)
		fmt.Fprintf(&b, "limit-%s=%s:%s\n", l.name, limitText(rl.Cur), limitText(rl.Max))
	}
	fmt.Fprintf(&b, "stderr-is-stdout=%v\n", sameFile(1, 2))
	env := os.Environ()
	sort.Strings(env)
	for _, e := range env {
		fmt.Fprintf(&b, "env %s\n", e)
	}
	return b.String()
}

func limitText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	return unix.Fstat(a, &sa) == nil && unix.Fstat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// pidnsMain is pidns CMD ARGS: it runs CMD as PID 1 of a new PID namespace
// (with a new user namespace when not root) and exits with its status;
// with $PIDNS_PIDFILE set, it writes there the pid CMD has outside.
// When pidns gets INT or TERM, or dies, the namespace's init is killed, and
// with it every process inside: a peer supervisor and all it started end
// together, whatever they did with sessions and groups.
func pidnsMain() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pidns CMD [ARGS...]")
		os.Exit(2)
	}
	// Pdeathsig fires when the thread that forked exits: keep it alive.
	runtime.LockOSThread()
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pidns:", err)
		os.Exit(127)
	}
	cmd := exec.Command(path, os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "pidns:", err)
		os.Exit(126)
	}
	if f := os.Getenv("PIDNS_PIDFILE"); f != "" {
		// The namespace's init as the machine sees it: for nsenter, and
		// /proc/PID/root to reach its files.
		writeAtomic(f, fmt.Sprintln(cmd.Process.Pid))
	}
	stopped := make(chan struct{})
	go func() {
		<-sigs
		close(stopped)
		cmd.Process.Kill()
	}()
	err = cmd.Wait()
	select {
	case <-stopped:
		os.Exit(0) // ended on request: the namespace is gone, as asked
	default:
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// Killed by a signal (as a namespace's init is by reboot(2)):
		// say which, and exit 128+signal as a shell would report it.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(os.Stderr, "pidns: init killed by %s\n", unix.SignalName(ws.Signal()))
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(ee.ExitCode() & 0xff)
	}
	if err != nil {
		os.Exit(1)
	}
}

// scriptCmds are in-process commands for scripts.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"waitfile":  cmdWaitFile,
	"waitmatch": cmdWaitMatch,
	"readlink":  cmdReadlink,
	"waitdown":  cmdWaitDown,
	"treesnap":  cmdTreeSnap,
	"readenv":   cmdReadEnv,
	"freeport":  cmdFreePort,
}

// cmdFreePort is freeport VAR: VAR is set to a TCP port of 127.0.0.1 free
// now, for a server that cannot say which port it took (Prometheus).
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	defer ln.Close()
	ts.Setenv(args[0], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// cmdReadEnv is readenv VAR FILE: VAR is set to what FILE holds, without
// its last newline (sv-http's address, which it chose).
func cmdReadEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: readenv VAR FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	ts.Setenv(args[0], strings.TrimSuffix(string(data), "\n"))
}

// ageStamp dates a sync stamp (internal/syncstamp) two RacyWindows
// later, as if taken long after its paths last changed: a start within a
// second of a sync does not trust the stamp, and no test waits that
// second out.
func ageStamp(file string) error {
	s, err := syncstamp.Read(file)
	if err != nil {
		return err
	}
	s.At = time.Now().Add(2 * syncstamp.RacyWindow)
	return syncstamp.Write(file, s)
}

// agestampMain is agestamp, ageStamp as a program (scripts in a namespace
// run it too).
//
//	agestamp FILE...
func agestampMain() {
	for _, file := range os.Args[1:] {
		if err := ageStamp(file); err != nil {
			fmt.Fprintln(os.Stderr, "agestamp:", err)
			os.Exit(1)
		}
	}
}

// treesnap DIR [-x RELPATH]... prints one line per path under DIR: its
// type, permissions, link target or content hash, skipping the excluded
// subtrees. Compare two snapshots to show a tree did not change.
func cmdTreeSnap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: treesnap DIR [-x RELPATH]...")
	}
	root := ts.MkAbs(args[0])
	skip := map[string]bool{}
	for i := 1; i+1 < len(args); i += 2 {
		skip[args[i+1]] = true
	}
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, _ = os.Readlink(p)
			what = "-> " + what
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			what = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
		}
		lines = append(lines, fmt.Sprintf("%s %s %s", fi.Mode(), rel, what))
		return nil
	})
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), strings.Join(lines, "\n"))
}

// waitdown SERVICEDIR waits (at most 30 s) until the supervisor's 20-byte
// supervise/status says the service is down and wanted down: it has
// stopped and will not be restarted.
func cmdWaitDown(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitdown SERVICEDIR")
	}
	dir := filepath.Join(ts.MkAbs(args[0]), "supervise")
	status := filepath.Join(dir, "status")
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	ts.Check(err)
	defer unix.Close(fd)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts.Check(inotify.WaitPaths(ctx, []string{dir}))
	_, err = unix.InotifyAddWatch(fd, dir, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE)
	ts.Check(err)
	deadline, _ := ctx.Deadline()
	for {
		b, _ := os.ReadFile(status)
		if len(b) >= 20 && b[17] == 'd' && b[19] == 0 && pidOf(b) == 0 {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			ts.Fatalf("waitdown: %s is not down and wanted down after 30s (status %q)", args[0], b)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(left.Milliseconds())+1); n > 0 {
			buf := make([]byte, 4096)
			unix.Read(fd, buf)
		}
	}
}

// pidOf reads the little-endian pid of a runit status (bytes 12-15).
func pidOf(b []byte) uint32 {
	return uint32(b[12]) | uint32(b[13])<<8 | uint32(b[14])<<16 | uint32(b[15])<<24
}

// readlink PATH TARGET asserts that PATH is a symlink to exactly TARGET
// (with ! : that it is not).
func cmdReadlink(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: readlink PATH TARGET")
	}
	got, err := os.Readlink(ts.MkAbs(args[0]))
	match := err == nil && got == args[1]
	if match == neg {
		ts.Fatalf("readlink %s = %q (%v), want %s%q", args[0], got, err, map[bool]string{true: "not "}[neg], args[1])
	}
}

// waitfile PATH... waits (inotify, at most 30 s) until every path exists.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: waitfile PATH...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	paths := make([]string, len(args))
	for i, a := range args {
		paths[i] = ts.MkAbs(a)
	}
	ts.Check(inotify.WaitPaths(ctx, paths))
}

// waitpathsMain is waitpaths, waitfile as a program for scripts that run
// in a namespace: it waits (inotify, at most 30 s) until every PATH exists.
//
//	waitpaths PATH...
func waitpathsMain() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := inotify.WaitPaths(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "waitpaths:", err)
		os.Exit(1)
	}
}

// waitmatch FILE REGEXP waits (inotify, at most 30 s) until FILE exists
// and a line of it matches REGEXP.
func cmdWaitMatch(ts *testscript.TestScript, neg bool, args []string) {
	// -t D: a longer bound, for what takes long on a loaded machine (a
	// flood of a thousand crashes while other tests run).
	limit := 30 * time.Second
	if len(args) == 4 && args[0] == "-t" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		limit, args = d, args[2:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitmatch [-t DURATION] FILE REGEXP")
	}
	path := ts.MkAbs(args[0])
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	deadline := time.Now().Add(limit)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	ts.Check(err)
	defer unix.Close(fd)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ts.Check(inotify.WaitPaths(ctx, []string{filepath.Dir(path)}))
	// Watch the directory: loggers replace files by renaming (rotation), and
	// a watch on the file itself would stay with the old one.
	_, err = unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_MODIFY|unix.IN_CLOSE_WRITE|unix.IN_CREATE|unix.IN_MOVED_TO)
	ts.Check(err)
	for {
		data, _ := os.ReadFile(path)
		if re.Match(data) {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			ts.Fatalf("waitmatch: no line of %s matches %q after %s; it holds:\n%s", args[0], args[1], limit, tail(data))
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(left.Milliseconds())+1); n > 0 {
			buf := make([]byte, 4096)
			unix.Read(fd, buf)
		}
	}
}

func tail(b []byte) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// svwaitMain is svwait: a test helper that waits, by inotify with a 30 s
// bound, for a supervise/status of any family to settle.
//
//	svwait stamp SERVICEDIR           prints the status stamp now
//	svwait SERVICEDIR up|down [STAMP] waits for that state with a newer stamp
func svwaitMain() {
	args := os.Args[1:]
	if len(args) == 2 && args[0] == "stamp" {
		d, err := svdir.ReadStatus(filepath.Join(args[1], "supervise"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "svwait:", err)
			os.Exit(1)
		}
		fmt.Println(d.Since.UnixNano())
		return
	}
	if len(args) < 2 || (args[1] != "up" && args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: svwait stamp DIR | svwait DIR up|down [STAMP]")
		os.Exit(2)
	}
	var after int64 = -1
	if len(args) == 3 {
		fmt.Sscan(args[2], &after)
	}
	sup := filepath.Join(args[0], "supervise")
	settled := func() bool {
		d, err := svdir.ReadStatus(sup)
		if err != nil || d.Since.UnixNano() <= after {
			return false
		}
		if args[1] == "up" {
			return d.State == svdir.StateRun && d.Pid != 0
		}
		return d.State == svdir.StateDown && d.Pid == 0
	}
	fd, _ := unix.InotifyInit1(unix.IN_CLOEXEC)
	unix.InotifyAddWatch(fd, sup, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE)
	deadline := time.Now().Add(30 * time.Second)
	for !settled() {
		left := time.Until(deadline)
		if left <= 0 {
			fmt.Fprintf(os.Stderr, "svwait: %s not %s after 30s\n", args[0], args[1])
			os.Exit(1)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(left.Milliseconds())+1); n > 0 {
			buf := make([]byte, 4096)
			unix.Read(fd, buf)
		}
	}
}
