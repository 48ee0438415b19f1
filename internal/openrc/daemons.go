package openrc

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Prefix names a supervised service NAME in OpenRC: sv.NAME.
const Prefix = "sv."

// MarkDaemon records pidfile as the daemon of OpenRC service svcName,
// under OpenRC's state dir rcSvcDir (RC_SVCDIR/daemons/SERVICE/NNN, the
// files its own start-stop-daemon and supervise-daemon write). rc-status
// shows a started service as crashed when the pid in such a pidfile is
// not running; runsv and sv-scan keep supervise/pid, empty while the
// daemon is down, so a daemon its supervisor gave up shows so. OpenRC
// removes the record when the service stops; one already there as this
// would write it is left alone.
func MarkDaemon(rcSvcDir, svcName, pidfile string) error {
	dir := filepath.Join(rcSvcDir, "daemons", svcName)
	path, text := filepath.Join(dir, "001"), []byte("exec=\npidfile="+pidfile+"\n")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, text) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return safefile.Write(path, text, 0o644)
}
