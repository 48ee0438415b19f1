package gen

import (
	"os"
	"path/filepath"

	"github.com/supervision-suite/supervision/internal/fsplan"
)

// OpenRCScript is the init script every sv.NAME links to.
const OpenRCScript = "supervision"

// EnableOpenRC makes /etc/init.d/sv.NAME -> supervision for each service
// (every service of the tree when names is empty), so that OpenRC starts
// and stops it through sv-rc. The services are not linked into the scan
// dir: OpenRC, not the scanner, decides when they run, which the service
// dir's `down` says to the scanner. It is written here, not only at the
// first start, so that a machine whose /etc is read-only (an image built
// with --sysroot, say) can start it. What Enable would refuse (invalid
// OPTIONS, a definition for instances) gets no script.
func (g *Generator) EnableOpenRC(names []string, initDir string) ([]fsplan.Change, error) {
	names, err := g.services(names)
	if err != nil {
		return nil, err
	}
	p := &fsplan.Plan{}
	for _, name := range names {
		if _, err := g.Enableable(name); err != nil {
			return nil, err
		}
		p.Symlink(filepath.Join(initDir, "sv."+name), OpenRCScript)
		p.FileIfAbsent(filepath.Join(g.Layout.ServiceDir(name), "down"), nil, 0o644)
	}
	return p.Apply()
}

// DisableOpenRC removes the sv.NAME scripts that EnableOpenRC made.
func (g *Generator) DisableOpenRC(names []string, initDir string) ([]fsplan.Change, error) {
	names, err := g.services(names)
	if err != nil {
		return nil, err
	}
	p := &fsplan.Plan{}
	for _, name := range names {
		path := filepath.Join(initDir, "sv."+name)
		if t, err := os.Readlink(path); err == nil && t == OpenRCScript {
			p.Remove(path)
		}
	}
	return p.Apply()
}

// Services are the services of the tree that can run (not hand-written
// dirs, nor definitions for instances): those an sv.NAME can start.
func (g *Generator) Services() ([]string, error) { return g.services(nil) }
