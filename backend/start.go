package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// Service is a service as Start and Stop act on it, with what its OPTIONS
// say about readiness and stopping.
type Service struct {
	Name         string
	Dir          string // its definition, /etc/sv/NAME: what the scan dir links to
	ScanDir      string
	ReadyWanted  bool          // SVC_READY says how to tell it is ready
	ReadyTimeout time.Duration // SVC_READY_TIMEOUT
	StopTimeout  time.Duration // SVC_STOP_TIMEOUT
	// Settle is how long a started daemon must have run (and be ready) for
	// the start to count, from its exec (the mark in supervise/exec, made
	// by sv-exec or sv-scan); from then the start waits until the daemon
	// waits for something (see settle), so that one that dies at once is a
	// failure even with no readiness configured and a Settle of 0.
	// Negative: no settle at all.
	Settle time.Duration
	// ExecWait is how long sv-exec may wait before it execs the daemon
	// (SVC_WAIT_TIMEOUT when SVC_WAIT_PATH or SVC_WAIT_MOUNT is set).
	ExecWait time.Duration
	LogDir   string // where its log is, for the last lines of a failure; "" none
}

// stopTimeout is SVC_STOP_TIMEOUT, or runsv's 10 s where none is known.
func (s Service) stopTimeout() time.Duration {
	if s.StopTimeout <= 0 {
		return 10 * time.Second
	}
	return s.StopTimeout
}

// link is the service's entry in the scan dir, through which supervisors
// see it.
func (s Service) link() string { return filepath.Join(s.ScanDir, s.Name) }

// Failure is a start that did not come up, with why.
type Failure struct {
	Service string
	Reason  string
	Log     []string // the last lines of its log
}

func (f *Failure) Error() string { return f.Service + ": " + f.Reason }

// DefaultSettle is how long a started daemon must stay up after its exec,
// when conf.d does not say (SV_SETTLE): none more than it takes to first
// wait for something (a socket, a timer, a child), which is what tells a
// daemon that runs from one that exits at once on a bad flag, a missing
// library or file (it never waits: it runs until it exits; see
// watch.settle). A daemon that fails later is what SVC_READY, or a settle
// time, is for.
const DefaultSettle time.Duration = 0

// TakeUpWait bounds the wait for a scanner that answers to take a new
// service up. It is long because it costs nothing when all is well: a
// scanner that does not answer fails the start at once (Rescan, or
// ScannerReady during the wait), and one that answers does take the
// service up, but may take seconds to on a loaded machine, with many
// starts at once.
const TakeUpWait = 30 * time.Second

// logLines is how many lines of the log a failure shows.
const logLines = 5

