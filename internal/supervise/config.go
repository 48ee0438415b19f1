// Package supervise is the engine of sv-scan: it supervises every service
// of a scan directory in one process, each service a queue of events
// handled in order, one poller and one reaper for all, speaking runit's
// supervise protocol on disk.
package supervise

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/catalog"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/policy"
	"github.com/supervision-suite/supervision/internal/svlog"
	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// How a service's output is handled.
const (
	logNone    = "none"    // no log/: the daemon writes to sv-scan's own output
	logBuiltin = "builtin" // sv-scan writes LOG_DIR itself
	logProgram = "program" // log/run is a program, supervised like the service
)

// config is what the supervisor needs of a service's OPTIONS. A service
// without OPTIONS (a hand-written runit service) gets runsv's behaviour.
type config struct {
	err          string // OPTIONS that do not load; the run will fail too
	ready        options.Ready
	readyTimeout time.Duration
	stopSignal   syscall.Signal
	stopGroup    bool
	stopTimeout  time.Duration
	reloadSignal syscall.Signal
	policy       policy.Policy
	log          string
	logCfg       svlog.Config
	console      bool             // LOG=console: logBuiltin's lines go to sv-scan's stdout
	finCmd       bool             // FIN_CMD is set: our shared finish must run
	health       *options.Health  // SVC_HEALTH, SVC_MEMORY_MAX, defaults applied; nil: nothing to check
	svc          *options.Service // the loaded OPTIONS; nil without
	stamp        *syncstamp.Stamp // what it was read from (stampConfig); nil: read again
}

func defaultConfig() config {
	return config{
		ready:        options.Ready{Kind: options.ReadyNone},
		stopSignal:   syscall.SIGTERM,
		stopGroup:    true,
		stopTimeout:  10 * time.Second,
		reloadSignal: syscall.SIGHUP,
		policy:       policy.Default,
	}
}

// loadConfig reads the service in dir (its resolved path). It is read at
// every start, so an edit of OPTIONS takes effect at the next restart.
func loadConfig(dir string) config {
	stamp := stampConfig(dir)
	c := defaultConfig()
	c.log = logMode(dir, "")
	if _, err := os.Stat(filepath.Join(dir, "OPTIONS")); err != nil {
		base, _ := options.SplitName(filepath.Base(dir))
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), base, "OPTIONS")); err != nil {
			return c // no OPTIONS for it at all: a plain runit service
		}
	}
	svDir := filepath.Dir(dir)
	l := &options.Loader{
		SvDir: svDir, Root: layout.RootOf(svDir), Profile: os.Getenv("SV_PROFILE"),
		Catalog: catalog.New(filepath.Join(svDir, ".opt", "catalog")),
	}
	svc, err := l.Load(filepath.Base(dir))
	if err != nil {
		c.err = configErr(err, filepath.Base(dir))
		return c
	}
	c.stamp = addConfigFiles(stamp, svc)
	// Kept for each service while it is supervised: only what a start
	// reads (its sources are for messages, which sv-exec gives).
	svc.DropSources()
	c.svc = svc
	c.fill(svc.Config, dir)
	return c
}

// fill takes the supervisor's settings from the service's decoded OPTIONS.
func (c *config) fill(o *options.Config, dir string) {
	c.ready = o.Ready
	c.readyTimeout = o.ReadyTimeout
	c.stopSignal = o.Stop.Signal
	c.stopGroup = o.Stop.Group
	c.stopTimeout = o.Stop.Timeout
	c.reloadSignal = o.ReloadSignal
	c.policy = policy.FromConfig(o)
	c.finCmd = len(o.FinCmd) > 0
	if h := o.Health.Effective(); h.Wanted() {
		c.health = &h
	}
	c.log = logMode(dir, o.Log.Kind)
	c.console = o.Log.Kind == options.LogConsole
	c.logCfg = svlog.Config{Dir: o.Log.Dir, Size: o.Log.Size, Files: o.Log.Files, Stamp: string(o.Log.Timestamp)}
}

// maxConfigErr bounds what state.json and sv-scan's log say of OPTIONS
// that do not load, on one line: the first problems say what to fix.
const maxConfigErr = 2048

func configErr(err error, name string) string {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if len(msg) > maxConfigErr {
		msg = strings.ToValidUTF8(msg[:maxConfigErr], "") + "... (sv-gen check " + name + " says all)"
	}
	return msg
}

// logMode: a log/run that is sv-gen's shared log-run with LOG=builtin or
// LOG=console is done in-process; any other log/run is a program to supervise; no log/run
// means the daemon's output goes where sv-scan's goes, as with runsv.
func logMode(dir string, log options.LogKind) string {
	run := filepath.Join(dir, "log", "run")
	if _, err := os.Stat(run); err != nil {
		return logNone
	}
	if (log == options.LogBuiltin || log == options.LogConsole) && isShared(run, "log-run") {
		return logBuiltin
	}
	return logProgram
}

// isShared reports whether path is sv-gen's link to a shared script in .opt.
func isShared(path, script string) bool {
	t, err := os.Readlink(path)
	return err == nil && strings.HasSuffix(t, ".opt/"+script)
}
