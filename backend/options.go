package backend

import (
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

// FromOptions is the service as its OPTIONS describe it, linked into
// scanDir, with the settle time of conf.d: what a start waits for, and how
// long it may take.
func FromOptions(svc *options.Service, scanDir string, settle time.Duration) Service {
	c := svc.Config
	b := Service{
		Name: svc.Name, Dir: svc.Dir, ScanDir: scanDir,
		ReadyWanted:  c.Ready.Kind != options.ReadyNone,
		ReadyTimeout: c.ReadyTimeout,
		StopTimeout:  c.Stop.Timeout,
		Settle:       settle,
	}
	if c.Wait.Any() {
		b.ExecWait = c.Wait.Timeout
	}
	switch c.Log.Kind {
	case options.LogNone, options.LogSyslog, options.LogCustom:
	default:
		b.LogDir = c.Log.Dir
	}
	return b
}
