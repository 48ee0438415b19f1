package supervise

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/cgroup"
	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/hooks"
	"github.com/supervision-suite/supervision/internal/poller"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/svlog"
)

// Config is how sv-scan was started.
type Config struct {
	Dir       string    // the scan directory
	Log       io.Writer // sv-scan's own messages (stderr)
	Verbose   bool      // also say what is started and stopped
	NoCgroups bool      // do not use cgroup v2 even where it is usable
	// Console takes the lines of LOG=console services, each after its
	// service's name (PID 1's stdout in a container); with AllToConsole,
	// those of every service sv-scan logs itself (LOG=builtin) too.
	Console      io.Writer
	AllToConsole bool
	// Addons are the optional parts that act on the services from
	// beside the engine (OpenRC's start requests).
	Addons []Addon
}

// Scanner supervises every service linked in a scan directory.
type Scanner struct {
	cfg        Config
	dir        string
	key        string // names this scan dir in cgroups and notify sockets
	reaper     *proc.Reaper
	poller     *poller.Poller // every service's FIFOs, pidfds and log pipes
	cgroups    *cgroup.Tree
	devnull    *os.File
	environ    []string
	self       string // this program, whose sv-exec run scripts may exec (see spawnDirect)
	umask      int    // this process's, which its children inherit; -1 unknown
	lock       *os.File
	control    *os.File
	events     *events.Writer // nil: none kept (the ring could not be made)
	eventsFail sync.Once      // a failure to write one is said once
	countMu    sync.Mutex
	counters   events.Counters // hook failures, events lost (events.CountersFile)
	hooks      *hooks.Runner   // what the events call for (ON_EXIT, hooks.d, rules)

	mu       sync.Mutex
	services map[string]*service
	// live holds every service until it is done, also one that left the
	// scan dir or is stopping with sv-scan: its leftovers, without a
	// cgroup, are known gone only through the orphans reaped (orphan).
	live    map[*service]bool
	console *svlog.Console
	rescan  chan struct{}
	// calls are what addons have the scan loop do (onLoop), until
	// loopDone is closed.
	calls    chan func()
	loopDone chan struct{}
	retry    retry // only the scan loop touches it

	configs configCache
	deps    depRegistry
	mounts  mountWatch
	apps    *appActions
	// shutdown takes a member's request to stop everything and exit
	// (SVC_APP_ON_FAILURE=shutdown).
	shutdown chan *ShutdownError
	// stopping: sv-scan stops every service (stopAll), each after what
	// depends on it.
	stopping atomic.Bool
	// memOK: whether the services' cgroups have the memory controller
	// (SVC_MEMORY_MAX as memory.max), tried once, at the first that asks
	// (memoryLimits).
	memOnce sync.Once
	memOK   bool
}

// configCache keeps each service dir's config as last read, so that one
// taken up again (OpenRC stops a service by taking it out of the scan
// dir, and starts it by putting it back) reads its OPTIONS again only
// when they changed (stampConfig).
type configCache struct {
	mu    sync.Mutex
	byDir map[string]config
	// pass holds the configs got during one scan, which reads a new
	// service's config three times (SVC_ENABLE, its dependencies, its
	// take-up): read once, and trusted for the scan's length. (A service
	// dir made a moment ago would fail its stamp's check each time, and
	// be read again.)
	pass map[string]config
}

// get is dir's config: the one kept, while nothing it was read from has
// changed, else read now (and kept).
func (c *configCache) get(dir string) config {
	c.mu.Lock()
	kept, ok := c.byDir[dir]
	c.mu.Unlock()
	cfg := kept
	if !ok || !configCurrent(kept.stamp) {
		cfg = loadConfig(dir)
	}
	c.put(dir, cfg)
	return cfg
}

