// Package gen generates and maintains a service tree from OPTIONS files:
// the shared scripts in .opt, each service's links and backend files, the
// runtime supervise directories and the scan directory links.
package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/supervision-suite/supervision/internal/catalog"
	"github.com/supervision-suite/supervision/internal/fsplan"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/templates"
)

// Generator works on one service tree.
type Generator struct {
	Layout  layout.Layout
	Exec    []string // the command generated scripts run for sv-exec
	Profile string   // SV_PROFILE from the environment
	Catalog *catalog.Catalog
	Host    options.Host
	// CreateSupervise makes each service's supervise directory in the run
	// dir. By default the supervise links dangle until the supervisor
	// creates their targets: runsv and sv-scan do, and s6-supervise insists
	// on it (it fails if the target exists). daemontools' supervise cannot,
	// so its users ask for this.
	CreateSupervise bool
	// QuickShared trusts the stamp of the shared scripts (sharedCurrent)
	// rather than rendering them to compare: sv-rc start, on every start.
	// sv-gen sync always renders them.
	QuickShared bool

	key string // syncKey, once computed
}

// New returns a generator for the tree at l, whose scripts run exec.
func New(l layout.Layout, exec []string) *Generator {
	return &Generator{
		Layout:  l,
		Exec:    exec,
		Profile: os.Getenv("SV_PROFILE"),
		Catalog: catalog.New(filepath.Join(l.OptDir, "catalog")),
		Host:    options.RealHost{},
	}
}

// Loader reads services of this tree.
func (g *Generator) Loader() *options.Loader {
	return &options.Loader{SvDir: g.Layout.SvDir, Root: g.Layout.Root, Profile: g.Profile, Catalog: g.Catalog}
}

// Sentinel errors, for callers that map them to exit codes.
var (
	ErrExists      = errors.New("already exists")
	ErrNoService   = errors.New("no such service")
	ErrInvalid     = errors.New("invalid OPTIONS")
	ErrSupervised  = errors.New("still supervised")
	ErrNotOurs     = errors.New("holds files sv-gen did not write")
	ErrNeedCommand = errors.New("needs the command to run")
)

// Kinds of entries in the tree.
const (
	KindService    = "service"    // runnable: has ./run
	KindDefinition = "definition" // OPTIONS shared by NAME@INSTANCE services
	KindCustom     = "custom"     // a hand-written ./run, not ours
)

// entry is one directory of the tree.
type entry struct {
	name string
	kind string
}

// entries lists the service tree's directories, sorted; dot-directories
// (.opt, .enabled) are the tree's own.
func (g *Generator) entries() ([]entry, error) {
	ents, err := os.ReadDir(g.Layout.SvDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || options.CheckServiceName(e.Name()) != nil {
			continue
		}
		dir := filepath.Join(g.Layout.SvDir, e.Name())
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		if k := g.kindOf(e.Name()); k != "" {
			out = append(out, entry{name: e.Name(), kind: k})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func (g *Generator) kindOf(name string) string {
	dir := g.Layout.ServiceDir(name)
	fi, err := os.Lstat(filepath.Join(dir, "run"))
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0 && ours(filepath.Join(dir, "run")):
		return KindService
	case err == nil:
		if exists(g.Loader().OptionsFile(name)) {
			return KindService // a custom run that still reads OPTIONS is fine
		}
		return KindCustom
	case exists(filepath.Join(dir, "OPTIONS")):
		if g.forInstances(name) {
			return KindDefinition
		}
		// OPTIONS written by hand, the service not generated yet: sync
		// makes it, as the one file a user writes is all it needs.
		return KindService
	}
	return ""
}

// forInstances reports whether the OPTIONS-only directory name is a
// definition for NAME@INSTANCE services rather than a service: instances
// of it exist, or its OPTIONS mention SVC_INSTANCE (sv-gen add writes the
// catalog entry it builds on into them, as comments). An OPTIONS that is
// no file to read (a FIFO, a device, too large) makes a service, so that
// check and sync say what is wrong with it rather than pass it over.
func (g *Generator) forInstances(name string) bool {
	if m, _ := filepath.Glob(filepath.Join(g.Layout.SvDir, name+"@*")); len(m) > 0 {
		return true
	}
	data, err := safefile.ReadFile(filepath.Join(g.Layout.ServiceDir(name), "OPTIONS"), safefile.ConfigLimit)
	var refused *safefile.Refused
	if errors.As(err, &refused) {
		return false
	}
	return err != nil || bytes.Contains(data, []byte("SVC_INSTANCE"))
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ours reports whether path is free or a link sv-gen made into .opt; only
// those does sv-gen replace or remove.
func ours(path string) bool {
	t, err := os.Readlink(path)
	if err != nil {
		return !exists(path)
	}
	return strings.HasPrefix(t, "../.opt/") || strings.HasPrefix(t, "../../.opt/")
}

// services returns the names to act on: the given ones (which must exist),
// or every runnable service.
func (g *Generator) services(names []string) ([]string, error) {
	if len(names) > 0 {
		for _, n := range names {
			if err := g.mustExist(n); err != nil {
				return nil, err
			}
		}
		return names, nil
	}
	ents, err := g.entries()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.kind == KindService {
			out = append(out, e.name)
		}
	}
	return out, nil
}

func (g *Generator) mustExist(name string) error {
	if err := options.CheckServiceName(name); err != nil {
		return err
	}
	if fi, err := os.Stat(g.Layout.ServiceDir(name)); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: %w in %s", name, ErrNoService, g.Layout.SvDir)
	}
	return nil
}

// sharedOps lays out the tree and renders the shared scripts.
func (g *Generator) sharedOps(p *fsplan.Plan) error {
	stamp, err := g.sharedStamp()
	if err != nil {
		return err
	}
	if g.QuickShared && g.sharedCurrent(stamp) {
		return nil
	}
	l := g.Layout
	for _, d := range g.treeDirs() {
		p.Dir(d, 0o755)
	}
	for _, name := range templates.Shared {
		data, err := g.render(name, g.templateData())
		if err != nil {
			return err
		}
		p.File(filepath.Join(l.OptDir, name), data, 0o755)
	}
	data, err := g.render("SVC_OPTIONS", g.templateData())
	if err != nil {
		return err
	}
	p.FileIfAbsent(filepath.Join(l.OptDir, "SVC_OPTIONS"), data, 0o644)
	if l.Sysroot == "" { // the stamp says what this machine's scripts are
		g.stampOp(p, stamp)
	}
	return nil
}

// treeDirs are the directories every tree has: those of the run dir too
// on this machine, not in an image, whose /run the booted system mounts
// afresh (a package must not ship files there).
func (g *Generator) treeDirs() []string {
	l := g.Layout
	if l.Sysroot != "" {
		return []string{l.SvDir, l.OptDir, l.EnabledDir, l.LogDir}
	}
	return []string{l.SvDir, l.OptDir, l.EnabledDir, l.RunDir, l.ScanDir, l.SuperviseDir, l.LogSuperviseDir, l.LogDir}
}

// Init lays out a tree: directories, shared scripts, site defaults.
func (g *Generator) Init() ([]fsplan.Change, error) {
	p := &fsplan.Plan{}
	if err := g.sharedOps(p); err != nil {
		return nil, err
	}
	return p.Apply()
}
