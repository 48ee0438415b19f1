package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func init() {
	register(section{72, "deps", (*bench).depsSection})
}

// depLevels is how many levels the coldN services of the dependency
// graph are in: each level needs every service of the one before.
const depLevels = 10

// levelNeeds is the SVC_NEED line of a service of the graph (sNNN), or
// nothing for the first level.
func levelNeeds(name string) string {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "s"))
	per := coldN / depLevels
	if err != nil || i < per {
		return ""
	}
	level := i / per
	var need []string
	for j := (level - 1) * per; j < level*per; j++ {
		need = append(need, fmt.Sprintf("s%03d", j))
	}
	return "SVC_NEED='" + strings.Join(need, " ") + "'\n"
}

// depsSection: the same coldN services from cold to all ready, in a graph
// of depLevels levels, and without dependencies.
func (b *bench) depsSection(r *strings.Builder) {
	per := coldN / depLevels
	fmt.Fprintf(r, "## Dependencies: %d services in %d levels\n\n", coldN, depLevels)
	fmt.Fprintf(r, "The hand-written services of the \"all ready\" section (each daemon writes its pid, then a newline to fd 3, then execs sleep; an OPTIONS file holding `SVC_READY=fd:3`), in %d levels of %d: each service of a level has `SVC_NEED` on every service of the level before, so sv-scan starts a level once the one before is all ready. Timed from starting sv-scan until `sv-ctl wait ready` on all returns, %d runs, against the same services without dependencies in the same run. OpenRC with the same graph follows.\n\n", depLevels, per, coldReps)
	fmt.Fprintf(r, "| services | runs | all running: median | all ready: median | min | max | ratio |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	var sv supervisor
	for _, s := range b.supervisors() {
		if s.name == "sv-scan" {
			sv = s
		}
	}
	if sv.name == "" {
		fmt.Fprintf(r, "| | | not measured: no sv-scan | | | | |\n")
		return
	}
	flat := b.coldRaw(sv, b.work, coldOptions, coldReps)
	graph := b.coldRaw(sv, b.work, coldLevels, coldReps)
	var base time.Duration
	for _, row := range []struct {
		what string
		cr   coldRun
	}{{"no dependencies", flat}, {fmt.Sprintf("%d levels", depLevels), graph}} {
		if row.cr.err != "" {
			fmt.Fprintf(r, "| %s | | not measured: %s | | | | |\n", row.what, row.cr.err)
			continue
		}
		run, ready := summarize(row.cr.running), summarize(row.cr.ready)
		if base == 0 {
			base = ready.med
		}
		fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %s | %.2fx |\n", row.what, ready.n, round(run.med), round(ready.med), round(ready.min), round(ready.max), float64(ready.med)/float64(base))
	}
	if flat.err == "" && graph.err == "" {
		b.depsVerdict(r, flat, graph)
	}
	b.depsOpenRC(r, graph)
	b.appStatusSection(r)
}

// benchApp is the application of the coldApp services.
const benchApp = "bench"

// appStatusSection: `sv-ctl app status` of an application of coldN
// members, all ready, against `sv-ctl status` of one service of it.
func (b *bench) appStatusSection(r *strings.Builder) {
	fmt.Fprintf(r, "\n### sv-ctl app status, %d members\n\n", coldN)
	fmt.Fprintf(r, "The same %d services without dependencies, all members of one application (`SVC_GROUP_NAME`), all ready under sv-scan: `sv-ctl app status` of it, against `sv-ctl status` of one of them (a process start and one service read: the floor under any sv-ctl command). Each timed from fork to exit, %d runs each, interleaved.\n\n", coldN, b.reps)
	appSt, one, err := b.appStatusRuns()
	if err != nil {
		fmt.Fprintf(r, "Not measured: %v.\n", err)
		return
	}
	fmt.Fprintf(r, "| command | runs | median | min | max |\n| --- | --- | --- | --- | --- |\n")
	a, o := summarize(appSt), summarize(one)
	fmt.Fprintf(r, "| sv-ctl app status (%d members) | %d | %s | %s | %s |\n", coldN, a.n, round(a.med), round(a.min), round(a.max))
	fmt.Fprintf(r, "| sv-ctl status (one service) | %d | %s | %s | %s |\n", o.n, round(o.med), round(o.min), round(o.max))
	verdict := "meets"
	if a.med > 20*time.Millisecond {
		verdict = "misses"
	}
	fmt.Fprintf(r, "\n`sv-ctl app status` of %d members takes %s (target: under 20 ms): it %s it; %s over a one-service status.\n", coldN, round(a.med), verdict, round(a.med-o.med))
}

// appStatusRuns starts sv-scan on coldN members of benchApp, waits until
// all are ready, then times app status and one status, b.reps each.
func (b *bench) appStatusRuns() (appSt, one []time.Duration, err error) {
	var sv supervisor
	for _, s := range b.supervisors() {
		if s.name == "sv-scan" {
			sv = s
		}
	}
	dir := filepath.Join(b.work, "app-status")
	defer os.RemoveAll(dir)
	scan, marks := filepath.Join(dir, "scan"), filepath.Join(dir, "mark")
	os.MkdirAll(scan, 0o755)
	os.MkdirAll(marks, 0o755)
	names := coldNames()
	for _, n := range names {
		svc := filepath.Join(dir, "svc", n)
		if err := b.coldService(svc, filepath.Join(marks, n), coldApp); err != nil {
			return nil, nil, err
		}
		if err := os.Symlink(svc, filepath.Join(scan, n)); err != nil {
			return nil, nil, err
		}
	}
	_, stop, err := b.start(sv, scan)
	if err != nil {
		return nil, nil, err
	}
	defer stop()
	if _, err := b.svctlWait([]string{"--scandir", scan}, names, time.Now().Add(coldLimit)); err != nil {
		return nil, nil, err
	}
	ctl := filepath.Join(b.bin, "sv-ctl")
	timed := func(args ...string) (time.Duration, error) {
		t0 := time.Now()
		out, err := exec.Command(ctl, append([]string{"--scandir", scan}, args...)...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("sv-ctl %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return time.Since(t0), nil
	}
	for range b.reps {
		d, err := timed("app", "status", benchApp)
		if err != nil {
			return nil, nil, err
		}
		appSt = append(appSt, d)
		if d, err = timed("status", names[0]); err != nil {
			return nil, nil, err
		}
		one = append(one, d)
	}
	return appSt, one, nil
}

// depsVerdict compares the graph with the same services without
// dependencies.
func (b *bench) depsVerdict(r *strings.Builder, flat, graph coldRun) {
	ratio := float64(summarize(graph.ready).med) / float64(summarize(flat.ready).med)
	verdict := "within"
	if ratio > 1.2 {
		verdict = "beyond"
	}
	fmt.Fprintf(r, "\nThe graph brings all %d up in %.2fx the time of the same services without dependencies (target: within 1.2x): %s it. Each level starts as the last daemon of the one before says it is ready (one event to each dependent), so the graph costs its %d readiness round trips in a row, where the flat set overlaps them.\n", coldN, ratio, verdict, depLevels)
}

// depsOpenRCScript brings the graph up with the real OpenRC in its
// sandbox (see openrcSandbox), "... N REPS PER": as sv.sNNN services
// (their SVC_NEED lines, which sv-rc depend gives OpenRC as need
// sv.sNNN), as supervise-daemon services whose depend() has the same need
// lines, and as init scripts that do nothing with those lines (OpenRC's
// floor).
const depsOpenRCScript = openrcPrelude + `
PER=$5
name() { printf 's%03d' "$1"; }
needs() { # needs INDEX PREFIX: the level before INDEX's, each with PREFIX
	l=$(( $1 / PER ))
	[ $l = 0 ] && return
	j=$(( (l - 1) * PER )) e=$(( l * PER )) out=
	while [ $j -lt $e ]; do out="$out $2$(name $j)"; j=$((j+1)); done
	echo $out
}
add() {
	i=$(($1 - 1)); n=$(name $i); nd=$(needs $i "")
	if [ -n "$nd" ]; then
		set -- --set "SVC_NEED=$nd"
	else
		set --
	fi
	sv-gen add $n --set SVC_READY=fd:3 "$@" -- /bin/sh -c "echo \$\$ >$root/mark/$n; echo >&3; exec sleep 100000 3>&-" >/dev/null 2>&1 || echo "error builtin sv-gen add $n failed"
}
ours builtin $(i=0; while [ $i -lt "$N" ]; do name $i; echo; i=$((i+1)); done)

peer() {
	i=$(($1 - 1)); n=$(name $i); nd=$(needs $i peer)
	mkdir -p "$peers/svc/$n"
	printf '#!/bin/sh\necho $$ >%s\nexec sleep 100000\n' "$peers/mark/$n" >"$peers/svc/$n/run"
	chmod 755 "$peers/svc/$n/run"
	printf '#!/sbin/openrc-run\nsupervisor=supervise-daemon\ncommand=%s\n' "$peers/svc/$n/run" >/etc/init.d/peer$n
	[ -n "$nd" ] && printf 'depend() { need %s; }\n' "$nd" >>/etc/init.d/peer$n
	chmod 755 /etc/init.d/peer$n
	default peer$n
}
each peer
deptree supervise-daemon
measure supervise-daemon "$peers/mark"
rm -f /etc/runlevels/default/* /etc/init.d/peer*

noop() {
	i=$(($1 - 1)); n=$(name $i); nd=$(needs $i noop)
	printf '#!/sbin/openrc-run\nstart() { :; }\nstop() { :; }\n' >/etc/init.d/noop$n
	[ -n "$nd" ] && printf 'depend() { need %s; }\n' "$nd" >>/etc/init.d/noop$n
	chmod 755 /etc/init.d/noop$n
	default noop$n
}
each noop
deptree noop
measure noop /run/cold-none last
`

// depsOpenRC: the graph brought up by OpenRC, against sv-scan's own run
// of it (graph).
func (b *bench) depsOpenRC(r *strings.Builder, graph coldRun) {
	per := coldN / depLevels
	fmt.Fprintf(r, "\n### The same graph with OpenRC\n\n")
	fmt.Fprintf(r, "The real OpenRC in its sandbox, as in the \"openrc default\" section (rc_parallel=\"YES\"; each set alone in /etc/init.d), with the same %d levels: sv.sNNN services (`sv-gen add` with the same `SVC_NEED` and `SVC_READY=fd:3`; `sv-rc depend` gives OpenRC `need sv.sNNN` for each), at the first start since a boot; init scripts with `supervisor=supervise-daemon` whose depend() has the same `need` lines (supervise-daemon has no readiness protocol: a start ends once its daemon is forked, so these wait for less than ours); and, as OpenRC's floor, init scripts with those lines whose start() does nothing. `openrc default` is timed from a runlevel in which none runs until it returns. %s. The first row is sv-scan on its own (the \"%d levels\" row above, all ready); ratios against supervise-daemon.\n\n", depLevels, coldRCRuns(), depLevels)
	rows, err := b.openrcSandbox(depsOpenRCScript, []string{"builtin", "supervise-daemon", "noop"}, coldRCReps, strconv.Itoa(per))
	if err != nil {
		fmt.Fprintf(r, "Not measured: %v.\n", err)
		return
	}
	peer := rows["supervise-daemon"]
	var peerMed time.Duration
	if peer != nil && len(peer.times) > 0 {
		peerMed = summarize(append([]time.Duration(nil), peer.times...)).med
	}
	ratio := func(d time.Duration) string {
		if peerMed == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", float64(d)/float64(peerMed))
	}
	fmt.Fprintf(r, "| how | runs | median | running at return | deptree | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
	if graph.err == "" {
		g := summarize(append([]time.Duration(nil), graph.ready...))
		fmt.Fprintf(r, "| sv-scan alone (SVC_NEED) | %d | %s | | | %s |\n", g.n, round(g.med), ratio(g.med))
	}
	var notes []string
	names := map[string]string{"builtin": "OpenRC, sv.sNNN (builtin backend)", "supervise-daemon": "OpenRC, supervise-daemon", "noop": "OpenRC, start() { :; } (floor)"}
	for _, who := range []string{"builtin", "supervise-daemon", "noop"} {
		row := rows[who]
		if why := row.missing(); why != "" {
			fmt.Fprintf(r, "| %s | | not measured: %s | | | |\n", names[who], why)
			continue
		}
		st := summarize(append([]time.Duration(nil), row.times...))
		running := coldCounts(row.running)
		if who == "noop" {
			running = "n/a"
		}
		fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %s |\n", names[who], st.n, round(st.med), running, round(row.deptree), ratio(st.med))
		if row.err != "" {
			notes = append(notes, fmt.Sprintf("\n%s: %s\n", names[who], row.err))
		}
	}
	r.WriteString(strings.Join(notes, ""))
	if graph.err == "" && peerMed > 0 {
		g := summarize(append([]time.Duration(nil), graph.ready...)).med
		verdict := "meets"
		if float64(peerMed) < 5*float64(g) {
			verdict = "misses"
		}
		fmt.Fprintf(r, "\nsv-scan brings the graph up %.1fx faster than OpenRC with supervise-daemon (target: at least 5x): it %s it. OpenRC starts a level's services once every `need` of theirs has started, each start an init script run; sv-scan starts a service the moment the last of its needs is ready, in its own process.\n", float64(peerMed)/float64(g), verdict)
	}
}
