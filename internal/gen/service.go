package gen

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/fsplan"
	"github.com/supervision-suite/supervision/internal/options"
)

// Files in a service dir that sv-gen writes from OPTIONS for s6-supervise,
// which reads them itself (runit and daemontools ignore them).
const (
	s6NotificationFD = "notification-fd"
	s6TimeoutKill    = "timeout-kill"
	s6DownSignal     = "down-signal"
	s6MaxDeathTally  = "max-death-tally"
)

// serviceOps plans the generated content of one service dir, written into
// dir (the service dir itself, or a temporary one that becomes it).
func (g *Generator) serviceOps(p *fsplan.Plan, svc *options.Service, dir string) {
	c := svc.Config
	link := func(rel, target string, want bool) {
		path := filepath.Join(dir, rel)
		switch {
		case !ours(path): // the user's own file or link: leave it
		case want:
			p.Symlink(path, target)
		default:
			p.Remove(path)
		}
	}

	link("run", "../.opt/run", true)
	p.Symlink(filepath.Join(dir, "supervise"), g.Layout.Inside(g.Layout.Supervise(svc.Name)))

	logged := c.Log.Kind != options.LogNone
	if logged {
		p.Dir(filepath.Join(dir, "log"), 0o755)
	}
	link("log/run", "../../.opt/log-run", logged)
	logSupervise := filepath.Join(dir, "log", "supervise")
	logTarget := g.Layout.Inside(g.Layout.LogSupervise(svc.Name))
	if logged {
		p.Symlink(logSupervise, logTarget)
	} else if target, _ := os.Readlink(logSupervise); target == logTarget {
		p.Remove(logSupervise)
	}
	if !logged {
		p.RemoveEmptyDir(filepath.Join(dir, "log"))
	}

	link("finish", "../.opt/finish", needsFinish(c))
	ready := c.Ready.Kind
	link("check", "../.opt/check", ready == options.ReadyCheck || ready == options.ReadyTCP || ready == options.ReadyPath)

	// runsv sends TERM to the daemon alone; control/t sends the stop signal
	// to its process group instead, as every backend does here.
	p.Dir(filepath.Join(dir, "control"), 0o755)
	link("control/t", "../../.opt/control", true)
	link("control/h", "../../.opt/control", c.ReloadSignal != syscall.SIGHUP)

	g.s6Ops(p, c, dir)
}

// s6Ops writes the files s6-supervise reads, so that the same OPTIONS
// drives s6 without sv-exec's help.
func (g *Generator) s6Ops(p *fsplan.Plan, c *options.Config, dir string) {
	file := func(name, text string, want bool) {
		path := filepath.Join(dir, name)
		if want {
			p.File(path, []byte(text+"\n"), 0o644)
		} else {
			p.Remove(path)
		}
	}
	r := c.Ready
	file(s6NotificationFD, strconv.Itoa(r.FD), r.Kind == options.ReadyFD)
	file(s6TimeoutKill, strconv.FormatInt(c.Stop.Timeout.Milliseconds(), 10), true)
	stop := c.Stop.Signal
	file(s6DownSignal, "SIG"+options.SignalName(stop), stop != syscall.SIGTERM)
	limit := c.Restart.Limit
	file(s6MaxDeathTally, strconv.Itoa(limit.Count), limit.Count > 0)
}

// needsFinish: the finish script runs FIN_CMD and keeps down a service that
// must not restart; without either, no finish script is needed.
func needsFinish(c *options.Config) bool {
	return len(c.FinCmd) > 0 || c.Restart.Mode != options.RestartAlways ||
		c.Type == options.Oneshot || c.Restart.Limit.Count > 0
}

// runtimeOps plans the supervise directories in the run dir, which the
// service dir's supervise links point to, when CreateSupervise asks for
// them. They live on a tmpfs, so sync recreates them at every boot.
func (g *Generator) runtimeOps(p *fsplan.Plan, svc *options.Service) {
	if !g.CreateSupervise || g.Layout.Sysroot != "" {
		return
	}
	p.Dir(g.Layout.Supervise(svc.Name), 0o755)
	if svc.Config.Log.Kind != options.LogNone {
		p.Dir(g.Layout.LogSupervise(svc.Name), 0o755)
	}
}

// enabledOps records a service as enabled and links it into the scan
// dir; in an image, only the record: its scan dir is made at each boot
// (RestoreEnabled).
func (g *Generator) enabledOps(p *fsplan.Plan, name string) {
	p.Symlink(filepath.Join(g.Layout.EnabledDir, name), filepath.Join("..", name))
	if g.Layout.Sysroot == "" {
		p.Symlink(filepath.Join(g.Layout.ScanDir, name), g.Layout.ServiceDir(name))
	}
}

func (g *Generator) isEnabled(name string) bool {
	return exists(filepath.Join(g.Layout.EnabledDir, name))
}

// isLinked reports whether the scan dir links to this service.
func (g *Generator) isLinked(name string) bool {
	t, err := os.Readlink(filepath.Join(g.Layout.ScanDir, name))
	return err == nil && t == g.Layout.Inside(g.Layout.ServiceDir(name))
}

// SyncResult is what a sync did and found.
type SyncResult struct {
	Changes  []fsplan.Change
	Problems options.Errors // services that could not be synced, and why
	Warnings options.Errors
	Loaded   map[string]*options.Service // the services synced, as loaded
}

// Sync brings the shared scripts and the named services (all when none are
// named) in line with their OPTIONS. A service with invalid OPTIONS is
// reported and left as it is; the others are synced.
func (g *Generator) Sync(names []string) (*SyncResult, error) {
	names, err := g.services(names)
	if err != nil {
		return nil, err
	}
	began := time.Now() // the stamps' time: before anything is read
	res := &SyncResult{Loaded: map[string]*options.Service{}}
	p := &fsplan.Plan{}
	if err := g.sharedOps(p); err != nil {
		return nil, err
	}
	planned := map[string][]string{}
	for _, name := range names {
		if g.kindOf(name) != KindService {
			res.Problems = append(res.Problems, &options.Error{Path: g.Layout.ServiceDir(name), Msg: fmt.Sprintf("%s is not a generated service (no ./run linking to .opt/run and no OPTIONS); left alone", name)})
			continue
		}
		svc, err := g.Loader().Load(name)
		if err != nil {
			res.Problems = append(res.Problems, asErrors(err)...)
			continue
		}
		res.Warnings = append(res.Warnings, svc.Set.Warnings...)
		res.Loaded[name] = svc
		from := p.Len()
		g.serviceOps(p, svc, svc.Dir)
		g.runtimeOps(p, svc)
		if g.isEnabled(name) {
			g.enabledOps(p, name)
		}
		planned[name] = p.PathsFrom(from)
	}
	if res.Changes, err = p.Apply(); err != nil {
		return res, err
	}
	for name, svc := range res.Loaded {
		if err := g.stampSynced(svc, planned[name], began); err != nil {
			return res, fmt.Errorf("%s: sync stamp: %w", name, err)
		}
	}
	return res, nil
}

// asErrors turns a Load error into its list of problems.
func asErrors(err error) options.Errors {
	if es, ok := err.(options.Errors); ok {
		return es
	}
	if e, ok := err.(*options.Error); ok {
		return options.Errors{e}
	}
	return options.Errors{{Msg: err.Error()}}
}
