package supervise

import (
	"path/filepath"
	"strings"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// stampConfig begins the stamp of what a service's config is read from
// (see syncstamp), before it is read: the directories in which a file that
// would change the config can appear (the service, log/, site defaults,
// the catalog, the definition of an instance); addConfigFiles adds the
// OPTIONS files the load read. A start reads OPTIONS again only when the
// stamp no longer holds, which spares the start right after a take-up
// reading them twice. nil: it could not be taken (read again).
func stampConfig(dir string) *syncstamp.Stamp {
	svDir := filepath.Dir(dir)
	base, _ := options.SplitName(filepath.Base(dir))
	s := syncstamp.Begin("config")
	if s.Add(dir, filepath.Join(dir, "log"), filepath.Join(dir, "log", "run"),
		filepath.Join(svDir, ".opt"), filepath.Join(svDir, ".opt", "catalog"),
		filepath.Join(svDir, base)) != nil {
		return nil
	}
	return s
}

// addConfigFiles stamps what the load read (after it: a change made
// meanwhile is within the stamp's racy window, so it is not trusted).
func addConfigFiles(s *syncstamp.Stamp, svc *options.Service) *syncstamp.Stamp {
	for _, f := range svc.Files {
		if s == nil || strings.HasPrefix(f.Path, "catalog:") {
			continue
		}
		if s.Add(f.Path) != nil {
			return nil
		}
	}
	return s
}

// configCurrent reports whether the stamp holds: nothing stamped has
// changed, and nothing changed so shortly before it that a change could
// hide.
func configCurrent(s *syncstamp.Stamp) bool { return s != nil && s.Stale() == "" }