// Start brings a service up the race-free way: it carries `down` (so that
// its supervisor does not start it by itself), is linked into the scan dir,
// the scanner is told to look, and once the service's supervisor answers it
// gets `u`; then Start waits until the daemon is up, ready per SVC_READY,
// and has stayed up for Settle. A daemon that exits or restarts first, a
// supervisor that gives up, or a timeout is a *Failure, and the service is
// left stopped.
func Start(ctx context.Context, sup Supervisor, svc Service) error {
	_, quick := sup.(okLast)
	var before svctl.Info
	if quick {
		// What `u` will change, read before the scanner can take the
		// service up: its last supervisor's word, or nothing.
		before = lastStatus(sup, svc)
	}
	if err := MarkDown(svc.Dir); err != nil {
		return err
	}
	if err := sup.Prepare(svc.Dir); err != nil {
		return fmt.Errorf("%s: %w", svc.Name, err)
	}
	sent := time.Now()
	queued := queuedUp(-1)
	if quick {
		queued = queueUp(svc.Dir)
	}
	if err := Link(svc.ScanDir, svc.Name, svc.Dir); err != nil {
		queued.withdraw()
		return fmt.Errorf("%s: link into %s: %w", svc.Name, svc.ScanDir, err)
	}
	if err := sup.Rescan(svc.ScanDir); err != nil && !errors.Is(err, ErrNoRescan) {
		queued.withdraw()
		return fmt.Errorf("%s: %w", svc.Name, err)
	}
	wait := sup.NoticeDelay() + TakeUpWait
	wctx, cancel := context.WithTimeout(ctx, wait)
	scannerUp := func() bool { return sup.ScannerReady(svc.ScanDir) }
	err := errNoFIFO
	if quick {
		err = waitOKReader(wctx, svc.link(), scannerUp)
	}
	if errors.Is(err, errNoFIFO) {
		quick = false
		err = waitSupervised(wctx, sup, svc.link(), scannerUp)
	}
	cancel()
	if err != nil {
		queued.withdraw() // no supervisor came: none may start it later
	} else {
		queued.release()
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// Interrupted before a supervisor came: its `u` is withdrawn (or
		// was read, by a supervisor that holds the service now), so a
		// take-up under way starts nothing; what is linked or supervised
		// is stopped and taken out, as for any interrupted start.
		return (&watch{svc: svc}).fail(ctx, sup, interrupted(ctx, err))
	case errors.Is(err, errScannerGone):
		return &Failure{Service: svc.Name, Reason: fmt.Sprintf("the %s scanner on %s stopped answering before it took the service up", sup.Name(), svc.ScanDir)}
	case errors.Is(err, context.DeadlineExceeded):
		return &Failure{Service: svc.Name, Reason: fmt.Sprintf("no %s supervisor took it up within %s: is the scanner running on %s, and what does its log say?", sup.Name(), wait.Round(time.Second), svc.ScanDir)}
	case err != nil:
		return fmt.Errorf("%s: waiting for its %s supervisor: %w", svc.Name, sup.Name(), err)
	}
	if !quick {
		if before, err = sup.Status(svc.link()); err != nil {
			return fmt.Errorf("%s: %w", svc.Name, err)
		}
	}
	if !queued.queued() {
		sent = time.Now()
	}
	w := &watch{svc: svc, before: before, sent: sent}
	// Read before the link, the baseline may be the last supervisor's, up
	// included (one killed with its daemon): `u` is sent anyway, and is
	// nothing to a supervisor whose daemon runs.
	if !queued.queued() && (!before.Up() || quick) {
		if err := sup.Send(svc.link(), "u"); err != nil {
			return err
		}
	}
	return w.follow(ctx, sup)
}

// follow waits until the daemon is up, ready and settled; a failure stops
// the service.
func (w *watch) follow(ctx context.Context, sup Supervisor) error {
	if err := w.verify(ctx); err != nil {
		return w.fail(ctx, sup, err)
	}
	return nil
}

// verify waits until the daemon is up, ready and settled, and says why
// not; the service is left as it is.
func (w *watch) verify(ctx context.Context) error {
	if err := w.untilReady(ctx); err != nil {
		return interrupted(ctx, err)
	}
	if err := w.settle(ctx); err != nil {
		return interrupted(ctx, err)
	}
	return nil
}

// interrupted is err, unless the start itself was interrupted (ctx ended:
// a signal, OpenRC giving up or ^C), which is then the reason.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &died{"interrupted before it was up, ready and settled"}
	}
	return err
}

// lastStatus is the service's status as it is, or nothing known where it
// has none yet (never supervised).
func lastStatus(sup Supervisor, svc Service) svctl.Info {
	none := svctl.Info{Name: svc.Name, Dir: svc.link()}
	// Unsupervised yet (the usual case): nothing to read, and Status
	// would look at the lock too.
	if ok, err := sup.Supervised(svc.link()); err != nil || !ok {
		return none
	}
	info, err := sup.Status(svc.link())
	if err != nil {
		return none
	}
	return info
}

