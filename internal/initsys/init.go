package initsys

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/proc"
)

// Config is what sv-init runs.
type Config struct {
	Stages  string   // the directory of the stage scripts 1, 2, 3, ctrlaltdel
	Command []string // run as stage 2 instead of the scripts (no stage 1 or 3)
	Mode    Mode     // System or Container (Auto is resolved by the caller)
	Control string   // the control FIFO
	Console io.Writer
	Verbose bool // in a container, log every step too (not only problems)
	// Grace is how long what is left after stage 3 has between TERM and
	// KILL; StopTimeout how long a Command has to exit on TERM.
	Grace       time.Duration
	StopTimeout time.Duration
	// Stage3Timeout bounds stage 3 (0: no bound): past it, stage 3 is
	// ended and the system goes down all the same.
	Stage3Timeout time.Duration
	// Boot and IgnoredArgs come from the kernel's command line (see
	// ParseKernelArgs): the boot asked, and the words that meant nothing.
	Boot        Boot
	IgnoredArgs []string
	// KernelBooted: the kernel started this process as the machine's
	// init (see KernelBooted), not a runtime or a test.
	KernelBooted bool
}

// Defaults for Config's durations. Stage 3 may stop many services one
// after the other, each within its own stop timeout: its bound is there
// for one that hangs (an unmount that waits for a dead server), so that
// a machine asked to reboot does so in the end.
const (
	DefaultGrace         = 5 * time.Second
	DefaultStopTimeout   = 30 * time.Second
	DefaultStage3Timeout = 15 * time.Minute
)

// stage 2 restarts: at once the first time, then doubling up to a cap;
// a stage 2 that ran this long starts the series again.
const (
	restartFirst  = time.Second
	restartCap    = 30 * time.Second
	restartStable = time.Minute
)

type initProc struct {
	cfg      Config
	control  *os.File // the control FIFO being read, nil if none
	reaper   *proc.Reaper
	requests chan Action
	signals  chan os.Signal
	orphan   chan struct{} // an orphan was reaped: something may be left
}