// inPass is get for the scan loop: within a pass, a config got once is
// not checked again. (Services' own goroutines use get: one that reloads
// its OPTIONS before a start reads what is on disk now.)
func (c *configCache) inPass(dir string) config {
	c.mu.Lock()
	cfg, ok := c.pass[dir]
	c.mu.Unlock()
	if ok {
		return cfg
	}
	return c.get(dir)
}

// kept is dir's config as last read, unchecked.
func (c *configCache) kept(dir string) (config, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, ok := c.byDir[dir]
	return cfg, ok
}

func (c *configCache) put(dir string, cfg config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDir == nil {
		c.byDir = map[string]config{}
	}
	c.byDir[dir] = cfg
	if c.pass != nil {
		c.pass[dir] = cfg
	}
}

// beginPass and endPass bound a pass of the scan loop (a scan, a take-up).
func (c *configCache) beginPass() {
	c.mu.Lock()
	c.pass = map[string]config{}
	c.mu.Unlock()
}

func (c *configCache) endPass() {
	c.mu.Lock()
	c.pass = nil
	c.mu.Unlock()
}

// retry has the scan loop look again at entries it could not supervise (a
// lock held elsewhere, a service dir half made, a permission fixed later):
// after a second, then twice as long each time up to a minute, and only
// while something fails, so an idle scanner has no timer.
type retry struct {
	failed map[string]string // entry -> the error last logged for it
	wait   time.Duration
	timer  *time.Timer
}

const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

// ErrAlreadyRunning: another sv-scan supervises this scan directory.
var ErrAlreadyRunning = errors.New("another sv-scan is running on it")

