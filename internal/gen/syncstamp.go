package gen

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// SyncStampPath is where the stamp of a service's last sync lives:
// ROOT/var/lib/sv/sync/NAME, which a boot keeps. A stamp says by itself
// whether it still holds (every path it records is compared, inode, size
// and both times, with what is there now), so the first start after a
// boot needs no sync when nothing changed, and one whose OPTIONS were
// edited while the machine was off is synced. Nothing it records is in
// /run, except the run dir's own directories, which must exist.
func SyncStampPath(l layout.Layout, name string) string {
	top := filepath.Dir(filepath.Dir(filepath.Dir(l.LogDir))) // LogDir is ROOT/var/log/sv
	return filepath.Join(top, "var", "lib", "sv", "sync", name)
}

// syncKey is what a sync's result depends on besides the files it reads:
// this program (a new version may generate differently), the command the
// scripts run, the tree, the profile and whether it makes the supervise
// dirs. A stamp taken under another key says nothing.
func (g *Generator) syncKey() string {
	if g.key == "" {
		g.key = g.SyncKeyNow()
	}
	return g.key
}

// SyncKeyNow is the key that a sync by this program with these settings
// stamps, with the program's file as it is now (syncKey keeps the first):
// what sv-scan, running for long, compares a stamp's key with before it
// starts a service on request.
func (g *Generator) SyncKeyNow() string {
	h := fnv.New128a()
	fmt.Fprintf(h, "exec %q\nroot %q\nprofile %q\nsupervise %t\nprogram %s\n",
		g.Exec, g.Layout.Root, g.Profile, g.CreateSupervise, g.programIdentity())
	return hex.EncodeToString(h.Sum(nil))
}

// programIdentity names the program that generates the tree as its file
// is on disk now: an upgrade replaces it (another inode, size or time).
// That program is the multi-call binary the scripts exec as sv-exec, the
// same file for sv-gen, sv-rc and sv-scan (the lean sv-scan is another
// file, installed beside it); not by its path, which has several names.
func (g *Generator) programIdentity() string {
	prog := ""
	if len(g.Exec) > 0 {
		prog = g.Exec[0]
	} else if self, err := os.Executable(); err == nil {
		prog = self
	}
	var st syscall.Stat_t
	if prog == "" || syscall.Stat(prog, &st) != nil {
		return "unknown"
	}
	return fmt.Sprintf("%d %d %d %d", st.Dev, st.Ino, st.Size, st.Mtim.Nano())
}

// Fresh says why the service dir of name may differ from what a sync would
// make of it now, or "" when its stamp holds: nothing the last sync read
// or wrote has changed since, and it ran under the same key. A start may
// then skip the sync, and sv-scan start it on request.
func (g *Generator) Fresh(name string) string {
	s, why := g.ownStamp(name)
	if s == nil {
		return why
	}
	return s.Stale()
}

// SyncedAlike says why the last sync of name may have made something else
// than a sync by this program with these settings would, or "" when it
// ran under the same key. (sv-scan checks the paths of the stamp, and the
// key under its own settings, before it starts a service on request;
// sv-rc's settings, its environment, may differ.)
func (g *Generator) SyncedAlike(name string) string {
	_, why := g.ownStamp(name)
	return why
}

// ownStamp is the stamp of name if it was taken under this key, else why
// not.
func (g *Generator) ownStamp(name string) (*syncstamp.Stamp, string) {
	s, err := syncstamp.Read(SyncStampPath(g.Layout, name))
	if err != nil {
		return nil, "no sync stamp"
	}
	if s.Key != g.syncKey() {
		return nil, "synced by another program or with other settings"
	}
	return s, ""
}

// stampSynced records what the sync of svc, begun at began, read and wrote
// (planned: the paths of its plan). An enabled service is not stamped:
// its link in the scan dir, which the sync makes, changes with every start
// and stop; nor is a service of a sysroot, which this machine never runs.
func (g *Generator) stampSynced(svc *options.Service, planned []string, began time.Time) error {
	if g.Layout.Sysroot != "" {
		return nil // a stamp tells this machine's programs, not an image's
	}
	file := SyncStampPath(g.Layout, svc.Name)
	if g.isEnabled(svc.Name) {
		if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	paths, dirs := g.stampedPaths(svc, planned)
	s := &syncstamp.Stamp{Key: g.syncKey(), At: began}
	if s.Add(paths...) != nil || s.AddDirs(dirs...) != nil {
		os.Remove(file) // such a service is synced at every start
		return nil
	}
	if err := syncstamp.Write(file, s); err != nil {
		// A read-only /var: no stamp, so the service is synced at every
		// start, as one that cannot be stamped is. An old stamp that
		// cannot be replaced must not outlive this sync either.
		if rerr := os.Remove(file); rerr != nil && !os.IsNotExist(rerr) && !errors.Is(rerr, syscall.ENOTDIR) {
			return err
		}
	}
	return nil
}

// stampedPaths are the paths whose change could change what a sync of svc
// makes: what it wrote; the OPTIONS layers it read; the directories where
// a layer, a site default or a catalog entry can appear (their times move
// when one does); the shared scripts and their templates (not the shared
// scripts' stamp, in /run, which a boot empties: what it says, the key
// says, and the scripts themselves are stamped).
func (g *Generator) stampedPaths(svc *options.Service, planned []string) (paths, dirs []string) {
	l := g.Layout
	paths = append(paths, planned...)
	for _, f := range svc.Files {
		if !strings.HasPrefix(f.Path, "catalog:") {
			paths = append(paths, f.Path)
		}
	}
	paths = append(paths, svc.Dir, svc.DefDir, filepath.Join(svc.Dir, "log"),
		filepath.Join(svc.Dir, "log", "run"), filepath.Join(svc.Dir, "run"),
		l.OptDir, filepath.Join(l.OptDir, "catalog"), filepath.Join(l.OptDir, "templates"),
		filepath.Join(l.EnabledDir, svc.Name))
	for _, name := range sharedFiles() {
		paths = append(paths, filepath.Join(l.OptDir, name), filepath.Join(l.OptDir, "templates", name))
	}
	return paths, g.treeDirs()
}
