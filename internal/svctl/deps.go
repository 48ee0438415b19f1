package svctl

import (
	"fmt"
	"slices"

	"github.com/supervision-suite/supervision/internal/deps"
)

// WithDeps adds to svcs what an action (up or down) brings along, with a
// note for each: for up, what each needs or wants, before it; for down,
// what needs each, before it. Services already as asked are left alone;
// a needed service that nothing supervises gets a note only (its
// dependent will wait for it).
func WithDeps(g *deps.Graph, r Resolver, use string, svcs []Service) ([]Service, []string) {
	var out []Service
	var notes []string
	has := func(dir string) bool {
		return slices.ContainsFunc(out, func(s Service) bool { return s.Dir == dir }) ||
			slices.ContainsFunc(svcs, func(s Service) bool { return s.Dir == dir })
	}
	for _, svc := range svcs {
		names := g.PullsIn(svc.Name)
		if use == "down" {
			names = g.NeededBy(svc.Name)
		}
		for _, n := range names {
			dep, err := r.Resolve(n)
			if err != nil || has(dep.Dir) {
				continue
			}
			if ok, _ := Running(dep.Dir); !ok {
				if use == "up" {
					notes = append(notes, fmt.Sprintf("%s: not supervised (not in the scan dir?): %s will wait for it", n, svc.Name))
				}
				continue
			}
			info, err := Status(dep)
			if err != nil {
				continue
			}
			switch {
			case use == "up" && info.Want != "up":
				notes = append(notes, fmt.Sprintf("also starting %s: %s depends on it", n, svc.Name))
			case use == "down" && (info.Want == "up" || !info.Down()):
				notes = append(notes, fmt.Sprintf("also stopping %s: it needs %s", n, svc.Name))
			default:
				continue
			}
			out = append(out, dep)
		}
	}
	return append(out, svcs...), notes
}
