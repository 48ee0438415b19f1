package svctl

import (
	"fmt"
	"sort"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Member is a service's status as a member of its application.
func Member(info Info, required bool) app.Member {
	m := app.Member{Name: info.Name, Required: required, Phase: info.State, Want: info.Want,
		Ready: info.Ready == nil || *info.Ready, Oneshot: info.Oneshot}
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
// services of the scan dir. A service sv-scan supervises says its
// application in its state; for another, of gives it (the tree's
// OPTIONS, read only then: reading a hundred OPTIONS costs more than the
// rest). An application with no service in the scan dir has an empty
// state.
func Apps(r Resolver, of func() map[string]app.Membership, names []string) ([]app.Status, error) {
	svcs, err := r.All()
	if err != nil {
		return nil, err
	}
	infos, errs := Statuses(svcs)
	return AppsOf(svcs, infos, errs, of, names), nil
}

// AppsOf is Apps from the services' statuses already read (Statuses).
func AppsOf(svcs []Service, infos []Info, errs []error, of func() map[string]app.Membership, names []string) []app.Status {
	byApp := map[string][]app.Member{}
	var fromOptions map[string]app.Membership
	for i, svc := range svcs {
		info, err := infos[i], errs[i]
		if err != nil {
			info = Info{Name: svc.Name, State: "unknown", Want: "down"}
		}
		ms := app.Membership{App: info.App, Required: info.Required}
		if info.Supervisor != "sv-scan" {
			if fromOptions == nil {
				fromOptions = of()
			}
			ms = fromOptions[svc.Name]
		}
		if ms.App == "" {
			continue
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
	return out
}

// AppMembers are the services of the scan dir in application name, in
// order (what each depends on first), with whether each is required.
func AppMembers(r Resolver, of map[string]app.Membership, name string, order func([]string) []string) ([]Service, error) {
	svcs, err := r.All()
	if err != nil {
		return nil, err
	}
	byName := map[string]Service{}
	var names []string
	for _, svc := range svcs {
		if ms, ok := of[svc.Name]; ok && ms.App == name {
			byName[svc.Name] = svc
			names = append(names, svc.Name)
		}
	}
	var out []Service
	for _, n := range order(names) {
		out = append(out, byName[n])
	}
	return out, nil
}

// Started is the condition of a member's start within its application:
// running and ready; a oneshot, done (a new run of it, if it was done
// before). Given up is a failure once the status changed since before
// (the up just sent may not have been handled yet); blocked is not: what
// it needs may be starting too.
func Started(before Info) func(Info) (bool, error) {
	return func(info Info) (bool, error) {
		if !info.Oneshot {
			return After(before, WaitReady)(info)
		}
		if info.Fatal != "" && !info.Since.Equal(before.Since) {
			return false, fmt.Errorf("%s: %w: %s", info.Name, ErrFatal, info.Fatal)
		}
		renewed := before.State != svdir.PhaseDone || !info.Since.Equal(before.Since)
		return info.State == svdir.PhaseDone && renewed, nil
	}
}
