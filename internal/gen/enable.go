package gen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/supervision-suite/supervision/internal/fsplan"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Enable links services into the scan dir, where the scanner starts them,
// and records that they are enabled so that sync restores the links after
// a reboot empties the run dir. A service whose OPTIONS are invalid is not
// enabled.
func (g *Generator) Enable(names []string) ([]fsplan.Change, error) {
	p := &fsplan.Plan{}
	for _, name := range names {
		svc, err := g.Enableable(name)
		if err != nil {
			return nil, err
		}
		if svc != nil {
			g.serviceOps(p, svc, svc.Dir)
			g.runtimeOps(p, svc)
		}
		g.enabledOps(p, name)
	}
	return p.Apply()
}

// Enableable checks that name is a service that can run: it exists, is
// not a definition for instances, and its OPTIONS load and pass their
// checks (a bad one is an *InvalidError with path:line). It returns the
// loaded service, or nil for a hand-written one (KindCustom).
func (g *Generator) Enableable(name string) (*options.Service, error) {
	if err := g.mustExist(name); err != nil {
		return nil, err
	}
	switch g.kindOf(name) {
	case KindCustom:
		return nil, nil
	case KindService:
	default:
		return nil, fmt.Errorf("%s: is a definition for instances, not a service: enable %s@INSTANCE", name, name)
	}
	svc, err := g.Loader().Load(name)
	if err != nil {
		return nil, &InvalidError{asErrors(err)}
	}
	if err := g.CheckHost(svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// CheckHost fails a loaded service with what the host lacks for it (its
// program, user, ...).
func (g *Generator) CheckHost(svc *options.Service) error {
	if errs, _ := svc.Check(g.Host); len(errs) > 0 {
		return &InvalidError{errs}
	}
	return nil
}

// Disable removes services from the scan dir (the scanner then stops
// them) and forgets that they were enabled.
func (g *Generator) Disable(names []string) ([]fsplan.Change, error) {
	p := &fsplan.Plan{}
	for _, name := range names {
		if err := g.mustExist(name); err != nil {
			return nil, err
		}
		g.disableOps(p, name)
	}
	return p.Apply()
}

func (g *Generator) disableOps(p *fsplan.Plan, name string) {
	p.Remove(filepath.Join(g.Layout.EnabledDir, name))
	if g.isLinked(name) {
		p.Remove(filepath.Join(g.Layout.ScanDir, name))
	}
}

// What sv-gen writes in a service dir: remove deletes a dir holding only
// these (and OPTIONS files), and asks for --force otherwise.
var generated = map[string]bool{
	"run": true, "finish": true, "check": true, "supervise": true, "down": true,
	"control": true, "control/t": true, "control/h": true,
	"log": true, "log/run": true, "log/supervise": true,
	s6NotificationFD: true, s6TimeoutKill: true, s6DownSignal: true, s6MaxDeathTally: true,
}

// Remove deletes a service: out of the scan dir, its definition, its
// runtime state and its sync stamp. It refuses while a supervisor still runs the service,
// while instances use a definition, and, without force, when the dir holds
// files that sv-gen did not write.
func (g *Generator) Remove(name string, force bool) ([]fsplan.Change, error) {
	if err := g.mustExist(name); err != nil {
		return nil, err
	}
	dir := g.Layout.ServiceDir(name)
	// An image runs nothing: its supervise link names this machine's
	// /run, where another service of that name may well be supervised.
	if g.Layout.Sysroot == "" {
		if up, err := svdir.Supervised(dir); err != nil {
			return nil, err
		} else if up {
			return nil, fmt.Errorf("%s: %w: stop it and take it out of the scan dir first (sv-gen disable %s)", name, ErrSupervised, name)
		}
	}
	if users := g.instancesOf(name); len(users) > 0 {
		return nil, fmt.Errorf("%s: instances use its definition: remove %s first", name, strings.Join(users, ", "))
	}
	if !force {
		if extra := foreignFiles(dir); len(extra) > 0 {
			return nil, fmt.Errorf("%s: %s %w (%s); use --force to remove them too", name, dir, ErrNotOurs, strings.Join(extra, ", "))
		}
	}
	p := &fsplan.Plan{}
	g.disableOps(p, name)
	changes, err := p.Apply()
	if err != nil {
		return changes, err
	}
	// Rename first so the service disappears at once, then delete.
	tmp := filepath.Join(filepath.Dir(dir), ".removing-"+name)
	if err := os.Rename(dir, tmp); err != nil {
		return changes, err
	}
	if err := os.RemoveAll(tmp); err != nil {
		return changes, err
	}
	changes = append(changes, fsplan.Change{Path: dir, What: "removed"})
	for _, rt := range []string{g.Layout.Supervise(name), g.Layout.LogSupervise(name), SyncStampPath(g.Layout, name)} {
		if !exists(rt) {
			continue
		}
		if err := os.RemoveAll(rt); err != nil {
			return changes, err
		}
		changes = append(changes, fsplan.Change{Path: rt, What: "removed"})
	}
	return changes, nil
}

// instancesOf lists the NAME@INSTANCE services that share name's definition.
func (g *Generator) instancesOf(name string) []string {
	if strings.Contains(name, "@") {
		return nil
	}
	ents, _ := g.entries()
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.name, name+"@") {
			out = append(out, e.name)
		}
	}
	return out
}