// MarkDown gives the service dir a `down` file: OpenRC, not the scanner,
// decides when it runs.
func MarkDown(dir string) error {
	path := filepath.Join(dir, "down")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return safefile.Write(path, nil, 0o644)
}

// watch follows one start through the service's status.
type watch struct {
	svc    Service
	before svctl.Info // before `u`
	sent   time.Time
	pid    int // the daemon this start is about, once seen
	upAt   time.Time
	execAt time.Time // when the exec mark for pid was seen
	last   svctl.Info
	src    StatusSource // nil: the supervise files
}

// died is why a start failed while being watched.
type died struct{ reason string }

func (d *died) Error() string { return d.reason }

func (w *watch) untilReady(ctx context.Context) error {
	timeout := w.svc.ReadyTimeout
	if !w.svc.ReadyWanted || timeout <= 0 {
		timeout = 10 * time.Second // the daemon only has to run
	}
	timeout += w.svc.ExecWait
	// From `u`, as the supervisor counts SVC_READY_TIMEOUT from the
	// daemon's start: this verdict must come first, not its restart. (A
	// start the scanner made on request is watched from later on.)
	deadline := w.sent.Add(timeout)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	what := svctl.WaitUp
	if w.svc.ReadyWanted {
		what = svctl.WaitReady
	}
	_, err := w.source().Wait(wctx, what, func(info svctl.Info) (bool, error) {
		w.last = info
		if err := w.check(info); err != nil {
			return false, err
		}
		if w.pid == 0 || w.execAt.IsZero() {
			return false, nil
		}
		return !w.svc.ReadyWanted || svctl.ReadyNow(info), nil
	})
	var d *died
	switch {
	case errors.As(err, &d):
		return err
	case err != nil && ctx.Err() == nil && time.Now().Before(deadline):
		// Not the timeout: its status went (unlinked by a stop) or
		// could not be read.
		if errors.Is(err, fs.ErrNotExist) {
			return &died{"stopped and unlinked before it was up, ready and settled"}
		}
		return &died{fmt.Sprintf("not watched to the end: %v", err)}
	case err != nil && w.pid == 0:
		return &died{fmt.Sprintf("not running after %s", timeout)}
	case err != nil && w.execAt.IsZero():
		return &died{fmt.Sprintf("sv-exec (pid %d) did not exec the daemon within %s", w.pid, timeout)}
	case err != nil:
		return &died{fmt.Sprintf("not ready after SVC_READY_TIMEOUT=%s", timeout)}
	}
	return nil
}

// settle watches the daemon until it has run for Settle from its exec
// and, from then, until it waits for something (proc.Settle): every
// thread of it, and of what it started, sleeps, or has been busy on the
// CPU for settleBusy (a daemon that computes rather than one still
// starting). A daemon that exits at once never sleeps: it runs until it
// exits, however long the machine makes it wait for the CPU. At most
// settleGrace more. Nothing signals that a process went to sleep, so
// /proc is looked at, at once and then every settlePoll for a while (a
// daemon usually waits within a millisecond of its exec), then less
// often; in between, a pidfd tells at once if the daemon ends.
func (w *watch) settle(ctx context.Context) error {
	if w.svc.Settle < 0 {
		return nil
	}
	until := w.execAt.Add(w.svc.Settle)
	if w.svc.Settle > 0 {
		if err := w.watchUntil(ctx, until); err != nil {
			return err
		}
	}
	giveUp := until.Add(settleGrace)
	tree := proc.NewSettle(w.pid)
	tree.Before = "sv-exec" // its exec mark comes just before the exec
	end := openExit(w.pid)
	defer end.close()
	for n := 0; !tree.Done(settleBusy) && time.Now().Before(giveUp); n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		interval := settlePoll << max(0, n-settleFastPolls)
		if end == nil { // no pidfd: the status says when it ends
			if err := w.watchUntil(ctx, time.Now().Add(min(interval, settleSlowest))); err != nil {
				return err
			}
			continue
		}
		if end.waitBrief(min(interval, settleSlowest)) {
			return w.ended(ctx)
		}
	}
	if end != nil {
		// The pidfd, opened once the status showed this daemon up, says
		// whether it still runs: a restart would have ended it first.
		if end.wait(0) {
			return w.ended(ctx)
		}
		return nil
	}
	return w.watchUntil(ctx, time.Now()) // a last look: restarted meanwhile?
}

