package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/test/rcsandbox"
)

// openrcScript times rc-service inside the OpenRC sandbox.
//
//go:embed openrc.sh
var openrcScript string

// openrcInner is the bench re-run inside its own mount namespace:
// "-openrc-inner SCRATCH CMD ARGS...".
const openrcInner = "-openrc-inner"

func runOpenRCInner(args []string) {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "bench: -openrc-inner SCRATCH CMD...")
		os.Exit(2)
	}
	if err := rcsandbox.Setup(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	os.Exit(rcsandbox.Run(args[1], args[2:]))
}

// rcRow is what one backend did under rc-service.
type rcRow struct {
	start, stop []time.Duration
	fails       string
}

// openrc measures `rc-service X start` and `stop` on our backends and on
// OpenRC's own, in a private mount namespace (nothing of the machine's
// OpenRC is touched).
func (b *bench) openrc() (map[string]*rcRow, error) {
	if !b.root {
		return nil, fmt.Errorf("needs root (a mount namespace)")
	}
	if _, err := exec.LookPath("rc-service"); err != nil {
		return nil, fmt.Errorf("OpenRC is not installed")
	}
	script := filepath.Join(b.work, "openrc.sh")
	if err := os.WriteFile(script, []byte(openrcScript), 0o755); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	reps := min(b.reps, 7)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", self, openrcInner,
		filepath.Join(b.work, "ns"), "/bin/sh", script, b.bin, filepath.Dir(b.bin), strconv.Itoa(reps))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("the OpenRC run: %v", err)
	}
	rows := map[string]*rcRow{}
	row := func(who string) *rcRow {
		if rows[who] == nil {
			rows[who] = &rcRow{}
		}
		return rows[who]
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "time":
			us, _ := strconv.Atoi(f[3])
			d := time.Duration(us) * time.Microsecond
			if f[2] == "start" {
				row(f[1]).start = append(row(f[1]).start, d)
			} else {
				row(f[1]).stop = append(row(f[1]).stop, d)
			}
		case len(f) == 3 && f[0] == "fails":
			row(f[1]).fails = f[2]
		}
	}
	return rows, nil
}

// openrcSection writes the rc-service table.
func (b *bench) openrcSection(r *strings.Builder) {
	fmt.Fprintf(r, "## rc-service start and stop\n\n")
	fmt.Fprintf(r, "`rc-service X start` then `rc-service X stop`, wall time, with the real OpenRC in a private mount namespace and the scanner already running; X is `sv.NAME` (/etc/init.d/supervision) on each of our backends with the default settle (the start succeeds once the daemon, after its exec, first waits for something, read from /proc), and an init script using OpenRC's own `supervisor=` for the others. The daemon is `sleep`. The last three rows are what any start pays: OpenRC's floor, an init script whose start() and stop() do nothing; the same printing the messages every start prints (ebegin, eend); and the same running, between them, one of our Go programs that does next to nothing (`sv-rc status` of a service that is not started), as sv.NAME's start runs `sv-rc start` where sv-scan did not verify the start itself. sv.NAME on builtin, supervise-daemon and those three rows are timed in rounds, one start and stop of each in turn, so that the machine getting slower or faster during the run moves them alike. \"exit at once\" says whether `start` reports failure for a daemon that exits 1 immediately. Each start of OpenRC's runit backend waits until the runsv of its last start has exited (runsvdir ends it up to a second after the stop): a start that finds it still there skips runsvdir noticing the link and `sv start`'s retry, which any start a second or more after a stop pays. Ratios are against OpenRC's supervise-daemon.\n\n")
	rows, err := b.openrc()
	if err != nil {
		fmt.Fprintf(r, "Not measured: %v.\n", err)
		return
	}
	fmt.Fprintf(r, "| backend | runs | start median | min | max | stop median | exit at once fails start | start ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	base := summarize(rows["openrc-supervise-daemon"].start).med
	for _, who := range []string{"builtin", "runit", "s6", "daemontools", "openrc-supervise-daemon", "openrc-s6", "openrc-runit", "openrc-noop", "openrc-messages", "openrc-goprog"} {
		row := rows[who]
		if row == nil || len(row.start) == 0 {
			fmt.Fprintf(r, "| %s | | not measured | | | | | |\n", who)
			continue
		}
		st, sp := summarize(row.start), summarize(row.stop)
		ratio := ""
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(st.med)/float64(base))
		}
		name := "sv.NAME, " + who
		switch {
		case who == "openrc-noop":
			name, row.fails = "OpenRC, start() { :; } (floor)", "n/a"
		case who == "openrc-messages":
			name, row.fails = "OpenRC, start() { ebegin; eend; }", "n/a"
		case who == "openrc-goprog":
			name, row.fails = "OpenRC, start() { ebegin; sv-rc status; eend; }", "n/a"
		case strings.HasPrefix(who, "openrc-"):
			name = "OpenRC supervisor=" + strings.TrimPrefix(who, "openrc-")
		}
		fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", name, st.n, round(st.med), round(st.min), round(st.max), round(sp.med), row.fails, ratio)
	}
	b.openrcVerdict(r, rows, base)
}

