package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(section{50, "memory", (*bench).treeMemorySection})
	register(section{55, "idle", (*bench).idleSection})
}

var memSizes = []int{1, 10, 100, 1000}

// treeMemorySection: RSS and PSS of each family's whole tree (scanner,
// supervisors, loggers; not the daemons) at 1 to 1,000 services.
func (b *bench) treeMemorySection(r *strings.Builder) {
	fmt.Fprintf(r, "## Memory of the supervision tree\n\n")
	fmt.Fprintf(r, "Each supervisor runs N services, each with a logger of its family (sv-scan writes its logs itself; runit runs an svlogd per service, s6 an s6-log, daemontools a multilog, each under a supervisor process of its own; supervisord writes its logs itself), all up. The tree is the scanner and every process under it except the daemons (sleep): RSS from /proc/PID/status and PSS from /proc/PID/smaps_rollup, summed. PSS shares the pages of a program run many times between its copies, so it is the memory the tree really costs. Fixed part and cost per service: from 1 and 1,000 services. Our services are made by sv-gen (builtin logging; sv-scan starts each daemon itself, as sv-exec would); the peers' are hand-written dirs. sv-scan is the lean program `make install` puts beside the multi-call binary.\n\n")
	fmt.Fprintf(r, "| supervisor | 1 | 10 | 100 | 1,000 | fixed | per service |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	allPSS := map[string][]int{}
	for _, fam := range b.families() {
		var rss, pss []int
		cells := make([]string, 0, len(memSizes))
		for _, n := range memSizes {
			rk, pk, err := b.treeMemory(fam, n)
			if err != nil {
				cells = append(cells, "not measured: "+err.Error())
				rss, pss = append(rss, 0), append(pss, 0)
				continue
			}
			rss, pss = append(rss, rk), append(pss, pk)
			cells = append(cells, fmt.Sprintf("%s / %s", mib(rk), mib(pk)))
		}
		last := len(memSizes) - 1
		fixed, per := "", ""
		if pss[0] > 0 && pss[last] > 0 {
			perKB := float64(pss[last]-pss[0]) / float64(memSizes[last]-memSizes[0])
			fixed = mib(int(float64(pss[0]) - perKB))
			per = fmt.Sprintf("%.0f KiB", perKB)
		}
		fmt.Fprintf(r, "| %s | %s | %s | %s |\n", familyLabel[fam], strings.Join(cells, " | "), fixed, per)
		allPSS[fam] = pss
	}
	fmt.Fprintf(r, "\nCells are RSS / PSS; fixed and per service are PSS.\n")
	memoryVerdict(r, b.families(), allPSS)
}

// memoryVerdict names, for each size, the peers whose tree cost less PSS
// than sv-scan's, and says why and what would close it.
func memoryVerdict(r *strings.Builder, fams []string, pss map[string][]int) {
	ours := pss["sv-scan"]
	if len(ours) != len(memSizes) {
		return
	}
	var behind []string
	for i, n := range memSizes {
		var less []string
		for _, fam := range fams {
			if p := pss[fam]; fam != "sv-scan" && ours[i] > 0 && len(p) == len(memSizes) && p[i] > 0 && p[i] < ours[i] {
				less = append(less, fmt.Sprintf("%s (%s)", familyLabel[fam], mib(p[i])))
			}
		}
		if len(less) > 0 {
			behind = append(behind, fmt.Sprintf("at %d service(s), against sv-scan's %s: %s", n, mib(ours[i]), strings.Join(less, ", ")))
		}
	}
	if len(behind) == 0 {
		return
	}
	fmt.Fprintf(r, "\nBehind, in PSS, %s. sv-scan's fixed part is a Go program's: the runtime and the pages of its code, about 4 MiB of a lean binary that the kernel maps nearly whole (it maps code 64 KiB around each page touched, and a Go program touches its code all over: the collector, the scheduler, the engine), where a C supervisor process costs a fraction of one MiB; the peers made of one small C process per service pay per service instead, and pass sv-scan between 10 and 100 services. supervisord pays its Python interpreter once and then little per service. sv-scan's own cost per service is its heap (the service's decoded OPTIONS, its two units, its open files): a quiet service has no goroutine and its logger no buffer. What is left to cut is code: a smaller sv-scan (without encoding/json, net or the OPTIONS key table's closures) would map fewer pages; a C supervisor's few KiB are out of reach for a Go one.\n", strings.Join(behind, "; "))
}

func mib(kb int) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func (b *bench) treeMemory(fam string, n int) (rss, pss int, err error) {
	dir := filepath.Join(b.work, fmt.Sprintf("mem-%s-%d", fam, n))
	defer os.RemoveAll(dir)
	began := time.Now()
	t, err := b.buildTree(fam, dir, n, daemonSpec{}, 0)
	if err != nil {
		return 0, 0, err
	}
	up := time.Since(began)
	defer func() {
		began := time.Now()
		t.stop()
		fmt.Fprintf(os.Stderr, "bench: memory: %s %d: up in %s, down in %s\n", fam, n, up.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	}()
	time.Sleep(time.Second) // start-up garbage collected, loggers settled
	sup, _ := t.members()
	for _, pid := range sup {
		rss += procKB(pid, "/status", "VmRSS:")
		pss += procKB(pid, "/smaps_rollup", "Pss:")
	}
	return rss, pss, nil
}

// idleSection: CPU time and wakeups of each family's idle tree of 10
// services over 30 s, all measured in the same window.
func (b *bench) idleSection(r *strings.Builder) {
	const window = 30 * time.Second
	fmt.Fprintf(r, "## The idle tree\n\n")
	fmt.Fprintf(r, "Each supervisor runs 10 services with their loggers, all up and quiet; after 2 s to settle, the CPU time (user+system) and the context switches (voluntary and not, of every thread: each is a wakeup) of the tree (not the daemons) are counted over %s, all families in the same window.\n\n", window)
	fmt.Fprintf(r, "| supervisor | processes | threads | CPU time | wakeups | wakeups/s |\n| --- | --- | --- | --- | --- | --- |\n")
	fams := b.families()
	trees := make([]*tree, len(fams))
	errs := make([]error, len(fams))
	var wg sync.WaitGroup
	for i, fam := range fams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trees[i], errs[i] = b.buildTree(fam, filepath.Join(b.work, "idle-"+fam), 10, daemonSpec{}, 0)
		}()
	}
	wg.Wait()
	time.Sleep(2 * time.Second)
	before := make([]idleCount, len(fams))
	for i, t := range trees {
		if t != nil {
			before[i] = t.idleCount()
		}
	}
	time.Sleep(window)
	for i, t := range trees {
		if t == nil {
			fmt.Fprintf(r, "| %s | not measured: %v | | | | |\n", familyLabel[fams[i]], errs[i])
			continue
		}
		after := t.idleCount()
		t.stop()
		cpu := time.Duration(after.ticks-before[i].ticks) * time.Second / time.Duration(clockTicks)
		wake := after.switches - before[i].switches
		fmt.Fprintf(r, "| %s | %d | %d | %s | %d | %.2f |\n", familyLabel[fams[i]], after.procs, after.threads, cpu, wake, float64(wake)/window.Seconds())
	}
	fmt.Fprintf(r, "\nCPU time is counted in the kernel's ticks (%d a second), so below 10ms it reads 0.\n", clockTicks)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

type idleCount struct {
	procs, threads int
	ticks          int64
	switches       int
}

// idleCount sums the CPU time and the context switches of the tree's
// processes and all their threads.
func (t *tree) idleCount() idleCount {
	var c idleCount
	sup, _ := t.members()
	for _, pid := range sup {
		c.procs++
		if _, ticks, err := procStat(pid); err == nil {
			c.ticks += ticks
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, task := range tasks {
			c.threads++
			file := fmt.Sprintf("/task/%s/status", task.Name())
			c.switches += procKB(pid, file, "voluntary_ctxt_switches:") + procKB(pid, file, "nonvoluntary_ctxt_switches:")
		}
	}
	return c
}

// daemonGone waits until the process pid has ended, at most limit.
func daemonGone(pid int, limit time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // gone already
	}
	defer unix.Close(fd)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, _ := unix.Poll(pfd, int(limit.Milliseconds()))
	return n > 0
}

// hostPidOf turns a pid the daemon wrote (in the tree's PID namespace for
// the peers) into this machine's.
func (t *tree) hostPidOf(nsPid int) int {
	_, daemons := t.members()
	for _, pid := range daemons {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "NSpid:" && f[len(f)-1] == strconv.Itoa(nsPid) {
				return pid
			}
		}
	}
	return -1
}