// Run is the life of the system: stages 1, 2 and 3. In System mode it ends
// with reboot(2) and returns only if that fails; in Container mode it
// returns the exit code the container runtime should see.
func Run(cfg Config) int {
	in := &initProc{cfg: cfg, requests: make(chan Action, 4), signals: make(chan os.Signal, 8), orphan: make(chan struct{}, 1)}
	in.say("starting in %s mode (pid %d)", cfg.Mode, os.Getpid())
	if os.Getenv("PATH") == "" {
		os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	os.Setenv("SV_INIT_MODE", cfg.Mode.String())
	// The stages take a machine down (swap, mounts, / read-only) only
	// where the kernel started sv-init: a PID namespace in system mode
	// may well share its host's root filesystem.
	os.Setenv("SV_INIT_BOOTED", map[bool]string{true: "yes", false: "no"}[cfg.KernelBooted])
	if cfg.Mode == System {
		// Ctrl-Alt-Del becomes SIGINT to PID 1 instead of an instant
		// reboot. (A PID namespace's init cannot set it: EINVAL.)
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
	}
	signal.Notify(in.signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPWR, syscall.SIGQUIT)
	r, err := proc.NewReaper(func(proc.Exit) {
		select {
		case in.orphan <- struct{}{}:
		default:
		}
	}, nil)
	if err != nil {
		in.warn("%v", err)
		return 111
	}
	in.reaper = r
	in.listen(false)
	if len(cfg.IgnoredArgs) > 0 {
		in.warn("ignoring the kernel's %s %s: not words sv-init knows (single, emergency, a runlevel)",
			plural(len(cfg.IgnoredArgs), "argument"), QuoteWords(cfg.IgnoredArgs))
	}
	if len(cfg.Command) == 0 {
		if a, code, ok := in.boot(); !ok {
			return in.stage3(a, code, nil)
		}
	}
	a, code, stage2 := in.stage2()
	return in.stage3(a, code, stage2)
}

// boot runs what comes before stage 2: stage 1, and the shell on the
// console an emergency or single-user boot asks for. ok false: go to
// stage 3 with the action and exit code returned.
func (in *initProc) boot() (Action, int, bool) {
	if in.cfg.Boot == BootEmergency {
		if a, code, shutdown := in.shell("emergency boot", "exit it to run stage 1"); shutdown {
			return a, code, false
		}
	}
	if a, code, ok := in.stage1(); !ok {
		return a, code, false
	}
	// Stage 1 may have mounted /run over the FIFO, or made /run writable
	// where it was not.
	in.listen(true)
	if in.cfg.Boot == BootSingle {
		if a, code, shutdown := in.shell("single-user boot", "exit it to start stage 2"); shutdown {
			return a, code, false
		}
	}
	return 0, 0, true
}

// say logs a step: always on a machine's console, where every step of a
// boot and a shutdown is worth a line; in a container only when asked
// (Verbose), so that the runtime's log shows the services, not sv-init.
// listen makes and reads the control FIFO, unless the one being read is
// still at its path. again: this is the second try, after stage 1.
func (in *initProc) listen(again bool) {
	if in.control != nil && sameFile(in.control, in.cfg.Control) {
		return
	}
	f, err := openControl(in.cfg.Control)
	switch {
	case err != nil && !again && len(in.cfg.Command) == 0:
		// a read-only root, before stage 1 mounts /run
		in.say("no control FIFO yet (%v): trying again after stage 1", err)
		return
	case err != nil:
		in.warn("no control FIFO (%v): only signals can end the system", err)
		return
	case again && in.control != nil:
		in.say("control FIFO %s made again (stage 1 mounted over it)", in.cfg.Control)
	case again:
		in.say("control FIFO %s made (after stage 1)", in.cfg.Control)
	}
	in.control = f
	go readControl(f, in.requests)
}

func (in *initProc) say(format string, args ...any) {
	if in.cfg.Mode == System || in.cfg.Verbose {
		in.warn(format, args...)
	}
}

// warn logs what went wrong, or why the system ends, in every mode.
func (in *initProc) warn(format string, args ...any) {
	fmt.Fprintf(in.cfg.Console, "sv-init: "+format+"\n", args...)
}

// start runs a stage script (or the command) with the console as its
// standard input and output.
func (in *initProc) start(argv []string, env ...string) (*proc.Process, error) {
	path, err := exec.LookPath(argv[0]) // a stage script has a slash: as is
	if err != nil {
		return nil, err
	}
	return in.reaper.Start(proc.Spec{
		Path: path, Argv: argv, Env: append(os.Environ(), env...),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}, CgroupFD: -1,
	})
}

// startOnConsole starts a shell on the console as its controlling
// terminal, so that it has job control and ^C. Where the console cannot
// be one, the shell runs without.
func (in *initProc) startOnConsole(argv []string) (*proc.Process, error) {
	spec := proc.Spec{
		Path: argv[0], Argv: argv, Env: os.Environ(),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}, CgroupFD: -1, Ctty: true,
	}
	if p, err := in.reaper.Start(spec); err == nil {
		return p, nil
	}
	spec.Ctty = false
	return in.reaper.Start(spec)
}

func (in *initProc) script(name string) string { return filepath.Join(in.cfg.Stages, name) }

// await waits for p to exit. A shutdown asked first (through the control
// FIFO, or by a signal) stops p's process group with stop (then KILL)
// and is returned instead, with shutdown true.
func (in *initProc) await(p *proc.Process, what string, stop syscall.Signal) (e proc.Exit, a Action, code int, shutdown bool) {
	for {
		select {
		case e := <-p.Exit:
			return e, 0, 0, false
		case a := <-in.requests:
			in.say("%s requested during %s: stopping it", a, what)
			in.endGroup(p, DefaultGrace, stop)
			return proc.Exit{}, a, 0, true
		case sig := <-in.signals:
			if a, code, ok := in.signalAction(sig); ok {
				in.say("%s during %s: stopping it", unix.SignalName(sig.(syscall.Signal)), what)
				in.endGroup(p, DefaultGrace, stop)
				return proc.Exit{}, a, code, true
			}
		}
	}
}

