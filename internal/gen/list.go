package gen

import (
	"errors"
	"os"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/rules"
)

// ListEntry is one line of `sv-gen list`.
type ListEntry struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Enabled     bool   `json:"enabled"`
	Linked      bool   `json:"linked"` // in the scan dir now
	Catalog     string `json:"catalog,omitempty"`
	Description string `json:"description,omitempty"`
	Command     string `json:"command,omitempty"`
	Log         string `json:"log,omitempty"`
	Problem     string `json:"problem,omitempty"` // the first error, when OPTIONS do not load
}

// List describes every service and definition in the tree.
func (g *Generator) List() ([]ListEntry, error) {
	ents, err := g.entries()
	if err != nil {
		return nil, err
	}
	out := make([]ListEntry, 0, len(ents))
	for _, e := range ents {
		le := ListEntry{Name: e.name, Kind: e.kind, Enabled: g.isEnabled(e.name), Linked: g.isLinked(e.name)}
		if e.kind != KindCustom {
			svc, err := g.Loader().Load(e.name)
			if err != nil {
				le.Problem = asErrors(err)[0].Error()
			}
			if svc != nil {
				c := svc.Config
				le.Catalog = svc.Catalog
				le.Description = c.Description
				le.Command = options.JoinWords(append(append([]string{}, c.Cmd...), c.Opts...))
				le.Log = string(c.Log.Kind)
			}
		}
		out = append(out, le)
	}
	return out, nil
}

// Setting is one effective value and where it came from.
type Setting struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Source   string `json:"source"`
	Layer    string `json:"layer"`
	Exported bool   `json:"exported,omitempty"`
}

// Show returns a service's effective settings in documentation order:
// every key a file sets or whose value is not empty (all keys with all),
// then the names exported to the daemon's environment.
func (g *Generator) Show(name string, all bool) (*options.Service, []Setting, error) {
	if err := g.mustExist(name); err != nil {
		return nil, nil, err
	}
	svc, err := g.Loader().Load(name)
	if err != nil {
		return svc, nil, &InvalidError{asErrors(err)}
	}
	var out []Setting
	for _, s := range svc.Config.Settings() {
		if !all && s.Text == "" && s.Source.Layer == options.LayerDefault {
			continue
		}
		out = append(out, Setting{Key: s.Key, Value: s.Text, Source: s.Source.String(), Layer: s.Source.Layer, Exported: s.Export})
	}
	return svc, out, nil
}

// CheckResult is the verdict on one service.
type CheckResult struct {
	Name     string
	Errors   options.Errors
	Warnings options.Errors
}

// Check validates services (all when none are named) without writing:
// the syntax and values of every layer, what the host must provide, and
// their dependencies in the tree's graph (cycles, services not there).
func (g *Generator) Check(names []string) ([]CheckResult, error) {
	names, err := g.services(names)
	if err != nil {
		return nil, err
	}
	var out []CheckResult
	for _, name := range names {
		r := CheckResult{Name: name}
		if g.kindOf(name) == KindCustom {
			out = append(out, r) // a hand-written run: nothing of ours to check
			continue
		}
		svc, err := g.Loader().Load(name)
		if err != nil {
			r.Errors = asErrors(err)
		} else {
			r.Errors, r.Warnings = svc.Check(g.Host)
		}
		if svc != nil { // warnings count even when there are errors too
			r.Warnings = append(svc.Set.Warnings, r.Warnings...)
		}
		out = append(out, r)
	}
	if err := g.checkDeps(out); err != nil {
		return nil, err
	}
	if r := g.checkRules(); r != nil {
		out = append(out, *r)
	}
	return out, nil
}

// checkRules checks the site's rules file (.opt/rules), when there is one.
func (g *Generator) checkRules() *CheckResult {
	path := rules.File(g.Layout.SvDir)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	r := &CheckResult{Name: ".opt/rules"}
	if _, err := rules.Load(path); err != nil {
		var es options.Errors
		if !errors.As(err, &es) {
			es = options.Errors{{Path: path, Msg: err.Error()}}
		}
		r.Errors = es
	}
	return r
}
