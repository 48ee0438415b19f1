package svctl

import (
	"sort"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Member is a service's status as a member of its application.
func Member(info Info, required bool) app.Member {
	m := app.Member{Name: info.Name, Required: required, Phase: info.State, Want: info.Want,
		Ready: info.Ready == nil || *info.Ready}
	for _, why := range []string{info.Fatal, info.Waiting, info.Error} {
		if why != "" {
			m.Why = why
			break
		}
	}
	if info.State == svdir.PhaseDown && info.LastExit != nil && !info.LastExit.Expected && info.Supervisor == "sv-scan" {
		m.ExitFailed = true
	}
	return m
}

// Apps evaluates the applications named (all when none are) from the
// services of the scan dir, given each one's application (by service
// name). An application with no service in the scan dir has an empty
// state.
func Apps(r Resolver, of map[string]app.Membership, names []string) ([]app.Status, error) {
	svcs, err := r.All()
	if err != nil {
		return nil, err
	}
	byApp := map[string][]app.Member{}
	for _, svc := range svcs {
		ms, ok := of[svc.Name]
		if !ok {
			continue
		}
		info, err := Status(svc)
		if err != nil {
			info = Info{Name: svc.Name, State: "unknown", Want: "down"}
		}
		byApp[ms.App] = append(byApp[ms.App], Member(info, ms.Required))
	}
	if len(names) == 0 {
		for a := range byApp {
			names = append(names, a)
		}
		sort.Strings(names)
	}
	var out []app.Status
	for _, a := range names {
		if _, ok := byApp[a]; !ok {
			out = append(out, app.Status{Name: a, State: ""})
			continue
		}
		out = append(out, app.Evaluate(a, byApp[a]))
	}
	return out, nil
}
