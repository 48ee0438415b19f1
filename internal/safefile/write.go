// Write and Beside replace files atomically with renameio: a reader sees
// the old content or the new, never a part of either.
//
// The new content is staged beside the file, never in $TMPDIR: renameio
// otherwise probes TMPDIR with two throw-away files on every call (a dozen
// system calls on each status change of every service), and a supervisor
// started early at boot must not depend on /tmp at all.
package safefile

import (
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// Write replaces path with data, keeping the mode of an existing file and
// giving a new one perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return renameio.WriteFile(path, data, perm, Beside(path))
}

// Beside is the renameio option that stages path's new content in path's
// own directory, for renameio.NewPendingFile.
func Beside(path string) renameio.Option {
	return renameio.WithTempDir(filepath.Dir(path))
}