// New prepares a scanner: the lock and control FIFO in DIR/.sv-scan, the
// reaper, and the cgroup tree when cgroup v2 can be used. It must be made
// before anything is started in this process.
func New(cfg Config) (*Scanner, error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	h := fnv.New64a()
	h.Write([]byte(dir))
	s := &Scanner{cfg: cfg, dir: dir, key: fmt.Sprintf("%016x", h.Sum64()),
		services: map[string]*service{}, live: map[*service]bool{}, rescan: make(chan struct{}, 1),
		calls: make(chan func()), loopDone: make(chan struct{}),
		console: svlog.NewConsole(cfg.Console), deps: newDepRegistry(),
		apps: newAppActions(), shutdown: make(chan *ShutdownError, 1)}
	s.self, _ = os.Executable() // before the addons open: they find helpers beside it
	ctl := filepath.Join(dir, ".sv-scan")
	if err := os.MkdirAll(ctl, 0o755); err != nil {
		return nil, err
	}
	if s.lock, err = os.OpenFile(filepath.Join(ctl, "lock"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		s.lock.Close()
		return nil, fmt.Errorf("%s: %w", dir, ErrAlreadyRunning)
	}
	if err := unix.Mkfifo(filepath.Join(ctl, "control"), 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	if s.control, err = os.OpenFile(filepath.Join(ctl, "control"), os.O_RDWR, 0); err != nil {
		return nil, err
	}
	for _, a := range cfg.Addons {
		if err := a.Open(s); err != nil {
			return nil, err
		}
	}
	if err := s.apps.load(appStateFile(dir)); err != nil {
		s.logf("%v: the applications' restarts under way are forgotten", err)
	}
	if s.events, err = events.Create(events.Dir(dir)); err != nil {
		s.logf("%v: no events are kept", err)
	}
	if s.counters, err = events.ReadCounters(dir); err != nil {
		s.logf("%v: the counters begin again at 0", err)
	}
	if s.devnull, err = os.Open(os.DevNull); err != nil {
		return nil, err
	}
	if s.poller, err = poller.New(); err != nil {
		return nil, err
	}
	if s.reaper, err = proc.NewReaper(s.orphan, s.poller); err != nil {
		return nil, err
	}
	if !cfg.NoCgroups {
		if s.cgroups, err = cgroup.Open(dir); err != nil {
			s.vlogf("without cgroups: %v", err)
			s.cgroups = nil
		}
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") && !strings.HasPrefix(kv, "SV_SUPERVISOR=") {
			s.environ = append(s.environ, kv)
		}
	}
	s.umask = proc.Umask()
	// sv-exec's finish reads this: under sv-scan, which applies the
	// restart policy itself, it only runs FIN_CMD.
	s.environ = append(s.environ, "SV_SUPERVISOR=sv-scan")
	s.hooks = newHooks(s)
	return s, nil
}

// memoryLimits: the kernel can limit the services' memory here.
func (s *Scanner) memoryLimits() bool {
	s.memOnce.Do(func() {
		s.memOK = s.cgroups != nil && s.cgroups.EnableMemory()
		if !s.memOK {
			s.vlogf("SVC_MEMORY_MAX is measured by sv-scan: no memory controller for the services' cgroups")
		}
	})
	return s.memOK
}

// emit adds the change of u's phase from from to the events, and hands
// it to the hooks.
func (s *Scanner) emit(u *unit, from phase, reason string) {
	ev := events.Event{
		Time: time.Now(), Service: u.name, From: from.String(), To: u.phase.String(), Reason: reason,
		Pid: u.pgid, Restarts: u.restarts, Ready: u.ready,
	}
	if u.run != nil {
		ev.Pid = u.run.pid()
	}
	if reason == unhealthy {
		ev.Detail = u.healthOut
	}
	if runEnded(from, u) && u.lastExit != nil {
		ev.Expected = u.endExpected()
		if !u.lastExit.Unknown { // an adopted daemon's end: how, no one knows
			code := u.lastExit.Code
			ev.ExitCode, ev.Signal = &code, u.lastExit.Signal
		}
	}
	change := s.hookChange(u, from, ev)
	if u.svc == nil {
		s.publish(ev, change)
		return
	}
	// Recorded once the service's state.json and status say it
	// (writeStatus): a reader woken by the event reads the state it
	// tells of, not the one before.
	u.svc.unpublished = append(u.svc.unpublished, unpublished{ev, change})
}

// unpublished is an event of a service not yet recorded, with what the
// hooks are to be told of it.
type unpublished struct {
	ev     events.Event
	change *hooks.Change
}

// publish records ev, then hands it to the hooks with its number.
func (s *Scanner) publish(ev events.Event, change *hooks.Change) {
	ev.Seq = s.record(ev)
	if change != nil {
		change.Event = ev
		s.hooks.Event(*change)
	}
}

// record appends ev to the events, and returns its number (0 when none
// is kept). One that cannot be written is counted, and said once.
func (s *Scanner) record(ev events.Event) uint64 {
	if s.events == nil {
		return 0
	}
	seq, err := s.events.Append(ev)
	if err != nil {
		s.eventsFail.Do(func() { s.logf("%v: events are being lost", err) })
		s.count(func(c *events.Counters) { c.Lost++ })
	}
	return seq
}

// count changes the counters and keeps them on disk: they change seldom
// (a hook that fails, an event lost), and a reader takes them from there.
func (s *Scanner) count(change func(*events.Counters)) {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	change(&s.counters)
	events.WriteCounters(s.dir, s.counters)
}

// runEnded: the change from from is the end of a run, which the unit has
// recorded (recordExit).
func runEnded(from phase, u *unit) bool {
	switch from {
	case phaseStarting, phaseUp, phaseStopping:
		return u.run == nil
	}
	return false
}

func (s *Scanner) logf(format string, args ...any) {
	fmt.Fprintf(s.cfg.Log, "sv-scan: "+format+"\n", args...)
}

func (s *Scanner) vlogf(format string, args ...any) {
	if s.cfg.Verbose {
		s.logf(format, args...)
	}
}

// Rescan asks for the scan directory to be read again (SIGHUP, 'a').
func (s *Scanner) Rescan() {
	select {
	case s.rescan <- struct{}{}:
	default:
	}
}

// Run supervises until ctx ends or 't' comes on the control FIFO; then it
// stops every service, each within its stop timeout, and returns.
func (s *Scanner) Run(ctx context.Context) error {
	ino, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(ino, s.dir, mask); err != nil {
		unix.Close(ino)
		return fmt.Errorf("inotify %s: %w", s.dir, err)
	}
	inoFile := os.NewFile(uintptr(ino), "inotify")
	defer inoFile.Close()
	go s.watch(inoFile)
	stop := make(chan struct{})
	go s.readControl(stop)
	// The addons end with the scanner.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, a := range s.cfg.Addons {
		go a.Run(ctx, s)
	}

	defer close(s.loopDone)
	s.scan()
	s.resumeApps()
	s.hooks.Resume()
	for {
		select {
		case <-s.rescan:
			s.scan()
		case f := <-s.calls:
			f()
		case <-stop:
			s.stopAll()
			return nil
		case e := <-s.shutdown:
			s.logf("%s: stopping every service", e.Why)
			s.stopAll()
			return e
		case <-ctx.Done():
			s.stopAll()
			return nil
		}
	}
}

