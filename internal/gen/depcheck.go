package gen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
)

// depKeys are the keys with which a service names what it depends on,
// strongest first.
var depKeys = []string{"SVC_NEED", "SVC_WANT", "SVC_USE", "SVC_AFTER"}

// Graph is the dependency graph of every service of the tree whose
// OPTIONS load, with each one's decoded OPTIONS (for where a dependency
// was set).
func (g *Generator) Graph() (*deps.Graph, map[string]*options.Config, error) {
	names, err := g.services(nil)
	if err != nil {
		return nil, nil, err
	}
	own, before := map[string][]deps.Edge{}, map[string][]string{}
	cfgs := map[string]*options.Config{}
	for _, n := range names {
		if g.kindOf(n) == KindCustom {
			own[n] = nil // in the graph, depending on nothing
			continue
		}
		svc, err := g.Loader().Load(n)
		if err != nil {
			continue // its own check says why
		}
		own[n], before[n], cfgs[n] = deps.Edges(svc.Config.Deps), deps.Names(svc.Config.Deps.Before), svc.Config
	}
	return deps.NewGraph(own, before), cfgs, nil
}

// checkDeps adds the dependency problems of each result's service: a
// cycle through it is an error, said once, at the first service of the
// results on it; a need that names neither a service of the tree nor an
// init script of OpenRC's is a warning (sv-scan shows the service blocked
// on it). The other kinds only order starts: one on a service that is not
// there (OpenRC's virtual `net`, say) orders nothing.
func (g *Generator) checkDeps(results []CheckResult) error {
	graph, cfgs, err := g.Graph()
	if err != nil {
		return err
	}
	said := map[string]bool{}
	for i := range results {
		r := &results[i]
		cfg := cfgs[r.Name]
		if cfg == nil {
			continue
		}
		for _, c := range graph.Cycles() {
			at := slices.Index(c[:len(c)-1], r.Name)
			key := strings.Join(c, " ")
			if at < 0 || said[key] {
				continue
			}
			said[key] = true
			k, src := edgeSource(cfgs, r.Name, c[at+1])
			r.Errors = append(r.Errors, &options.Error{Path: src.Path, Line: src.Line,
				Msg: k + ": dependency cycle: " + strings.Join(c, " -> ")})
		}
		src := settingOf(cfg, "SVC_NEED").Source
		for _, n := range deps.Names(cfg.Deps.Need) {
			if !g.depExists(n) {
				r.Warnings = append(r.Warnings, &options.Error{Path: src.Path, Line: src.Line,
					Msg: "SVC_NEED: no such service " + n})
			}
		}
	}
	return nil
}

// depExists: name is a service of the tree, or an init script of
// OpenRC's, whose order OpenRC keeps.
func (g *Generator) depExists(name string) bool {
	if fi, err := os.Stat(g.Layout.ServiceDir(name)); err == nil && fi.IsDir() {
		return true
	}
	fi, err := os.Stat(filepath.Join(layout.RootOf(g.Layout.SvDir), "etc/init.d", name))
	return err == nil && fi.Mode().IsRegular()
}

// edgeSource is the key and place that made from depend on to: from's
// own key, or to's SVC_BEFORE.
func edgeSource(cfgs map[string]*options.Config, from, to string) (string, options.Source) {
	for _, k := range depKeys {
		if slices.Contains(deps.Names(depList(cfgs[from], k)), to) {
			return k, settingOf(cfgs[from], k).Source
		}
	}
	if cfg := cfgs[to]; cfg != nil {
		return "SVC_BEFORE", settingOf(cfg, "SVC_BEFORE").Source
	}
	return "SVC_AFTER", options.Source{}
}

func settingOf(cfg *options.Config, key string) options.Value {
	for _, s := range cfg.Settings() {
		if s.Key == key {
			return s.Value
		}
	}
	return options.Value{}
}

// depList is the list a dependency key gives.
func depList(cfg *options.Config, key string) []string {
	return map[string][]string{"SVC_NEED": cfg.Deps.Need, "SVC_WANT": cfg.Deps.Want, "SVC_USE": cfg.Deps.Use,
		"SVC_AFTER": cfg.Deps.After, "SVC_BEFORE": cfg.Deps.Before}[key]
}

// Apps lists the application of each service of the tree that names one
// (SVC_GROUP_NAME) and is in the run (SVC_ENABLE), and whether it is
// required there (SVC_REQUIRED).
func (g *Generator) Apps() (map[string]app.Membership, error) {
	names, err := g.services(nil)
	if err != nil {
		return nil, err
	}
	out := map[string]app.Membership{}
	for _, n := range names {
		if g.kindOf(n) == KindCustom {
			continue
		}
		svc, err := g.Loader().Load(n)
		if err != nil || svc.Config.GroupName == "" || !svc.Config.Enable {
			continue // (SVC_ENABLE=no: not in the run, not in its application)
		}
		out[n] = app.Membership{App: svc.Config.GroupName, Required: svc.Config.Required}
	}
	return out, nil
}
