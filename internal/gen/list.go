package gen

import (
	"strings"

	"github.com/supervision-suite/supervision/internal/options"
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
				s := svc.Set
				le.Catalog = svc.Catalog
				le.Description = s.Get("SVC_DESCRIPTION")
				le.Command = options.JoinWords(append(s.Words("SVC_CMD"), s.Words("SVC_OPTS")...))
				le.Log = s.Get("LOG")
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
	seen := map[string]bool{}
	add := func(key string) {
		v, ok := svc.Set.Lookup(key)
		if !ok || seen[key] {
			return
		}
		seen[key] = true
		if !all && v.Text == "" && v.Source.Layer == options.LayerDefault {
			return
		}
		out = append(out, Setting{Key: key, Value: v.Text, Source: v.Source.String(), Layer: v.Source.Layer, Exported: v.Export})
	}
	for _, k := range options.Keys {
		add(k.Name)
	}
	for _, kv := range svc.Set.Exported() {
		key, _, _ := strings.Cut(kv, "=")
		add(key)
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
// the syntax and values of every layer, and what the host must provide.
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
	return out, nil
}
