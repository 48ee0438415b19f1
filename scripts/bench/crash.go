package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(section{35, "crash", (*bench).crashSection})
}

// crashWindow is how long every scanner runs its service that exits at
// once. They run side by side in the same window: they are idle but for
// the restarts. Long enough to show a backoff's tenth step.
const crashWindow = 30 * time.Second

// crashStagger separates the scanners' starts.
const crashStagger = 300 * time.Millisecond

// crashLoop is what one supervisor did with a service that keeps exiting.
type crashLoop struct {
	sup    supervisor
	begin  time.Time   // the scanner started
	starts []time.Time // each start of ./run, as seen by the bench
	err    string
}

// gaps are the intervals between consecutive starts.
func (c *crashLoop) gaps() []time.Duration {
	var gs []time.Duration
	for i := 1; i < len(c.starts); i++ {
		gs = append(gs, c.starts[i].Sub(c.starts[i-1]))
	}
	return gs
}

// restartRate is restarts per second from the first start to the end of
// the window.
func (c *crashLoop) restartRate(window time.Duration) float64 {
	if len(c.starts) == 0 {
		return 0
	}
	span := c.begin.Add(window).Sub(c.starts[0])
	return float64(len(c.starts)-1) / span.Seconds()
}

// crashLoops runs every supervisor at once, each on a scan dir holding one
// service whose ./run appends its pid to a log of its own (a builtin echo:
// no fork) and exits 1. The bench watches the logs (inotify) and stamps
// each line as it appears; the window is counted from each scanner's start.
func (b *bench) crashLoops(window time.Duration) []*crashLoop {
	dir := filepath.Join(b.work, "crash")
	logs := filepath.Join(dir, "starts")
	var loops []*crashLoop
	fail := func(err error) []*crashLoop {
		for _, s := range b.withSupervisord() {
			loops = append(loops, &crashLoop{sup: s, err: err.Error()})
		}
		return loops
	}
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return fail(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, logs, unix.IN_MODIFY); err != nil {
		return fail(err)
	}
	var mu sync.Mutex // guards stops
	var stops []func()
	defer func() {
		var wg sync.WaitGroup
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			wg.Add(1)
			go func() { defer wg.Done(); stop() }()
		}
		wg.Wait()
	}()
	byLog := map[string]*crashLoop{}
	read := map[string]int64{} // bytes of each log already counted
	type scanner struct {
		c    *crashLoop
		scan string
	}
	var todo []scanner
	for i, s := range b.withSupervisord() {
		c := &crashLoop{sup: s}
		loops = append(loops, c)
		name := strconv.Itoa(i)
		svc := filepath.Join(dir, name, "svc")
		scan := filepath.Join(dir, name, "scan")
		run := fmt.Sprintf("#!/bin/sh\necho $$ >>%s\nexit 1\n", filepath.Join(logs, name))
		if err := os.MkdirAll(svc, 0o755); err != nil {
			c.err = err.Error()
			continue
		}
		os.MkdirAll(scan, 0o755)
		if err := os.WriteFile(filepath.Join(svc, "run"), []byte(run), 0o755); err != nil {
			c.err = err.Error()
			continue
		}
		if err := os.Symlink(svc, filepath.Join(scan, "crash")); err != nil {
			c.err = err.Error()
			continue
		}
		byLog[name] = c
		todo = append(todo, scanner{c, scan})
	}
	if len(todo) == 0 {
		return loops
	}
	// The scanners start one after another, staggered so that no
	// scanner's first restarts meet another's start-up, while this
	// goroutine stamps the starts.
	started := make(chan struct{})
	go func() {
		defer close(started)
		for i, t := range todo {
			if i > 0 {
				time.Sleep(crashStagger)
			}
			t.c.begin = time.Now()
			_, stop, err := b.start(t.c.sup, t.scan)
			if err != nil {
				t.c.err = err.Error()
				continue
			}
			mu.Lock()
			stops = append(stops, stop)
			mu.Unlock()
		}
	}()
	defer func() { <-started }() // before the stops (deferred earlier) run
	deadline := time.Now().Add(time.Duration(len(todo)-1)*crashStagger + window + 100*time.Millisecond)
	collect := func(name string, at time.Time) {
		c := byLog[name]
		if c == nil {
			return
		}
		f, err := os.Open(filepath.Join(logs, name))
		if err != nil {
			return
		}
		defer f.Close()
		f.Seek(read[name], io.SeekStart)
		data, _ := io.ReadAll(f)
		n := bytes.LastIndexByte(data, '\n') + 1 // whole lines only
		read[name] += int64(n)
		for range bytes.Count(data[:n], []byte{'\n'}) {
			c.starts = append(c.starts, at)
		}
	}
	buf := make([]byte, 64*1024)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(left.Milliseconds())+1); n <= 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		at := time.Now()
		if err != nil || n <= 0 {
			continue
		}
		names := map[string]bool{}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			l := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+l]), "\x00")
			off += unix.SizeofInotifyEvent + l
			if mask&unix.IN_Q_OVERFLOW != 0 {
				for n := range byLog {
					names[n] = true
				}
			}
			names[name] = true
		}
		for name := range names {
			collect(name, at)
		}
	}
	<-started
	for _, c := range loops {
		kept := c.starts[:0]
		for _, at := range c.starts {
			if at.Sub(c.begin) <= window {
				kept = append(kept, at)
			}
		}
		c.starts = kept
		if c.err == "" && len(c.starts) == 0 {
			c.err = "./run never started"
		}
	}
	return loops
}

