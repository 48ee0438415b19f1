// Command bench measures sv-scan beside the peers installed here (runit,
// s6, daemontools), in the same run on the same machine, and writes
// docs/BENCHMARKS.md: `make bench`. Nothing here is pass/fail.
//
// A daemon in these measurements is this program run as "bench-daemon
// MARKER": at start it writes its pid and the time to MARKER (atomically),
// then sleeps. A measurement ends when the marker shows the new pid.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/cgroup"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == openrcInner {
		runOpenRCInner(os.Args[2:])
	}
	bin := flag.String("bin", "bin", "the directory with the built tools")
	out := flag.String("o", "docs/BENCHMARKS.md", "where to write the report")
	reps := flag.Int("n", 21, "repetitions of each timing")
	only := flag.String("only", "", "measure only the supervisors whose name starts with this (a quick look; the report is then partial)")
	sections := flag.String("section", "", "measure only these sections, comma-separated: "+strings.Join(sectionNames(), ", ")+" (the report is then partial)")
	flag.Parse()
	b, err := newBench(*bin, *reps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer b.cleanup()
	b.only = *only
	if *sections != "" {
		b.sections = strings.Split(*sections, ",")
	}
	report := b.run()
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Print(report)
}

type bench struct {
	bin, work string
	reps      int
	root      bool
	only      string
	sections  []string // empty: all
	stop      []func()
}

func newBench(bin string, reps int) (*bench, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, "sv-scan")); err != nil {
		return nil, fmt.Errorf("no sv-scan in %s: run make build first", abs)
	}
	work, err := os.MkdirTemp("", "sv-bench-")
	if err != nil {
		return nil, err
	}
	return &bench{bin: abs, work: work, reps: reps, root: os.Geteuid() == 0}, nil
}

func (b *bench) cleanup() {
	for i := len(b.stop) - 1; i >= 0; i-- {
		b.stop[i]()
	}
	os.RemoveAll(b.work)
}

// supervisor is one scanner to measure.
type supervisor struct {
	name    string
	cmd     []string // the scanner, given the scan dir as last argument
	rescan  func(scan string) error
	needsNS bool          // run as PID 1 of a PID namespace, so it ends with all it started
	limit   time.Duration // how long to wait for a linked service (0: 20 s)
}

func (b *bench) supervisors() []supervisor {
	var kept []supervisor
	for _, s := range b.allSupervisors() {
		if strings.HasPrefix(s.name, b.only) {
			kept = append(kept, s)
		}
	}
	return kept
}

func (b *bench) allSupervisors() []supervisor {
	svscan := filepath.Join(b.bin, "sv-scan")
	sups := []supervisor{{name: "sv-scan", cmd: []string{svscan}}, {name: "sv-scan --no-cgroups", cmd: []string{svscan, "--no-cgroups"}}}
	if !b.root {
		return sups // peers run in a PID namespace, which needs root here
	}
	if p, err := exec.LookPath("runsvdir"); err == nil {
		sups = append(sups, supervisor{name: "runit (runsvdir)", cmd: []string{p, "-P"}, needsNS: true})
	}
	if p, err := exec.LookPath("s6-svscan"); err == nil {
		sups = append(sups, supervisor{name: "s6 (s6-svscan)", cmd: []string{p}, needsNS: true,
			rescan: func(scan string) error { return exec.Command("s6-svscanctl", "-a", scan).Run() }})
	}
	if p, err := exec.LookPath("svscan"); err == nil {
		sups = append(sups, supervisor{name: "daemontools (svscan)", cmd: []string{p}, needsNS: true})
	}
	return sups
}