const (
	settleBusy      = time.Second
	settleGrace     = 5 * time.Second
	settlePoll      = 100 * time.Microsecond
	settleFastPolls = 10 // at settlePoll, then doubling
	settleSlowest   = 5 * time.Millisecond
	// exitTold bounds the wait for the supervisor to say how a daemon
	// that ended during the settle ended (it reaps at once).
	exitTold = 5 * time.Second
)

// ended is the failure of a daemon that ended while it settled, with how
// it ended once its supervisor says.
func (w *watch) ended(ctx context.Context) error {
	if err := w.watchUntil(ctx, time.Now().Add(exitTold)); err != nil {
		return err
	}
	return &died{fmt.Sprintf("the daemon (pid %d) stopped at once (%s did not say how within %s)", w.pid, supervisorOf(w.last), exitTold)}
}

// watchUntil watches the status until the deadline and then looks once
// more (the wait ends at its deadline, not on news); the daemon gone or
// restarted meanwhile is a *died.
func (w *watch) watchUntil(ctx context.Context, deadline time.Time) error {
	if time.Until(deadline) > 0 {
		sctx, cancel := context.WithDeadline(ctx, deadline)
		_, err := w.source().Wait(sctx, "settled", func(info svctl.Info) (bool, error) {
			w.last = info
			return false, w.check(info)
		})
		cancel()
		var d *died
		if errors.As(err, &d) || ctx.Err() != nil {
			return err
		}
	}
	info, err := w.source().Status()
	if err != nil {
		return err
	}
	w.last = info
	return w.check(info)
}

// source is where the watch reads the service's state.
func (w *watch) source() StatusSource {
	if w.src != nil {
		return w.src
	}
	return files{w.service()}
}

// running reports whether pid is a live process, not gone and not a
// zombie its supervisor has yet to reap. It asks through a pidfd, which
// follows the process as a whole: /proc/PID/stat can show a passing
// zombie while a multi-threaded process (sv-exec) execs the daemon.
func running(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return !errors.Is(err, unix.ESRCH)
	}
	defer unix.Close(fd)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err != nil || n == 0 // readable: it has exited
}

func (w *watch) service() svctl.Service {
	return svctl.Service{Name: w.svc.Name, Dir: w.svc.link()}
}

// check fails the start when the status shows the daemon gone, restarted,
// or given up. A status not yet changed by `u` says nothing.
func (w *watch) check(info svctl.Info) error {
	if info.Fatal != "" {
		return &died{"its supervisor gave up: " + info.Fatal}
	}
	if info.State == svdir.PhaseBlocked {
		return &died{"blocked: " + info.Waiting}
	}
	if b, n := w.before.Restarts, info.Restarts; b != nil && n != nil && *n > *b {
		return &died{w.exitReason(info, "and was restarted")}
	}
	switch {
	case info.Up() && info.Supervisor != "sv-scan" && !running(info.Pid):
		// Its supervisor has not seen it end yet (daemontools' supervise
		// sleeps a second after each start): the process says it all.
		// (sv-scan reaps at once and says how it ended: wait for that.)
		return &died{fmt.Sprintf("the daemon stopped at once (pid %d; %s does not say how it exited)", info.Pid, supervisorOf(info))}
	case info.Up():
		if w.pid == 0 && (info.Pid != w.before.Pid || w.before.Up()) {
			w.pid, w.upAt = info.Pid, info.Since
		}
		if w.pid != 0 && info.Pid != w.pid {
			return &died{w.exitReason(info, fmt.Sprintf("and was restarted as pid %d", info.Pid))}
		}
		// Seen, not read from the mark's time: file times are as coarse
		// as the kernel's tick, and a settle must not end early.
		if w.pid != 0 && w.execAt.IsZero() && svdir.Execed(filepath.Join(w.svc.link(), "supervise"), w.pid) {
			w.execAt = time.Now()
		}
	case info.Want == "down" && w.pid != 0:
		// Seen up, now wanted down: stopped by someone else (a stop of
		// the same service, an interrupted start's), not a timeout.
		return &died{"taken down before it was up, ready and settled"}
	case info.Want == "up" && !info.Since.Equal(w.before.Since) && (w.pid != 0 || !info.Since.Before(w.sent)):
		// Wanted up, not running, and its state changed after `u` (not
		// merely a supervisor's first word, or runsv saying "want up"
		// an instant before it starts the daemon): it died, or could not
		// be started at all.
		return &died{w.exitReason(info, "")}
	}
	return nil
}