// shell runs a shell on the console and waits for it to exit: then says
// what comes next. A shutdown asked meanwhile ('sv-init poweroff' typed
// in it, a signal) ends it and is returned, with shutdown true.
func (in *initProc) shell(why, then string) (a Action, code int, shutdown bool) {
	const sh = "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		in.warn("%s: no %s for a shell on the console", why, sh)
		return 0, 0, false
	}
	off := "type 'sv-init poweroff'"
	if in.control == nil { // no FIFO to ask through: a signal
		off = "type 'kill -USR2 1' to power off"
	}
	in.warn("%s: a shell on the console; %s, or %s", why, then, off)
	p, err := in.startOnConsole([]string{sh, "-l"})
	if err != nil {
		in.warn("%s: %s: %v", why, sh, err)
		return 0, 0, false
	}
	// An interactive shell ignores TERM; a hangup ends it, as when its
	// terminal goes away.
	_, a, code, shutdown = in.await(p, "the shell", syscall.SIGHUP)
	return a, code, shutdown
}

// stage1 runs stages/1 to its end. ok false: go to stage 3 with the
// action and exit code returned.
func (in *initProc) stage1() (Action, int, bool) {
	in.say("stage 1: %s", in.script("1"))
	p, err := in.start([]string{in.script("1")})
	if err != nil {
		in.warn("stage 1: %v", unwrapPath(err))
		return in.stage1Failed(111)
	}
	e, a, code, shutdown := in.await(p, "stage 1", syscall.SIGTERM)
	switch {
	case shutdown:
		return a, code, false
	case e.Code() != 0:
		in.warn("stage 1 failed (%s)", e)
		return in.stage1Failed(exitCode(e))
	}
	return 0, 0, true
}

// stage1Failed offers an emergency shell on a machine's console; then, or
// at once in a container, the system ends.
func (in *initProc) stage1Failed(code int) (Action, int, bool) {
	if in.cfg.Mode == Container {
		return Poweroff, code, false
	}
	if a, c, shutdown := in.shell("stage 1 failed", "exit it to reboot"); shutdown {
		return a, c, false
	}
	return Reboot, code, false
}

// stage2 runs stages/2 (or the command) and starts it again when it dies,
// until a shutdown is asked. It returns the action, the exit code for a
// container, and stage 2 if it still runs.
func (in *initProc) stage2() (Action, int, *proc.Process) {
	argv := in.cfg.Command
	if len(argv) == 0 {
		argv = []string{in.script("2")}
	}
	delay := time.Duration(0)
	for {
		in.say("stage 2: %s", argv[0])
		began := time.Now()
		p, err := in.start(argv)
		if err != nil {
			in.warn("stage 2: %v", unwrapPath(err))
			if in.cfg.Mode == Container {
				return Poweroff, 127, nil
			}
		}
		var exit <-chan proc.Exit
		if p != nil {
			exit = p.Exit
		}
		for waiting := true; waiting; {
			select {
			case e := <-exit:
				if in.cfg.Mode == Container {
					say := in.say
					if exitCode(e) != 0 {
						say = in.warn // why the container ends
					}
					say("stage 2 ended (%s): shutting down", e)
					return Poweroff, exitCode(e), nil
				}
				if time.Since(began) >= restartStable {
					delay = 0
				}
				in.warn("stage 2 ended (%s): starting it again in %s", e, delay)
				waiting = false
			case a := <-in.requests:
				return a, 0, p
			case sig := <-in.signals:
				if a, code, ok := in.signalAction(sig); ok {
					return a, code, p
				}
			}
		}
		if a, code, ok := in.pause(delay); ok {
			return a, code, nil
		}
		delay = min(max(2*delay, restartFirst), restartCap)
	}
}

