package supervise

import (
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// configStamp is what a service's config was read from, as lstat saw it
// just before: the OPTIONS files read, and the directories in which a
// file that would change the config can appear (the service, log/, site
// defaults, the catalog, the definition of an instance). A start reads
// OPTIONS again only when one of them changed (see current), which spares
// the start right after a take-up reading them twice.
type configStamp struct {
	at    time.Time
	files []fileStamp
}

// fileStamp is one path's identity and times; ok false: it was absent.
type fileStamp struct {
	path         string
	ok           bool
	ino, size    uint64
	mtime, ctime int64 // ns
}

// racyWindow: a file changed this little before it was stamped may change
// again without its times moving (the kernel's file clock is coarse): its
// stamp proves nothing, as for git's racily clean entries.
const racyWindow = time.Second

func stampConfig(dir string) *configStamp {
	svDir := filepath.Dir(dir)
	base, _ := options.SplitName(filepath.Base(dir))
	paths := []string{
		dir, filepath.Join(dir, "log"), filepath.Join(dir, "log", "run"),
		filepath.Join(svDir, ".opt"), filepath.Join(svDir, ".opt", "catalog"),
		filepath.Join(svDir, base),
	}
	c := &configStamp{at: time.Now()}
	for _, p := range paths {
		c.files = append(c.files, stampOf(p))
	}
	return c
}

// addFiles stamps what the load read (after it: the times checked as
// racy cover a change made meanwhile).
func (c *configStamp) addFiles(svc *options.Service) {
	for _, f := range svc.Files {
		if !strings.HasPrefix(f.Path, "catalog:") {
			c.files = append(c.files, stampOf(f.Path))
		}
	}
}

func stampOf(path string) fileStamp {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return fileStamp{path: path}
	}
	return fileStamp{path: path, ok: true, ino: st.Ino, size: uint64(st.Size),
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// current reports whether nothing stamped has changed, and nothing was
// changed so shortly before the stamp that a change could hide.
func (c *configStamp) current() bool {
	if c == nil {
		return false
	}
	racy := c.at.Add(-racyWindow).UnixNano()
	for _, f := range c.files {
		if f.mtime >= racy || f.ctime >= racy {
			return false
		}
		if stampOf(f.path) != f {
			return false
		}
	}
	return true
}
