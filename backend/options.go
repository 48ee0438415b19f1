package backend

import (
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// FromOptions is the service as its OPTIONS describe it, linked into
// scanDir, with the settle time of conf.d: what a start waits for, and how
// long it may take.
func FromOptions(svc *options.Service, scanDir string, settle time.Duration) Service {
	s := svc.Set
	b := Service{
		Name: svc.Name, Dir: svc.Dir, ScanDir: scanDir,
		ReadyWanted:  s.Ready().Kind != options.ReadyNone,
		ReadyTimeout: s.Duration("SVC_READY_TIMEOUT"),
		StopTimeout:  s.Duration("SVC_STOP_TIMEOUT"),
		Settle:       settle,
	}
	if s.Get("SVC_WAIT_PATH")+s.Get("SVC_WAIT_MOUNT") != "" {
		b.ExecWait = s.Duration("SVC_WAIT_TIMEOUT")
	}
	switch s.Get("LOG") {
	case "none", "syslog", "custom":
	default:
		b.LogDir = s.Get("LOG_DIR")
	}
	return b
}