// exitReason says how the daemon ended, as far as its supervisor tells.
func (w *watch) exitReason(info svctl.Info, then string) string {
	var b strings.Builder
	if info.Error != "" && w.pid == 0 {
		b.WriteString(info.Error)
	} else {
		b.WriteString("the daemon ")
		if e := info.LastExit; e != nil && !e.Unknown {
			fmt.Fprintf(&b, "exited (%s) after %s", svctl.DescribeExit(e), seconds(e.Uptime))
		} else if !w.upAt.IsZero() {
			fmt.Fprintf(&b, "stopped after %s (%s does not say how it exited)", seconds(info.Since.Sub(w.upAt).Seconds()), supervisorOf(info))
		} else {
			fmt.Fprintf(&b, "stopped at once (%s does not say how it exited)", supervisorOf(info))
		}
	}
	if then != "" {
		b.WriteString(" " + then)
	}
	if info.Error != "" && w.pid != 0 {
		b.WriteString(": " + info.Error) // why its supervisor stopped it
	}
	return b.String()
}

func supervisorOf(info svctl.Info) string {
	if info.Supervisor == "" {
		return "its supervisor"
	}
	return info.Supervisor
}

func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%.2fs", s)
}

// fail stops what the failed start left running and adds the log's last
// lines to the reason.
func (w *watch) fail(ctx context.Context, sup Supervisor, err error) error {
	f := &Failure{Service: w.svc.Name, Reason: err.Error()}
	if serr := Stop(context.WithoutCancel(ctx), sup, w.svc); serr != nil {
		f.Reason += "; and stopping it: " + serr.Error()
	}
	f.Log = tail(w.svc.LogDir, logLines)
	return f
}

// tail is the last n lines of a log dir, or none.
func tail(dir string, n int) []string {
	if dir == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := svctl.Tail(dir, n, &buf); err != nil {
		return nil
	}
	text := strings.TrimRight(buf.String(), "\n")
	if text == "" {
		return nil // an empty log: no lines, not one empty line
	}
	return strings.Split(text, "\n")
}

// Stop takes a service down and out of the scan dir: `d` (its supervisor
// sends the stop signal, then CONT), a wait of SVC_STOP_TIMEOUT, KILL to
// its process group after it, then the link goes and the service's own
// supervisor is made to exit.
func Stop(ctx context.Context, sup Supervisor, svc Service) error {
	if _, quick := sup.(okLast); quick {
		return stopQuick(ctx, sup, svc)
	}
	link := svc.link()
	running, err := sup.Supervised(link)
	if err != nil {
		return err
	}
	if running {
		if err := stopDaemon(ctx, sup, svc); err != nil {
			return err
		}
	}
	if err := Unlink(svc.ScanDir, svc.Name); err != nil {
		return fmt.Errorf("%s: unlink: %w", svc.Name, err)
	}
	if !running {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, sup.NoticeDelay()+10*time.Second)
	defer cancel()
	if err := sup.Release(rctx, svc.Dir, svc.ScanDir); err != nil {
		return fmt.Errorf("%s: its supervisor did not exit: %w", svc.Name, err)
	}
	return nil
}