// pause waits d before stage 2 starts again, unless a shutdown comes first.
func (in *initProc) pause(d time.Duration) (Action, int, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return 0, 0, false
		case a := <-in.requests:
			return a, 0, true
		case sig := <-in.signals:
			if a, code, ok := in.signalAction(sig); ok {
				return a, code, true
			}
		}
	}
}

// signalAction maps a signal to a shutdown. On a machine: SIGINT is
// Ctrl-Alt-Del (stages/ctrlaltdel runs, then a reboot), SIGTERM reboots,
// SIGUSR1 halts, SIGUSR2 and SIGPWR power off (busybox init's signals).
// In a container SIGTERM, SIGINT, SIGHUP and SIGQUIT shut down with exit
// code 128+signal, as a runtime expects.
func (in *initProc) signalAction(sig os.Signal) (Action, int, bool) {
	s := sig.(syscall.Signal)
	if in.cfg.Mode == Container {
		switch s {
		case syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
			in.say("%s: shutting down", unix.SignalName(s))
			return Poweroff, 128 + int(s), true
		}
	}
	switch s {
	case syscall.SIGINT:
		in.ctrlAltDel()
		return Reboot, 0, true
	case syscall.SIGTERM:
		return Reboot, 0, true
	case syscall.SIGUSR1:
		return Halt, 0, true
	case syscall.SIGUSR2, syscall.SIGPWR:
		return Poweroff, 0, true
	}
	return 0, 0, false
}

// ctrlAltDel runs stages/ctrlaltdel, if there is one, before the reboot.
func (in *initProc) ctrlAltDel() {
	path := in.script("ctrlaltdel")
	if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 || len(in.cfg.Command) > 0 {
		in.say("Ctrl-Alt-Del: rebooting")
		return
	}
	in.say("Ctrl-Alt-Del: %s", path)
	if p, err := in.start([]string{path}); err == nil {
		<-p.Exit
	}
}

// stage3 ends the system: stages/3 (or TERM to the command), then TERM and
// KILL to whatever is left, sync, and reboot(2) on a machine; the exit
// code in a container.
func (in *initProc) stage3(a Action, code int, stage2 *proc.Process) int {
	if len(in.cfg.Command) > 0 {
		if stage2 != nil {
			in.say("%s: stopping %s", a, in.cfg.Command[0])
			in.endGroup(stage2, in.cfg.StopTimeout, syscall.SIGTERM)
		}
	} else {
		in.say("%s: stage 3: %s", a, in.script("3"))
		if p, err := in.start([]string{in.script("3"), a.String()}, "SV_INIT_ACTION="+a.String()); err != nil {
			in.warn("stage 3: %v", unwrapPath(err))
		} else {
			in.awaitStage3(p)
		}
	}
	in.endRest()
	in.say("syncing disks")
	unix.Sync()
	if in.cfg.Mode == Container {
		in.say("%s: exit %d", a, code)
		return code
	}
	in.say("%s", a)
	err := unix.Reboot(a.RebootCmd())
	in.warn("%s: reboot(2): %v", a, err)
	select {} // PID 1 must not exit
}

// awaitStage3 waits for stage 3 to end. A shutdown asked again meanwhile
// (a request, a signal), or Stage3Timeout, ends stage 3 at once: one
// that hangs (unmounting what a dead server holds) must not keep the
// machine up for ever. The signals stay caught, not ignored: an ignored
// signal would stay ignored in everything stage 3 starts.
func (in *initProc) awaitStage3(p *proc.Process) {
	var timeout <-chan time.Time
	if in.cfg.Stage3Timeout > 0 {
		t := time.NewTimer(in.cfg.Stage3Timeout)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case e := <-p.Exit:
			if e.Code() != 0 {
				in.warn("stage 3 failed (%s)", e)
			}
			return
		case <-timeout:
			in.warn("stage 3 still runs after %s: ending it now", in.cfg.Stage3Timeout)
		case again := <-in.requests:
			in.warn("%s asked during stage 3: ending stage 3 now", again)
		case sig := <-in.signals:
			if !in.shutdownSignal(sig.(syscall.Signal)) {
				continue
			}
			in.warn("%s during stage 3: ending stage 3 now", unix.SignalName(sig.(syscall.Signal)))
		}
		in.endGroup(p, DefaultGrace, syscall.SIGTERM)
		return
	}
}

