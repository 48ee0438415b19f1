package hooks

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/rules"
)

// site is what a directory of service definitions says for every service
// defined there: its .opt/hooks.d executables and its .opt/rules, as last
// read. Each is read again when its directory entry changes.
type site struct {
	hooksAt fileMark
	hooks   []string // the executables of hooks.d, by name
	rulesAt fileMark
	rules   *rules.Rules
}

// fileMark tells a file (or directory) from the one it was: its inode,
// size and time of change.
type fileMark struct {
	ino   uint64
	size  int64
	mtime time.Time
	found bool
}

func markOf(path string) fileMark {
	fi, err := os.Stat(path)
	if err != nil {
		return fileMark{}
	}
	m := fileMark{size: fi.Size(), mtime: fi.ModTime(), found: true}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.ino = st.Ino
	}
	return m
}

// HooksDir is where a site's hooks for every service are.
func HooksDir(svDir string) string { return filepath.Join(svDir, ".opt", "hooks.d") }

// site is the site of svDir, read again where it changed.
func (r *Runner) site(svDir string) *site {
	st := r.sites[svDir]
	if st == nil {
		st = &site{}
		r.sites[svDir] = st
	}
	if svDir == "" {
		return st
	}
	if m := markOf(HooksDir(svDir)); m != st.hooksAt {
		st.hooksAt, st.hooks = m, executables(HooksDir(svDir))
	}
	file := rules.File(svDir)
	if m := markOf(file); m != st.rulesAt {
		rs, err := rules.Load(file)
		st.rulesAt, st.rules = m, rs
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				r.w.Logf("%s (the rule is left out)", line)
			}
		}
	}
	return st
}

// executables are the files of dir that may be run, by name; those whose
// name begins with a dot, or that end as editors' and packagers' leftovers
// do (~, .dpkg-old...), are not.
func executables(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") || strings.Contains(n, ".dpkg-") || strings.HasSuffix(n, ".apk-new") {
			continue
		}
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func rulesSource(rule rules.Rule) string { return fmt.Sprintf("rules:%d", rule.Line) }