// foreignFiles lists what in a service dir sv-gen did not write.
func foreignFiles(dir string) []string {
	var extra []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if generated[rel] || rel == "OPTIONS" || strings.HasPrefix(rel, "OPTIONS.") {
			return nil
		}
		extra = append(extra, rel)
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	sort.Strings(extra)
	return extra
}

// Restored is what RestoreEnabled did: the services it linked into the
// scan dir, and the enabled ones whose definition is gone.
type Restored struct {
	Linked, Missing []string
}

// RestoreEnabled links every enabled service into a fresh scan dir (one
// that holds no service yet: a boot emptied /run, while .enabled, in
// /etc, remembers), so that enabled services start after every boot
// without a sync. A scan dir that holds services is left as it is: a
// link taken out of it by hand stays out while the scanner runs. The
// scanner's start calls this (sv-scan, once it holds the scan dir's
// lock; sv-rc scan for the other backends). Only links are read and
// made: no OPTIONS is parsed.
func (g *Generator) RestoreEnabled() (Restored, error) {
	var r Restored
	ents, err := os.ReadDir(g.Layout.EnabledDir)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if !g.scanDirFresh() {
		return r, nil
	}
	p := &fsplan.Plan{}
	p.Dir(g.Layout.ScanDir, 0o755)
	for _, e := range ents {
		name := e.Name()
		if options.CheckServiceName(name) != nil {
			continue
		}
		if fi, err := os.Stat(g.Layout.ServiceDir(name)); err != nil || !fi.IsDir() {
			r.Missing = append(r.Missing, name)
			continue
		}
		r.Linked = append(r.Linked, name)
		p.Symlink(filepath.Join(g.Layout.ScanDir, name), g.Layout.ServiceDir(name))
		if g.CreateSupervise {
			p.Dir(g.Layout.Supervise(name), 0o755)
			if exists(filepath.Join(g.Layout.ServiceDir(name), "log")) {
				p.Dir(g.Layout.LogSupervise(name), 0o755)
			}
		}
	}
	if len(r.Linked) == 0 {
		return r, nil
	}
	_, err = p.Apply()
	return r, err
}

// scanDirFresh reports whether the scan dir holds no service: it is
// missing, or holds only dot entries (the scanner's own .sv-scan).
func (g *Generator) scanDirFresh() bool {
	ents, err := os.ReadDir(g.Layout.ScanDir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			return false
		}
	}
	return err == nil || errors.Is(err, fs.ErrNotExist)
}