// shutdownSignal reports whether sig asks PID 1 to end the system (see
// signalAction).
func (in *initProc) shutdownSignal(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGINT, syscall.SIGTERM:
		return true
	case syscall.SIGHUP, syscall.SIGQUIT:
		return in.cfg.Mode == Container
	case syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPWR:
		return in.cfg.Mode == System
	}
	return false
}

// RebootCmd is reboot(2)'s command for a.
func (a Action) RebootCmd() int {
	switch a {
	case Reboot:
		return unix.LINUX_REBOOT_CMD_RESTART
	case Halt:
		return unix.LINUX_REBOOT_CMD_HALT
	}
	return unix.LINUX_REBOOT_CMD_POWER_OFF
}

// endGroup sends stop (and CONT) to p's process group and KILL after
// timeout, and waits for p's exit.
func (in *initProc) endGroup(p *proc.Process, timeout time.Duration, stop syscall.Signal) {
	proc.SignalGroup(p.Pid, stop)
	proc.SignalGroup(p.Pid, syscall.SIGCONT)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.Exit:
		return
	case <-t.C:
		in.warn("pid %d still runs after %s: KILL", p.Pid, timeout)
		proc.SignalGroup(p.Pid, syscall.SIGKILL)
	}
	<-p.Exit
}

// endRest sends TERM to every process left, then KILL after the grace
// period. Only PID 1 may: kill(-1) from anything else would reach the
// whole machine's processes.
func (in *initProc) endRest() {
	if os.Getpid() != 1 {
		return
	}
	left := leftovers()
	if left == "" {
		return
	}
	in.say("sending TERM to what is left: %s", left)
	unix.Kill(-1, unix.SIGTERM)
	unix.Kill(-1, unix.SIGCONT)
	if left = in.waitNoneLeft(in.cfg.Grace); left == "" {
		return
	}
	in.warn("sending KILL to what is left after %s: %s", in.cfg.Grace, left)
	unix.Kill(-1, unix.SIGKILL)
	in.waitNoneLeft(5 * time.Second)
}

// leftovers names the processes left but PID 1 and the kernel's threads,
// "" when there is none. Without a /proc of this PID namespace (where
// /proc/self is PID 1's own number; a container may have its host's),
// kill(-1, 0) tells whether anything at all is left, the kernel's
// threads included, and cannot say what.
func leftovers() string {
	if self, _ := os.Readlink("/proc/self"); self == strconv.Itoa(os.Getpid()) {
		if left, err := proc.Leftovers("/proc"); err == nil {
			return proc.JoinLeftovers(left, 8)
		}
	}
	if errors.Is(unix.Kill(-1, 0), unix.ESRCH) {
		return ""
	}
	return "processes (no /proc to name them)"
}

// waitNoneLeft waits until no process is left or d has passed, and
// names what is left: woken by each orphan reaped, and every 50ms for
// the processes whose end reaches no one here (reaped by their own
// parent).
func (in *initProc) waitNoneLeft(d time.Duration) string {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if leftovers() == "" {
			return ""
		}
		select {
		case <-in.orphan:
		case <-tick.C:
		case <-deadline.C:
			return leftovers()
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return what
	}
	return what + "s"
}

// exitCode is what a container runtime should see for a process's end.
func exitCode(e proc.Exit) int {
	if s := e.Signal(); s != 0 {
		return 128 + int(s)
	}
	return e.Code()
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
