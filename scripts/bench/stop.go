package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func init() {
	register(section{40, "stop", (*bench).stopSection})
}

// stopTimeout is what each family is given, where it has such a setting,
// before it sends KILL to a daemon that ignores TERM.
const stopTimeout = 2 * time.Second

// stopSection: from asking a supervisor to stop a service to its daemon
// gone, for a daemon that exits on TERM and for one that ignores it.
func (b *bench) stopSection(r *strings.Builder) {
	const limit = 5 * time.Second
	fmt.Fprintf(r, "## Stopping a service\n\n")
	fmt.Fprintf(r, "From asking the supervisor to stop one service (`d` written to supervise/control, as `sv down`, `s6-svc -d` and `svc -d` do; `supervisorctl stop` for supervisord, whose client takes part of the time) to its daemon gone (a pidfd of the daemon becoming readable). The first daemon exits on TERM; the second ignores TERM. Each family is given a stop timeout of %s where it has one: SVC_STOP_TIMEOUT for sv-scan, `timeout-kill` for s6-supervise, `stopwaitsecs` for supervisord; runsv and daemontools' supervise have none (they send TERM and CONT, and wait; runit's `sv force-stop` kills from the client after its -w timeout). A daemon still running after %s is reported so. Each stop comes a second after the daemon started (daemontools' supervise takes no command for a second after a start).\n\n", stopTimeout, limit)
	fmt.Fprintf(r, "| supervisor | exits on TERM: runs | median | min | max | ratio | ignores TERM: runs | median |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var base time.Duration
	var behind []string
	for _, fam := range b.families() {
		term := b.stopRuns(fam, daemonSpec{}, 7, limit)
		ignore := b.stopRuns(fam, daemonSpec{ignoreTerm: true}, 3, limit)
		if term.err != "" {
			fmt.Fprintf(r, "| %s | | not measured: %s | | | | | |\n", familyLabel[fam], term.err)
			continue
		}
		if base == 0 {
			base = term.med
		}
		ig := round(ignore.med)
		if ignore.err != "" {
			ig = ignore.err
		}
		fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %.1fx | %d | %s |\n", familyLabel[fam], term.n, round(term.med), round(term.min), round(term.max), float64(term.med)/float64(base), ignore.n, ig)
		if fam != "sv-scan" && fam != "supervisord" && term.med < base {
			behind = append(behind, familyLabel[fam])
		}
	}
	if len(behind) > 0 {
		fmt.Fprintf(r, "\nBehind: %s stop a daemon a fraction of a millisecond sooner than sv-scan. Traced with ftrace (in an earlier run, against daemontools' supervise): about 0.24 ms more from the letter to the signal (sv-scan's thread waking from epoll, the Go runtime's scheduling, then the FIFO read and the check for a control/t script), and 0.1-0.2 ms more from the signal to the daemon gone (sv-scan is woken by the daemon's pidfd at the moment the bench is, and the two compete for the CPUs). Handling the letter in the poller's goroutine, or a thread of its own blocked in epoll, did not gain beyond the noise.\n", strings.Join(behind, ", "))
	}
}

// stopRuns stops and starts again one service of a fresh tree, reps times.
func (b *bench) stopRuns(fam string, d daemonSpec, reps int, limit time.Duration) stats {
	dir := filepath.Join(b.work, fmt.Sprintf("stop-%s-%v", fam, d.ignoreTerm))
	defer os.RemoveAll(dir)
	t, err := b.buildTree(fam, dir, 1, d, stopTimeout)
	if err != nil {
		return stats{err: err.Error()}
	}
	defer t.stop()
	var ds []time.Duration
	for i := 0; i < reps; i++ {
		nsPid, _, err := waitMarker(t.markers[0], 0, 20*time.Second)
		if err != nil {
			return stats{err: err.Error()}
		}
		// daemontools' supervise takes no command for a second after it
		// starts a daemon; every family gets that second.
		time.Sleep(1100 * time.Millisecond)
		pid := t.hostPidOf(nsPid)
		t0 := time.Now()
		if err := t.control("d"); err != nil {
			return stats{err: err.Error()}
		}
		if !daemonGone(pid, limit) {
			return stats{n: len(ds), err: fmt.Sprintf("still running after %s", limit)}
		}
		ds = append(ds, time.Since(t0))
		if err := t.control("u"); err != nil {
			return stats{err: err.Error()}
		}
		if _, _, err := waitMarker(t.markers[0], nsPid, 20*time.Second); err != nil {
			return stats{err: "not up again: " + err.Error()}
		}
	}
	return summarize(ds)
}

// control sends a letter (d or u) to the tree's first service.
func (t *tree) control(letter string) error {
	if t.family == "supervisord" {
		verb := map[string]string{"d": "stop", "u": "start"}[letter]
		out, err := exec.Command("supervisorctl", "-c", t.conf, verb, t.svcs[0]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("supervisorctl %s: %v: %s", verb, err, out)
		}
		return nil
	}
	f, err := os.OpenFile(filepath.Join(t.svcs[0], "supervise", "control"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(letter)
	return err
}

// killTree is killToNewPid for a family the scanner-based bench does not
// drive (supervisord): reps services, each killed once after a second up.
func (b *bench) killTree(fam string, reps int) stats {
	dir := filepath.Join(b.work, "kill-tree-"+fam)
	defer os.RemoveAll(dir)
	t, err := b.buildTree(fam, dir, reps, daemonSpec{}, 0)
	if err != nil {
		return stats{err: err.Error()}
	}
	defer t.stop()
	time.Sleep(1100 * time.Millisecond)
	var ds []time.Duration
	for _, m := range t.markers {
		nsPid, _, err := waitMarker(m, 0, time.Second)
		if err != nil {
			return stats{err: err.Error()}
		}
		pid := t.hostPidOf(nsPid)
		t0 := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return stats{err: err.Error()}
		}
		_, at, err := waitMarker(m, nsPid, 20*time.Second)
		if err != nil {
			return stats{err: err.Error()}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}