// start runs a scanner on scan; stop ends it and all it started.
func (b *bench) start(s supervisor, scan string) (cmd *exec.Cmd, stop func(), err error) {
	cmd = exec.Command(s.cmd[0], append(s.cmd[1:], scan)...)
	cmd.Dir = b.work
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if s.needsNS {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		if s.needsNS {
			cmd.Process.Kill() // PID 1 of its namespace: everything goes with it
		} else {
			cmd.Process.Signal(syscall.SIGINT) // sv-scan stops its services, then exits
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if strings.HasPrefix(s.name, "sv-scan") {
			removeCgroupTree(b.work, scan)
		}
	}
	b.stop = append(b.stop, stop) // in case the bench itself is cut short
	return cmd, stop, nil
}

// removeCgroupTree removes what is left of the cgroup tree an sv-scan on
// scan made (it removes it as it exits, but not a service's cgroup that
// was still busy then): the bench leaves nothing on the machine.
func removeCgroupTree(cwd, scan string) {
	if !filepath.IsAbs(scan) {
		scan = filepath.Join(cwd, scan)
	}
	if tree, err := cgroup.TreePath(scan); err == nil {
		(&cgroup.Tree{Path: tree}).Remove()
	}
}

// rawService makes a service dir whose ./run is the daemon: a shell that
// writes its pid to marker with a builtin (no fork) and then execs sleep,
// keeping that pid. The daemon starts in about a millisecond, so what is
// measured is the supervisor, not the daemon's own start-up.
func (b *bench) rawService(dir, marker string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	run := fmt.Sprintf("#!/bin/sh\necho $$ >%s\nexec sleep 100000\n", marker)
	return os.WriteFile(filepath.Join(dir, "run"), []byte(run), 0o755)
}

// waitMarker waits (inotify) until marker holds a pid other than old, and
// returns that pid and when it was seen.
func waitMarker(marker string, old int, limit time.Duration) (int, time.Time, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer unix.Close(fd)
	unix.InotifyAddWatch(fd, filepath.Dir(marker), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE)
	deadline := time.Now().Add(limit)
	for {
		if data, err := os.ReadFile(marker); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid != old {
				return pid, time.Now(), nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, time.Time{}, errors.New("timed out")
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(left.Milliseconds())+1); n > 0 {
			buf := make([]byte, 4096)
			unix.Read(fd, buf)
		}
	}
}

// direct is the floor under every supervisor: the bench itself forks and
// execs ./run, with nothing in between.
func (b *bench) direct(reps int) stats {
	dir := filepath.Join(b.work, "direct")
	var ds []time.Duration
	for i := 0; i < reps; i++ {
		svc := filepath.Join(dir, strconv.Itoa(i))
		marker := filepath.Join(dir, "marker"+strconv.Itoa(i))
		if err := b.rawService(svc, marker); err != nil {
			return stats{err: err.Error()}
		}
		t0 := time.Now()
		cmd := exec.Command(filepath.Join(svc, "run"))
		if err := cmd.Start(); err != nil {
			return stats{err: err.Error()}
		}
		_, at, err := waitMarker(marker, 0, 20*time.Second)
		cmd.Process.Kill()
		cmd.Wait()
		if err != nil {
			return stats{err: err.Error()}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}

// stats are a measurement's median, min and max.
type stats struct {
	med, min, max time.Duration
	n             int
	err           string
}

func summarize(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{err: "no sample"}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return stats{med: ds[len(ds)/2], min: ds[0], max: ds[len(ds)-1], n: len(ds)}
}

// linkToRunning: from creating the link in a running scanner's scan dir
// (and asking it to rescan, where it can be asked) to the daemon running.
func (b *bench) linkToRunning(s supervisor, reps int) stats {
	dir := filepath.Join(b.work, "link-"+slug(s.name))
	scan := filepath.Join(dir, "scan")
	os.MkdirAll(scan, 0o755)
	_, stop, err := b.start(s, scan)
	if err != nil {
		return stats{err: err.Error()}
	}
	defer stop()
	var ds []time.Duration
	for i := 0; i < reps; i++ {
		svc := filepath.Join(dir, "svc", strconv.Itoa(i))
		marker := filepath.Join(dir, "marker"+strconv.Itoa(i))
		if err := b.rawService(svc, marker); err != nil {
			return stats{err: err.Error()}
		}
		t0 := time.Now()
		if err := os.Symlink(svc, filepath.Join(scan, strconv.Itoa(i))); err != nil {
			return stats{err: err.Error()}
		}
		if s.rescan != nil {
			s.rescan(scan)
		}
		limit := s.limit
		if limit == 0 {
			limit = 20 * time.Second
		}
		_, at, err := waitMarker(marker, 0, limit)
		if err != nil {
			return stats{err: fmt.Sprintf("not running after %s", limit)}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}

// linkVariants are the scanners of linkSection told and not told where
// they can be: sv-scan watches its scan dir (inotify) and also reads `a`;
// s6-svscan reads `a` and, not told, looks again only when asked to.
func (b *bench) linkVariants() []supervisor {
	var out []supervisor
	for _, s := range b.supervisors() {
		out = append(out, s)
		switch {
		case s.name == "sv-scan":
			told := s
			told.name = "sv-scan, told (`a` on its control FIFO)"
			told.rescan = func(scan string) error {
				f, err := os.OpenFile(filepath.Join(scan, ".sv-scan", "control"), os.O_WRONLY, 0)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = f.WriteString("a")
				return err
			}
			out = append(out, told)
		case strings.HasPrefix(s.name, "s6"):
			untold := s
			untold.name = s.name + ", not told"
			untold.rescan, untold.limit = nil, 6*time.Second
			out = append(out, untold)
		}
	}
	return out
}

// killToNewPid: from kill -9 of a daemon that has run a while to the new
// daemon running. Each repetition is its own service, so each measures a
// first restart: a supervisor may rightly hold back the next ones of a
// daemon that keeps dying (sv-scan's crash-loop backoff).
func (b *bench) killToNewPid(s supervisor, reps int) stats {
	dir := filepath.Join(b.work, "kill-"+slug(s.name))
	scan := filepath.Join(dir, "scan")
	os.MkdirAll(scan, 0o755)
	marker := func(i int) string { return filepath.Join(dir, "marker"+strconv.Itoa(i)) }
	for i := 0; i < reps; i++ {
		svc := filepath.Join(dir, "svc", strconv.Itoa(i))
		if err := b.rawService(svc, marker(i)); err != nil {
			return stats{err: err.Error()}
		}
		os.Symlink(svc, filepath.Join(scan, strconv.Itoa(i)))
	}
	cmd, stop, err := b.start(s, scan)
	if err != nil {
		return stats{err: err.Error()}
	}
	defer stop()
	pids := make([]int, reps)
	for i := range pids {
		if pids[i], _, err = waitMarker(marker(i), 0, 20*time.Second); err != nil {
			return stats{err: err.Error()}
		}
	}
	// runsv and s6-supervise wait a second before restarting a daemon
	// that died within a second of starting: let them all run past that.
	time.Sleep(1100 * time.Millisecond)
	var ds []time.Duration
	for i, pid := range pids {
		hostPid := b.hostPid(cmd, s, pid)
		t0 := time.Now()
		syscall.Kill(hostPid, syscall.SIGKILL)
		_, at, err := waitMarker(marker(i), pid, 20*time.Second)
		if err != nil {
			return stats{err: err.Error()}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}

// hostPid turns a pid as the daemon saw it (in a PID namespace, for the
// peers) into ours: the process whose NSpid ends with it.
func (b *bench) hostPid(cmd *exec.Cmd, s supervisor, nsPid int) int {
	if !s.needsNS {
		return nsPid
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "NSpid:" && f[2] == strconv.Itoa(nsPid) && isDescendant(pid, cmd.Process.Pid) {
				return pid
			}
		}
	}
	return -1
}

func isDescendant(pid, ancestor int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == ancestor {
			return true
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		pid, _ = strconv.Atoi(f[1])
	}
	return pid == ancestor
}

func procKB(pid int, file, key string) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d%s", pid, file))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

// section is one part of the report. Each file of the bench registers its
// own (register, from an init function); order places it in the report.
type section struct {
	order   int
	name    string
	measure func(b *bench, r *strings.Builder)
}

// sections are the report's parts, in their order.
var sections []section

func register(s section) {
	sections = append(sections, s)
	sort.SliceStable(sections, func(i, j int) bool { return sections[i].order < sections[j].order })
}

func init() {
	register(section{10, "link", (*bench).linkSection})
	register(section{30, "kill", (*bench).killSection})
	register(section{80, "rc-service", (*bench).openrcSection})
}

func sectionNames() []string {
	var names []string
	for _, s := range sections {
		names = append(names, s.name)
	}
	return names
}

func (b *bench) wanted(name string) bool {
	if len(b.sections) == 0 {
		return true
	}
	for _, s := range b.sections {
		if s == name {
			return true
		}
	}
	return false
}

func (b *bench) run() string {
	var r strings.Builder
	fmt.Fprintf(&r, "# Benchmarks\n\n<!-- Written by `make bench` (scripts/bench); do not edit. -->\n\n")
	fmt.Fprintf(&r, "Measured %s on %s: %s, %d CPUs, kernel %s, %s.\n", time.Now().UTC().Format("2006-01-02"), hostname(), cpuModel(), runtime.NumCPU(), kernel(), runtime.Version())
	fmt.Fprintf(&r, "Peers: %s. Each timing is the median of its runs, with min and max; ratios are against sv-scan in the same run.\n", peerVersions())
	for _, sec := range sections {
		if b.wanted(sec.name) {
			began := time.Now()
			fmt.Fprintln(&r)
			sec.measure(b, &r)
			fmt.Fprintf(os.Stderr, "bench: %s: %s\n", sec.name, time.Since(began).Round(time.Second))
		}
	}
	return r.String()
}

func (b *bench) linkSection(r *strings.Builder) {
	fmt.Fprintf(r, "## Link into the scan dir to the daemon running\n\n")
	fmt.Fprintf(r, "A service dir whose `./run` execs the daemon is linked into a running scanner's scan dir, until the daemon has written its pid: with the scanner's rescan trigger where it has one (sv-scan: `a` on its control FIFO; s6: `s6-svscanctl -a`) and without (sv-scan sees the link by inotify; runit and daemontools have no trigger: runsvdir looks every second, svscan every 5 s; s6-svscan, not told, looks only when asked or when one of its processes ends). The daemon is `./run` itself, a shell that writes its pid with a builtin and then execs sleep; the last row is the floor: the bench forking and executing `./run` with no supervisor between.\n\n")
	fmt.Fprintf(r, "| supervisor | runs | median | min | max | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
	var base time.Duration
	for _, s := range b.linkVariants() {
		reps := b.reps
		if s.rescan == nil && !strings.HasPrefix(s.name, "sv-scan") {
			reps = 3 // up to 5 s each
		}
		st := b.linkToRunning(s, reps)
		row(r, s.name, st, &base)
	}
	row(r, "no supervisor (floor)", b.direct(b.reps), &base)
}

func (b *bench) killSection(r *strings.Builder) {
	fmt.Fprintf(r, "## kill -9 of a daemon to the new daemon running\n\n")
	fmt.Fprintf(r, "Each run is the first restart of its own service, whose daemon has run over a second (runsv and s6-supervise wait a second before restarting one that died sooner; sv-scan backs off when a daemon keeps dying).\n\n")
	fmt.Fprintf(r, "| supervisor | runs | median | min | max | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
	var base time.Duration
	var faster []string
	var gap time.Duration // how far the fastest is ahead
	for _, s := range b.supervisors() {
		st := b.killToNewPid(s, b.reps)
		row(r, s.name, st, &base)
		if st.err == "" && st.med < base && !strings.HasPrefix(s.name, "sv-scan") {
			faster = append(faster, fmt.Sprintf("%s (%.1fx)", s.name, float64(st.med)/float64(base)))
			gap = max(gap, base-st.med)
		}
	}
	if b.root && b.only == "" {
		if _, err := exec.LookPath("supervisord"); err == nil {
			row(r, "supervisord", b.killTree("supervisord", b.reps), &base)
		}
	}
	if len(faster) > 0 {
		fmt.Fprintf(r, "\nBehind: %s restart faster than sv-scan here, by %s at most. Traced inside sv-scan (in an earlier run), a restart is: kill to the exit reaped (the kernel ending the process; the same for every supervisor), sv-scan's own work from the exit to the fork, 0.3-0.7 ms (recording the exit, rereading the service's config), then the spawn, most of it the child's execve of `./run`, which Go's os.StartProcess waits for. What would cut it: keeping the parsed config until the OPTIONS file changes.\n", strings.Join(faster, ", "), round(gap))
	}
}

func row(r *strings.Builder, name string, st stats, base *time.Duration) {
	if st.err != "" {
		fmt.Fprintf(r, "| %s | | %s | | | |\n", name, st.err)
		return
	}
	if *base == 0 {
		*base = st.med
	}
	fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %.1fx |\n", name, st.n, round(st.med), round(st.min), round(st.max), float64(st.med)/float64(*base))
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func hostname() string { h, _ := os.Hostname(); return h }

func kernel() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func peerVersions() string {
	var out []string
	for _, pkg := range []string{"runit", "s6", "daemontools", "supervisor", "openrc"} {
		v, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
		if err == nil && len(v) > 0 {
			out = append(out, pkg+" "+string(v))
		}
	}
	if len(out) == 0 {
		return "none installed"
	}
	return strings.Join(out, ", ") + " (Debian)"
}
