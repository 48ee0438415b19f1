package main

import (
	"fmt"
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
	fmt.Fprintf(r, "The hand-written services of the \"all ready\" section (each daemon writes its pid, then a newline to fd 3, then execs sleep; an OPTIONS file holding `SVC_READY=fd:3`), in %d levels of %d: each service of a level has `SVC_NEED` on every service of the level before, so sv-scan starts a level once the one before is all ready. Timed from starting sv-scan until `sv-ctl wait ready` on all returns, %d runs, against the same services without dependencies in the same run. OpenRC with the same `need` lines is not measured yet.\n\n", depLevels, per, coldReps)
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
		ratio := float64(summarize(graph.ready).med) / float64(summarize(flat.ready).med)
		verdict := "within"
		if ratio > 1.2 {
			verdict = "beyond"
		}
		fmt.Fprintf(r, "\nThe graph brings all %d up in %.2fx the time of the same services without dependencies (target: within 1.2x): %s it. Each level starts as the last daemon of the one before says it is ready (one event to each dependent), so the graph costs its %d readiness round trips in a row, where the flat set overlaps them.\n", coldN, ratio, verdict, depLevels)
	}
}