// openrcVerdict says how the builtin backend compares with the targets
// (1.2x supervise-daemon, 10x faster than OpenRC's s6 and runit) and, where
// it is behind, why.
func (b *bench) openrcVerdict(r *strings.Builder, rows map[string]*rcRow, base time.Duration) {
	ours := rows["builtin"]
	if ours == nil || len(ours.start) == 0 || base <= 0 {
		return
	}
	med := summarize(ours.start).med
	floor := time.Duration(0)
	if n := rows["openrc-noop"]; n != nil && len(n.start) > 0 {
		floor = summarize(n.start).med
	}
	for _, peer := range []string{"openrc-s6", "openrc-runit"} {
		p := rows[peer]
		if p == nil || len(p.start) == 0 {
			continue
		}
		theirs := summarize(p.start).med
		fmt.Fprintf(r, "\nsv.NAME (builtin) starts %.1fx faster than OpenRC supervisor=%s.", float64(theirs)/float64(med), strings.TrimPrefix(peer, "openrc-"))
		switch left := theirs/10 - floor; {
		case float64(theirs) >= 10*float64(med) || floor == 0:
		case left <= 0:
			fmt.Fprintf(r, " Behind the 10x target, which no init script under OpenRC can meet here: its floor alone is 1/%.1f of supervisor=%s's time.", float64(theirs)/float64(floor), strings.TrimPrefix(peer, "openrc-"))
		default:
			fmt.Fprintf(r, " Behind the 10x target: OpenRC's floor alone is 1/%.1f of it, so 10x leaves %s for all of sv.NAME's own work.", float64(theirs)/float64(floor), round(left))
			if m := rows["openrc-messages"]; m != nil && len(m.start) > 0 {
				msgs := summarize(m.start).med
				fmt.Fprintf(r, " With the messages every start prints (ebegin, eend), it is 1/%.1f: supervise-daemon itself starts %.1fx faster than supervisor=%s here.", float64(theirs)/float64(msgs), float64(theirs)/float64(base), strings.TrimPrefix(peer, "openrc-"))
			}
		}
	}
	fmt.Fprintln(r)
	fmt.Fprintf(r, "\nsv.NAME (builtin) starts in %.2fx supervise-daemon's time (target: within 1.2x) and reports a daemon that exits at once as a failure, which supervise-daemon does not. OpenRC's own work is the floor row (%s of it for an init script that does nothing); supervise-daemon adds %s to it, sv.NAME %s. In that time the init script asks sv-scan, with shell builtins only, to start the service and to say how it went (a line in its start FIFO); sv-scan, finding the service dir as its last sync left it (its sync stamp holds, under the key sv-rc would stamp), links it, takes it up and starts the daemon (itself, without ./run's shell and sv-exec, when the OPTIONS need nothing only sv-exec can do), watches it as sv-rc would (the status, then /proc until the daemon first waits for something) and writes `ok` on the service's verdict FIFO, which the script reads: no program of ours runs. (At a service's first start since boot there is no stamp yet and no request, and at its first request no verdict FIFO; within a second of a sync, or after a change to its dir, sv-scan declines; then sv-rc syncs, links and starts it, or watches sv-scan's start, itself, as in the first rounds here.)",
		float64(med)/float64(base), round(floor), round(base-floor), round(med-floor))
	if float64(med) > 1.2*float64(base) {
		fmt.Fprintf(r, " Behind the target in this run.")
	}
	if q, ok := pairedRatio(ours.start, rows["openrc-supervise-daemon"].start); ok {
		fmt.Fprintf(r, " Paired by round instead (each sv.NAME start against the supervise-daemon start of the same round, which a machine getting busier or quieter moves alike), the ratio's median is %.2fx, its middle half %.2fx to %.2fx.", q[1], q[0], q[2])
	}
	openrcBudget(r, rows, base, med)
	fmt.Fprintln(r)
}

// pairedRatio is the quartiles of ours[i]/theirs[i], the i-th of each
// timed in the same round.
func pairedRatio(ours, theirs []time.Duration) ([3]float64, bool) {
	n := min(len(ours), len(theirs))
	if n == 0 {
		return [3]float64{}, false
	}
	ratios := make([]float64, 0, n)
	for i := range n {
		if theirs[i] > 0 {
			ratios = append(ratios, float64(ours[i])/float64(theirs[i]))
		}
	}
	if len(ratios) == 0 {
		return [3]float64{}, false
	}
	sort.Float64s(ratios)
	at := func(q float64) float64 { return ratios[int(q*float64(len(ratios)-1)+0.5)] }
	return [3]float64{at(0.25), at(0.5), at(0.75)}, true
}

// openrcBudget says what sv.NAME and supervise-daemon each add to the
// messages every start prints, and what a Go program would.
func openrcBudget(r *strings.Builder, rows map[string]*rcRow, base, ours time.Duration) {
	msg, gop := rows["openrc-messages"], rows["openrc-goprog"]
	if msg == nil || gop == nil || len(msg.start) == 0 || len(gop.start) == 0 {
		return
	}
	m, g := summarize(msg.start).med, summarize(gop.start).med
	target := time.Duration(1.2 * float64(base))
	fmt.Fprintf(r, " The messages alone take %s: sv.NAME adds %s to them, supervise-daemon %s. One run of a Go program of ours between them takes %s, which a start that sv-scan verified no longer pays; the target, %s, leaves %s beyond the messages.",
		round(m), round(ours-m), round(base-m), round(g-m), round(target), round(target-m))
}