// stopDaemon sends `d` and waits for the daemon to go, with KILL to its
// process group after SVC_STOP_TIMEOUT.
func stopDaemon(ctx context.Context, sup Supervisor, svc Service) error {
	_, err := stopAndTell(ctx, sup, svc)
	return err
}

// Stopped is a service that StopAll stopped: how long it took, and how its
// daemon ended where the supervisor records it (sv-scan does).
type Stopped struct {
	Name    string
	Took    time.Duration
	Timeout time.Duration // its stop timeout
	Exit    *svdir.Exit
}

func (s Stopped) String() string {
	how := ""
	switch e := s.Exit; {
	case e == nil || e.Unknown:
	case e.Signal != "":
		how = ", killed by " + e.Signal
	default:
		how = fmt.Sprintf(", exit %d", e.Code)
	}
	return fmt.Sprintf("%s: stopped in %s%s (stop timeout %s)", s.Name, s.Took.Round(10*time.Millisecond), how, s.Timeout)
}

// stopAndTell is stopDaemon, saying how the stop went.
func stopAndTell(ctx context.Context, sup Supervisor, svc Service) (Stopped, error) {
	began := time.Now()
	link := svc.link()
	timeout := svc.stopTimeout()
	done := Stopped{Name: svc.Name, Timeout: timeout}
	if err := sup.Send(link, "d"); err != nil {
		return done, err
	}
	// The supervisor kills at the timeout itself where it can (sv-scan,
	// s6); a second more lets it, before we do.
	info, err := waitDown(ctx, link, timeout+time.Second)
	for err != nil && info.StopHeld() && ctx.Err() == nil {
		// sv-scan stops what depends on the service first: the stop
		// timeout runs from the service's own signal.
		info, err = waitDown(ctx, link, timeout+time.Second)
	}
	if err != nil {
		if info.Pid > 0 {
			syscall.Kill(-info.Pid, syscall.SIGKILL)
			syscall.Kill(info.Pid, syscall.SIGKILL)
		}
		if info, err = waitDown(ctx, link, 5*time.Second); err != nil {
			return done, fmt.Errorf("%s: still running after KILL: %w", svc.Name, err)
		}
	}
	done.Took, done.Exit = time.Since(began), info.LastExit
	return done, nil
}

func waitDown(ctx context.Context, link string, timeout time.Duration) (svctl.Info, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return svctl.Wait(wctx, svctl.Service{Name: filepath.Base(link), Dir: link}, svctl.WaitDown)
}

// StopAll stops every service linked in scanDir, each within its own stop
// timeout, all at once: what stopping the scanner's OpenRC service does
// first. Where stopping the scanner leaves the supervisors running
// (daemontools), they are made to exit too. stopTimeout gives a service's
// SVC_STOP_TIMEOUT.
func StopAll(ctx context.Context, sup Supervisor, scanDir string, stopTimeout func(name string) time.Duration, report func(Stopped)) error {
	ents, err := os.ReadDir(scanDir)
	if err != nil {
		return err
	}
	errs := make(chan error, len(ents))
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		n++
		name := e.Name()
		go func() {
			link := filepath.Join(scanDir, name)
			if ok, _ := sup.Supervised(link); !ok {
				errs <- nil
				return
			}
			svc := Service{Name: name, ScanDir: scanDir, StopTimeout: stopTimeout(name)}
			done, err := stopAndTell(ctx, sup, svc)
			if err == nil && report != nil {
				report(done)
			}
			if err == nil && !sup.EndsSupervisors() {
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err = sup.Release(rctx, link, scanDir)
				cancel()
			}
			errs <- err
		}()
	}
	var all []error
	for range n {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}