func (b *bench) crashSection(r *strings.Builder) {
	fmt.Fprintf(r, "## A daemon that exits at once: restart rate and backoff\n\n")
	fmt.Fprintf(r, "Each scanner supervises one service whose `./run` appends its pid to a file with a shell builtin (no fork) and exits 1 at once. All scanners run side by side for the same %s window, counted from each one's start (they are idle but for the restarts; started %s apart so that no start-up meets another's first restarts); the bench watches the files (inotify) and stamps each start as it appears. A gap is the time from one start of `./run` to the next: the run itself (a shell that exits at once: a few milliseconds here), the supervisor noticing the exit, any pause it takes, and the next spawn. \"Restarts/s\" counts the starts after the first over the rest of the window; \"longest\" is the longest gap between two starts inside the window. The service dir is the same hand-written one for everyone: no OPTIONS, so sv-scan applies its default policy (SVC_RESTART=always, SVC_RESTART_DELAY=0, SVC_RESTART_MAX_DELAY=60s).\n\n", crashWindow, crashStagger)
	loops := b.crashLoops(crashWindow)
	fmt.Fprintf(r, "| supervisor | starts in %s | restarts/s | ratio | 1st gap | 2nd gap | 5th gap | 10th gap | longest gap |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n", crashWindow)
	var base float64
	for _, c := range loops {
		if c.err != "" {
			fmt.Fprintf(r, "| %s | not measured: %s | | | | | | | |\n", c.sup.name, c.err)
			continue
		}
		rate := c.restartRate(crashWindow)
		if base == 0 {
			base = rate
		}
		ratio := ""
		if base > 0 {
			ratio = fmt.Sprintf("%.1fx", rate/base)
		}
		gs := c.gaps()
		gap := func(i int) string {
			if i > len(gs) {
				return "none"
			}
			return round(gs[i-1])
		}
		longest := "none"
		if len(gs) > 0 {
			longest = round(maxDuration(gs))
		}
		fmt.Fprintf(r, "| %s | %d | %.2f | %s | %s | %s | %s | %s | %s |\n", c.sup.name, len(c.starts), rate, ratio, gap(1), gap(2), gap(5), gap(10), longest)
	}
	fmt.Fprintln(r)
	for _, c := range loops {
		fmt.Fprintf(r, "- %s\n", crashPolicy(c, crashWindow))
	}
	crashVerdict(r, loops, crashWindow)
	crashGaveUp(r, loops, crashWindow)
}

func maxDuration(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds[1:] {
		m = max(m, d)
	}
	return m
}

func minDuration(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds[1:] {
		m = min(m, d)
	}
	return m
}

