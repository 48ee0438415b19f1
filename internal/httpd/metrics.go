package httpd

import (
	"net/http"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/metrics"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// metrics answers GET /metrics: what sv-ctl metrics prints, and
// sv-scan's own process figures (docs/METRICS.md).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	svcs, infos, errs, err := s.model.all()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	var read []svctl.Info
	for i, info := range infos {
		if errs[i] == nil { // one being set up has no status yet
			read = append(read, info)
		}
	}
	apps := svctl.AppsOf(svcs, infos, errs, func() map[string]app.Membership { return nil }, nil)
	var counters *events.Counters
	if c, err := events.ReadCounters(s.cfg.ScanDir); err == nil {
		counters = &c
	}
	// Written as it is made: a megabyte at 1,000 services, not held.
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	metrics.Write(w, read, apps, counters, s.cfg.Node)
	if pid := s.scannerPid(); pid > 0 {
		if p, err := metrics.ReadProcess(pid); err == nil {
			metrics.WriteProcess(w, p, s.cfg.Node)
		}
	}
}

// scannerPid is sv-scan's pid: this server's parent, when sv-scan runs
// it (it says so in SV_SCANNER_PID).
func (s *Server) scannerPid() int {
	if s.cfg.ScannerPid > 0 {
		return s.cfg.ScannerPid
	}
	return 0
}