// watch turns inotify events on the scan dir into rescans.
func (s *Scanner) watch(f *os.File) {
	buf := make([]byte, 8192)
	for {
		if _, err := f.Read(buf); err != nil {
			return
		}
		s.Rescan()
	}
}

// readControl reads the scanner's own FIFO: 'a' rescans, 't' stops all.
func (s *Scanner) readControl(stop chan struct{}) {
	buf := make([]byte, 64)
	for {
		n, err := s.control.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case 'a', 'h':
				s.Rescan()
			case 't':
				close(stop)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// scan starts supervising new entries and stops those that left. An entry
// whose service dir changed (a link pointed elsewhere) is a new service.
func (s *Scanner) scan() {
	s.configs.beginPass()
	defer s.configs.endPass()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		s.logf("cannot read %s: %v", s.dir, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	present := map[string]string{}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		link := filepath.Join(s.dir, name)
		target, _ := os.Readlink(link) // "" for a directory in the scan dir
		if svc, ok := s.services[name]; ok && svc.target == target {
			// Supervised already, through the same link: skip resolving
			// it again, path element by element, at every rescan.
			present[name] = svc.dir
			continue
		}
		dir, err := filepath.EvalSymlinks(link)
		if err != nil {
			s.logf("%s: %v", name, err)
			continue
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		present[name] = dir
	}
	disabled := s.disabled(present)
	for name, svc := range s.services {
		if dir, ok := present[name]; !ok || dir != svc.dir || disabled[name] {
			s.vlogf("%s: out of the scan dir, or SVC_ENABLE=no: stopping it", name)
			svc.exitAll()
			delete(s.services, name)
		}
	}
	failed := map[string]string{}
	defer s.retryLater(failed)
	names := make([]string, 0, len(present))
	for name := range present {
		if !disabled[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	s.deps.setKnown(names, disabled)
	s.learnDeps(names, present)
	for _, name := range names {
		if _, ok := s.services[name]; ok {
			continue
		}
		svc, err := newService(s, name, filepath.Join(s.dir, name), present[name], nil)
		if err != nil {
			if failed[name] = err.Error(); s.retry.failed[name] != failed[name] {
				s.logf("%s: %v (trying again)", name, err)
			}
			continue
		}
		s.register(name, svc)
	}
}

// disabled are the services of the scan dir whose OPTIONS leave them out
// of the run (SVC_ENABLE=no, in a profile's or a host's overlay): not
// taken up, and ready for what depends on them. A service supervised
// already is judged by its config as it last read it (before its last
// start), not read again: a scan, which every link made in the scan dir
// sets off, costs what is new in it, not the whole tree. (The configs
// read are cached for newService.)
func (s *Scanner) disabled(present map[string]string) map[string]bool {
	out := map[string]bool{}
	for name, dir := range present {
		cfg, ok := config{}, false
		if svc := s.services[name]; svc != nil && svc.dir == dir {
			cfg, ok = s.configs.kept(dir)
		}
		if !ok {
			cfg = s.configs.inPass(dir)
		}
		if o := cfg.svc; o != nil && !o.Config.Enable {
			out[name] = true
		}
	}
	return out
}

// learnDeps reads the dependencies of the services about to be taken up,
// all before the first of them starts: a service's SVC_BEFORE holds back
// one that sorts before it; and their applications, which are not
// evaluated until all are taken up. (Their configs are cached for
// newService.)
func (s *Scanner) learnDeps(names []string, present map[string]string) {
	edges, before := map[string][]deps.Edge{}, map[string][]string{}
	apps := map[string]string{}
	for _, name := range names {
		if _, ok := s.services[name]; ok {
			continue
		}
		if o := s.configs.inPass(present[name]).svc; o != nil {
			edges[name], before[name] = deps.Edges(o.Config.Deps), deps.Names(o.Config.Deps.Before)
			if o.Config.GroupName != "" {
				apps[name] = o.Config.GroupName
			}
		}
	}
	s.deps.setEdgesOf(edges, before)
	s.apps.expect(apps)
}

// register adds a service just taken up; s.mu is held.
func (s *Scanner) register(name string, svc *service) {
	s.vlogf("%s: supervising %s", name, svc.dir)
	s.services[name] = svc
	s.live[svc] = true
}

// retryLater arms the retry timer when the scan left entries failed, with
// a longer wait each scan in a row that does; a clean scan resets it.
func (s *Scanner) retryLater(failed map[string]string) {
	r := &s.retry
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.failed = failed
	if len(failed) == 0 {
		r.wait = 0
		return
	}
	r.wait = min(max(2*r.wait, retryFirst), retryMax)
	r.timer = time.AfterFunc(r.wait, s.Rescan)
}

// forget drops a service that is done, also one that ended by itself
// ('x'): the next rescan supervises it again, as runsvdir starts a new
// runsv.
func (s *Scanner) forget(svc *service) {
	s.mu.Lock()
	if s.services[svc.name] == svc {
		delete(s.services, svc.name)
	}
	delete(s.live, svc)
	s.mu.Unlock()
	s.deps.unregister(svc)
	s.deps.dropEdges(svc.name)
	s.mounts.wait(svc, false)
	s.apps.setMember(svc, "")
}

// stopAll stops every service and waits until each is down.
func (s *Scanner) stopAll() {
	if s.retry.timer != nil {
		s.retry.timer.Stop()
	}
	s.stopping.Store(true)
	s.mu.Lock()
	all := make([]*service, 0, len(s.services))
	for _, svc := range s.services {
		all = append(all, svc)
		svc.exitAll()
	}
	s.services = map[string]*service{}
	s.mu.Unlock()
	for _, svc := range all {
		<-svc.done
	}
	s.hooks.Close(hookWait) // the hooks of the last events run, or are killed
	if s.cgroups != nil {
		s.cgroups.Remove() // fails, harmlessly, if a cgroup is left
	}
	s.control.Close()
	if s.events != nil {
		s.events.Close()
	}
	s.lock.Close()
}

// orphan is told of every exit no one waits for: a process a daemon left
// behind. Services draining a process group without a cgroup check again.
func (s *Scanner) orphan(proc.Exit) {
	s.mu.Lock()
	var draining []*service
	for svc := range s.live {
		if svc.cg == nil {
			draining = append(draining, svc)
		}
	}
	s.mu.Unlock()
	for _, svc := range draining {
		svc.send(event{kind: evDrained, u: svc.main})
		if svc.log != nil {
			svc.send(event{kind: evDrained, u: svc.log})
		}
	}
}