// withSupervisord are the scanners, and supervisord for the sections that
// start a scan dir's services as they are (crash loop, cold start): it has
// no scan dir, so a wrapper writes a config with a [program:] for each
// service dir of the scan dir, with supervisord's default settings, and
// execs it.
func (b *bench) withSupervisord() []supervisor {
	sups := b.supervisors()
	p, err := exec.LookPath("supervisord")
	if err != nil || !b.root || b.only != "" && !strings.HasPrefix("supervisord", b.only) {
		return sups
	}
	wrapper := filepath.Join(b.work, "supervisord-scan")
	script := `#!/bin/sh
# supervisord-scan SCAN: supervisord running each service dir of SCAN
d=$(dirname "$1")
{
	printf '[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nchildlogdir=%s\n' "$d" "$d" "$d"
	for s in "$1"/*; do
		printf '[program:%s]\ncommand=%s/run\ndirectory=%s\n' "$(basename "$s")" "$s" "$s"
	done
} >"$d/supervisord.conf"
exec ` + p + ` -n -c "$d/supervisord.conf"
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return sups
	}
	return append(sups, supervisor{name: "supervisord", cmd: []string{"/bin/sh", wrapper}, needsNS: true})
}

// crashPolicy says, from what was measured, how the supervisor spaces the
// restarts, beside what it is documented to do.
func crashPolicy(c *crashLoop, window time.Duration) string {
	name := "**" + c.sup.name + "**: "
	if c.err != "" {
		return name + "not measured: " + c.err + "."
	}
	gs := c.gaps()
	if len(gs) == 0 {
		return name + "started `./run` once and never again within the window."
	}
	var doc string
	switch {
	case strings.HasPrefix(c.sup.name, "sv-scan"):
		doc = "the default policy of a service dir without OPTIONS: the first restart at once, then 100ms doubling at each exit within 10s of its start, each step lengthened by a random 0-10%, up to the 60s cap; a run of 10s or more starts the sequence afresh"
	case strings.HasPrefix(c.sup.name, "runit"):
		doc = "runsv pauses a second before restarting a `./run` that lasted less than one"
	case strings.HasPrefix(c.sup.name, "s6"):
		doc = "s6-supervise keeps at least a second between two starts of `./run`"
	case strings.HasPrefix(c.sup.name, "daemontools"):
		doc = "supervise sleeps a second after every start"
	case strings.HasPrefix(c.sup.name, "supervisord"):
		doc = "supervisord's defaults: a process that exits within startsecs=1 failed to start; it is tried again after 1s, 2s, 3s..., and after startretries=3 such failures it is FATAL and never started again"
	}
	lo, hi := minDuration(gs), maxDuration(gs)
	tail := c.begin.Add(window).Sub(c.starts[len(c.starts)-1])
	var measured string
	if float64(hi) < 1.5*float64(lo) {
		measured = fmt.Sprintf("the same pause every time: %d gaps between %s and %s, %.2f restarts/s", len(gs), round(lo), round(hi), c.restartRate(window))
	} else {
		var list []string
		for _, g := range gs {
			list = append(list, round(g))
		}
		if len(list) > 14 {
			list = append(list[:12], "…")
		}
		measured = fmt.Sprintf("gaps %s", strings.Join(list, ", "))
		if tail > hi {
			measured += fmt.Sprintf("; then nothing for the last %s of the window", round(tail))
		}
	}
	if doc == "" {
		return name + measured + "."
	}
	return name + measured + " (" + doc + ")."
}

// crashGaveUp tells of the supervisors that stopped restarting within the
// window (supervisord, by default): there, a daemon whose cause of failure
// goes away stays down until someone starts it by hand.
func crashGaveUp(r *strings.Builder, loops []*crashLoop, window time.Duration) {
	for _, c := range loops {
		gs := c.gaps()
		if c.err != "" || len(gs) == 0 || !strings.HasPrefix(c.sup.name, "supervisord") {
			continue
		}
		tail := c.begin.Add(window).Sub(c.starts[len(c.starts)-1])
		if tail > 3*maxDuration(gs) {
			fmt.Fprintf(r, "\n%s gave up after %d starts and did not start `./run` again in the last %s of the window: a daemon whose cause of failure goes away stays down there until `supervisorctl start`; sv-scan never gives up unless SVC_RESTART_LIMIT says so.\n", c.sup.name, len(c.starts), round(tail))
		}
	}
}

// crashVerdict compares sv-scan with the peers: how soon a daemon whose
// cause of failure goes away is running again.
func crashVerdict(r *strings.Builder, loops []*crashLoop, window time.Duration) {
	var ours *crashLoop
	var peerWorst time.Duration
	var peers []string
	for _, c := range loops {
		if c.err != "" || len(c.starts) < 2 {
			continue
		}
		if c.sup.name == "sv-scan" {
			ours = c
		} else if !strings.HasPrefix(c.sup.name, "sv-scan") {
			peerWorst = max(peerWorst, maxDuration(c.gaps()))
			peers = append(peers, c.sup.name)
		}
	}
	if ours == nil || len(peers) == 0 {
		return
	}
	gs := ours.gaps()
	slower := 0 // the first gap of sv-scan's longer than every peer's longest
	for i, g := range gs {
		if g > peerWorst {
			slower = i + 1
			break
		}
	}
	if slower > 0 {
		at := ours.starts[slower-1].Sub(ours.starts[0])
		fmt.Fprintf(r, "\nsv-scan restarts sooner than the peers at first (its first %d restarts came within %s of the first start, where the peers had made %s), then later: from its %s gap on it waits longer than any peer ever does (%s, against at most %s), and its %s gap was %s. A daemon whose cause of failure goes away (a network, a disk, a service it needs that comes up late) is thus running again within about a second under runsv, s6-supervise and supervise, but only at the end of the current backoff step under sv-scan, and the steps double up to 60s. That is the point of the backoff (a daemon that cannot start costs next to nothing and floods no log); SVC_RESTART_MAX_DELAY=1s gives the peers' behaviour to a service for which a late restart costs more. Not a fault of sv-scan as measured: the default is a trade-off.\n",
			slower-1, round(at), peerRestartsBy(loops, at), ordinal(slower), round(gs[slower-1]), round(peerWorst), ordinal(len(gs)), round(gs[len(gs)-1]))
	}
	w, ok := runsvWork(loops)
	if !ok {
		return
	}
	if gs[0] <= w {
		fmt.Fprintf(r, "\nThe work around one restart, pause aside, is sv-scan's first gap (%s: the run itself, the exit noticed, the next spawn), against runsv's shortest gap less the one second it sleeps after the run exits (%s). (s6-supervise and supervise count their second from the start instead, so their gaps do not show it.)\n", round(gs[0]), round(w))
		return
	}
	fmt.Fprintf(r, "\nBehind: the work around one restart, pause aside, is longer in sv-scan: its first gap is %s (the run itself, the exit noticed, the next spawn), against runsv's shortest gap less the one second it sleeps after the run exits, %s (s6-supervise and supervise count their second from the start instead, so their gaps do not show it). Between reaping the exit and forking the next run, sv-scan checks that the service's cgroup is empty (cgroup.events), looks for a finish script, and reads and parses the service's OPTIONS again (so that a restart picks up an edited file); it no longer fsyncs its supervise/ files, which an earlier trace found on this path. Candidates to close it, not measured one by one: reading OPTIONS again only when its files changed (their mtimes), and spawning before checking the cgroup when the exit was the cgroup's only process\n", round(gs[0]), round(w))
}

// runsvWork is runsv's shortest gap less the second it sleeps.
func runsvWork(loops []*crashLoop) (time.Duration, bool) {
	for _, c := range loops {
		if c.err == "" && strings.HasPrefix(c.sup.name, "runit") && len(c.starts) >= 2 {
			return minDuration(c.gaps()) - time.Second, true
		}
	}
	return 0, false
}

// peerRestartsBy says how many restarts each peer had made that long
// after its first start.
func peerRestartsBy(loops []*crashLoop, d time.Duration) string {
	var out []string
	for _, c := range loops {
		if c.err != "" || strings.HasPrefix(c.sup.name, "sv-scan") || len(c.starts) == 0 {
			continue
		}
		n := 0
		for _, at := range c.starts[1:] {
			if at.Sub(c.starts[0]) <= d {
				n++
			}
		}
		out = append(out, fmt.Sprintf("%d (%s)", n, strings.Fields(c.sup.name)[0]))
	}
	return strings.Join(out, ", ")
}

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return strconv.Itoa(n) + "th"
	case n%10 == 1:
		return strconv.Itoa(n) + "st"
	case n%10 == 2:
		return strconv.Itoa(n) + "nd"
	case n%10 == 3:
		return strconv.Itoa(n) + "rd"
	}
	return strconv.Itoa(n) + "th"
}
