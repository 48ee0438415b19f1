package svdir

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/google/renameio/v2"
)

// ExecFile is the mark sv-exec leaves in supervise/ the moment it execs a
// daemon: a symlink whose target is the daemon's pid. A supervisor's
// status says when it started ./run; this says when the daemon itself
// began, after sv-exec applied the OPTIONS. A start's settle time counts
// from here, so that a daemon that dies at once is seen even when sv-exec
// took long (a loaded machine, SVC_WAIT_PATH) to get to it.
const ExecFile = "exec"

// MarkExec records that the process pid is about to exec the daemon of
// the service whose supervise directory is dir (sv-exec), or has just
// done so (sv-scan, starting the daemon itself).
func MarkExec(dir string, pid int) error {
	return renameio.Symlink(strconv.Itoa(pid), filepath.Join(dir, ExecFile))
}

// Execed reports whether the daemon pid has been exec'd, as far as
// sv-exec marked it in dir.
func Execed(dir string, pid int) bool {
	target, err := os.Readlink(filepath.Join(dir, ExecFile))
	return err == nil && target == strconv.Itoa(pid)
}
