package openrc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// OpenRC learns each init script's dependencies by sourcing it and calling
// its depend(), one script after another, in one shell (gendepends.sh,
// at every deptree update: rc-update -u, a changed config). Each sv.NAME's
// depend() running sv-rc depend NAME, a Go program, would make that pass
// cost a program's start per service. Instead the first sv.NAME of a pass
// runs DependAll, which writes every service's depend() for that pass into
// the run dir, and the others read theirs with shell builtins. Each pass
// reads the OPTIONS as they are then, as `sv-rc depend` would: nothing is
// kept from one pass to the next.

// DependDir holds the depend() bodies of each pass, one dir per pass.
func DependDir(l layout.Layout) string { return filepath.Join(l.RunDir, "openrc-depend") }

// isPass says whether s names a pass: the pid of the shell that sources
// the init scripts and its start time (field 22 of /proc/PID/stat),
// unique within a boot; PID-STARTTIME, 1-10 and 1-20 digits, the pid
// without a leading 0. (No regexp: sv-scan links this package, and the
// regexp engine would be pages of code it keeps for good.)
func isPass(s string) bool {
	pid, start, ok := strings.Cut(s, "-")
	return ok && len(pid) >= 1 && len(pid) <= 10 && pid[0] != '0' && allDigits(pid) &&
		len(start) >= 1 && len(start) <= 20 && allDigits(start)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// staleNew: a batch's unfinished dir older than this was left by one that
// died.
const staleNew = time.Minute

// DependAll writes the depend() body of every service of the tree that
// has one, for the pass: DependDir/PASS/NAME, sourced by sv.NAME's
// depend(). The pass's dir appears whole (renamed into place) or not at
// all. A service whose OPTIONS do not load gets no file: its depend() then
// runs `sv-rc depend NAME`, which says why. Dirs of passes whose shell has
// ended are removed.
func (r *Runner) DependAll(pass string) error {
	if !isPass(pass) {
		return fmt.Errorf("depend-all: pass %q: want PID-STARTTIME", pass)
	}
	dir := DependDir(r.Gen.Layout)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("depend-all: %w", err)
	}
	removeEndedPasses(dir)
	names, err := r.Gen.Services()
	if err != nil {
		return fmt.Errorf("depend-all: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".new-")
	if err != nil {
		return fmt.Errorf("depend-all: %w", err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("depend-all: %w", err)
	}
	for _, name := range names {
		lines, err := r.Depend(name)
		if err != nil {
			continue
		}
		body := "# depend() of sv." + name + " for one pass of OpenRC (sv-rc depend-all)\n" +
			strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("depend-all: %w", err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, pass)); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return nil // another batch of the same pass was first
		}
		return fmt.Errorf("depend-all: %w", err)
	}
	return nil
}

// removeEndedPasses removes the dirs of passes whose shell has ended, and
// unfinished ones left by a batch that died.
func removeEndedPasses(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".new-") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleNew {
				os.RemoveAll(path)
			}
			continue
		}
		if isPass(e.Name()) && !passRunning(e.Name()) {
			os.RemoveAll(path)
		}
	}
}

// passRunning says whether the shell of pass PID-STARTTIME still runs.
func passRunning(pass string) bool {
	pid, start, _ := strings.Cut(pass, "-")
	got, err := safefile.ReadFile(filepath.Join("/proc", pid, "stat"), safefile.StateLimit)
	if err != nil {
		return false
	}
	return procStartTime(string(got)) == start
}

// procStartTime is field 22 of a /proc/PID/stat line (the process's start
// time), read after the command's closing parenthesis as the init script
// reads it.
func procStartTime(stat string) string {
	i := strings.LastIndex(stat, ") ")
	if i < 0 {
		return ""
	}
	f := strings.Fields(stat[i+2:]) // from field 3 on
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
