package vmtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// QEMU is the emulator Start runs.
const QEMU = "qemu-system-x86_64"

// BaseCmdline is where a kernel command line starts: the console on the
// serial port, which is qemu's stdio, and a panic that reboots at once,
// which -no-reboot turns into qemu's exit rather than a hang.
const BaseCmdline = "console=ttyS0 panic=-1"

// What the kernel prints last. With -no-reboot qemu exits 0 after each
// of them, so only the transcript tells a poweroff from a crash.
var (
	PowerDown = regexp.MustCompile(`reboot: Power down`)
	Restart   = regexp.MustCompile(`reboot: Restarting system`)
	Panic     = regexp.MustCompile(`Kernel panic.*`)
	theEnd    = regexp.MustCompile(PowerDown.String() + `|` + Restart.String() + `|` + Panic.String())
)

// Config says what to boot.
type Config struct {
	Kernel   string   // kernel image, for -kernel
	Initrd   string   // gzipped newc cpio (Archive.WriteGzip), for -initrd
	Cmdline  string   // kernel command line, from BaseCmdline on
	MemoryMB int      // guest memory; 0 means 512
	CPUs     int      // -smp; 0 means 1
	Disks    []string // raw images: /dev/vda, /dev/vdb, ... once the guest loads virtio_pci and virtio_blk
	Args     []string // more qemu arguments, appended as given
}

// args is qemu's command line for c.
func (c Config) args() []string {
	memory, cpus := c.MemoryMB, c.CPUs
	if memory == 0 {
		memory = 512
	}
	if cpus == 0 {
		cpus = 1
	}
	args := []string{
		// No default NIC, VGA, floppy or CD-ROM: nothing to probe or
		// load a module for, and the serial port only where we say.
		"-nodefaults", "-no-user-config",
		"-m", strconv.Itoa(memory), "-smp", strconv.Itoa(cpus),
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-kernel", c.Kernel, "-initrd", c.Initrd, "-append", c.Cmdline,
	}
	args = append(args, accelArgs()...)
	for _, disk := range c.Disks {
		args = append(args, "-drive", "file="+disk+",format=raw,if=virtio")
	}
	return append(args, c.Args...)
}

// accelArgs uses KVM where /dev/kvm opens for us, and TCG (emulation)
// elsewhere, as in CI.
func accelArgs() []string {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		return []string{"-accel", "kvm", "-cpu", "host"}
	}
	return []string{"-accel", "tcg"}
}

// VM is a running qemu. Its serial console is a transcript that only
// grows, read by Expect; its stdin is the console's input, for Send.
type VM struct {
	cmd   *exec.Cmd
	stdin *os.File

	mu       sync.Mutex
	out      []byte        // every byte qemu wrote: the serial console, and its own errors
	consumed int           // out[:consumed] is behind the last Expect's match
	changed  chan struct{} // closed, and replaced, when out grows or ends
	outEnded bool          // qemu's stdout is closed: out is complete
	reaped   bool          // qemu was waited for: its pid, the group's id, may be reused

	exited chan struct{} // closed once qemu was reaped
	state  *os.ProcessState
	err    error // from waiting for qemu
}

// Start starts qemu in a process group of its own. The caller must Kill
// it, even after it exited; Boot does that for a test.
func Start(c Config) (*VM, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, err
	}
	cmd := exec.Command(QEMU, c.args()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, outW, outW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	// qemu has its own copies; holding ours would keep outR from EOF.
	stdinR.Close()
	outW.Close()
	if err != nil {
		stdinW.Close()
		outR.Close()
		return nil, err
	}
	vm := &VM{cmd: cmd, stdin: stdinW, changed: make(chan struct{}), exited: make(chan struct{})}
	go vm.readOutput(outR)
	go vm.reap()
	return vm, nil
}

func (vm *VM) readOutput(r *os.File) {
	defer r.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		vm.mu.Lock()
		vm.out = append(vm.out, buf[:n]...)
		if err != nil {
			vm.outEnded = true
		}
		close(vm.changed)
		vm.changed = make(chan struct{})
		vm.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// reap waits for qemu. It first learns of the exit without reaping, so
// that qemu's pid stays taken while it sweeps the group and while Kill
// signals it: -pid cannot be someone else's group.
func (vm *VM) reap() {
	pid := vm.cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	vm.mu.Lock()
	// Whatever qemu started in its group ends with it.
	unix.Kill(-pid, unix.SIGKILL)
	err := vm.cmd.Wait()
	vm.reaped = true
	vm.state, vm.err = vm.cmd.ProcessState, err
	vm.mu.Unlock()
	close(vm.exited)
}

// Transcript is everything qemu wrote so far: the serial console, with
// its \r\n line ends, and qemu's own messages.
func (vm *VM) Transcript() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return string(vm.out)
}

// Expect waits until re matches a line of the output after the previous
// Expect's match, and returns the match and its submatches; the next
// Expect starts after it. Lines are matched without their "\r\n", so $
// is a line's end, ^ its start (or the previous match's end), and a
// match never spans lines; a line still being written (a prompt) is
// matched as it grows. Expect fails, with the transcript's tail, when
// timeout passes or qemu's output ends first.
func (vm *VM) Expect(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	vm.mu.Lock()
	pos := vm.consumed // lines before pos were matched against re already
	vm.mu.Unlock()
	for {
		vm.mu.Lock()
		match := vm.matchLocked(re, &pos)
		ended, changed := vm.outEnded, vm.changed
		vm.mu.Unlock()
		switch {
		case match != nil:
			return match, nil
		case ended:
			return nil, vm.failure(fmt.Sprintf("expect %q: qemu's output ended", re))
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, vm.failure(fmt.Sprintf("expect %q: not seen in %v", re, timeout))
		}
	}
}

// matchLocked matches re against each line from *pos on, moving *pos
// past complete lines that do not match, so that each is scanned once
// however often Expect wakes. A match is consumed up to its end.
func (vm *VM) matchLocked(re *regexp.Regexp, pos *int) []string {
	for *pos < len(vm.out) {
		line := vm.out[*pos:]
		end := bytes.IndexByte(line, '\n')
		if end >= 0 {
			line = line[:end]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if loc := re.FindSubmatchIndex(line); loc != nil {
			vm.consumed = *pos + loc[1]
			return submatches(line, loc)
		}
		if end < 0 {
			return nil // the line is not complete: match it again when it grows
		}
		*pos += end + 1
	}
	return nil
}

func submatches(text []byte, loc []int) []string {
	match := make([]string, len(loc)/2)
	for i := range match {
		if loc[2*i] >= 0 {
			match[i] = string(text[loc[2*i]:loc[2*i+1]])
		}
	}
	return match
}

// Send writes line and a newline to the serial console. Bytes sent
// before the guest opens its console are lost (the UART's FIFO is reset
// then), so Expect a prompt first.
func (vm *VM) Send(line string) error {
	_, err := vm.stdin.WriteString(line + "\n")
	return err
}

// Wait waits up to timeout for qemu to exit and for its output to end,
// and gives its exit code. Killed by a signal, qemu has code -1 and an
// error.
func (vm *VM) Wait(timeout time.Duration) (int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// An exit already seen wins over a timeout already passed, which a
	// select alone would choose between at random.
	select {
	case <-vm.exited:
	default:
		select {
		case <-vm.exited:
		case <-deadline.C:
			return -1, vm.failure(fmt.Sprintf("qemu still running after %v", timeout))
		}
	}
	if err := vm.waitOutputEnd(deadline.C); err != nil {
		return -1, err
	}
	var exitErr *exec.ExitError
	if vm.err != nil && !errors.As(vm.err, &exitErr) {
		return -1, vm.err
	}
	if code := vm.state.ExitCode(); code >= 0 {
		return code, nil
	}
	return -1, vm.failure(fmt.Sprintf("qemu: %v", vm.state))
}

// waitOutputEnd waits for the last of qemu's output, which comes after
// its exit only if something else holds the pipe.
func (vm *VM) waitOutputEnd(deadline <-chan time.Time) error {
	for {
		vm.mu.Lock()
		ended, changed := vm.outEnded, vm.changed
		vm.mu.Unlock()
		if ended {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return vm.failure("qemu exited, but its output did not end")
		}
	}
}

// WaitPoweroff waits up to timeout for the guest to power off: the
// kernel's "reboot: Power down", then qemu's exit 0. A panic or a reboot
// is an error.
func (vm *VM) WaitPoweroff(timeout time.Duration) error {
	start := time.Now()
	match, err := vm.Expect(theEnd, timeout)
	if err != nil {
		return err
	}
	if !PowerDown.MatchString(match[0]) {
		return vm.failure(fmt.Sprintf("the guest did not power off: %q", match[0]))
	}
	code, err := vm.Wait(timeout - time.Since(start))
	if err != nil {
		return err
	}
	if code != 0 {
		return vm.failure(fmt.Sprintf("qemu exited %d after the guest powered off", code))
	}
	return nil
}

// How long Kill gives qemu to exit after SIGTERM, then after SIGKILL.
// A variable for the tests of Kill.
var killGrace = 5 * time.Second

// Kill ends qemu and its process group, if still running: SIGTERM, and
// SIGKILL if qemu has not exited after killGrace. It returns within
// twice killGrace.
func (vm *VM) Kill() {
	vm.stdin.Close()
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGKILL} {
		if !vm.signalGroup(sig) {
			return
		}
		select {
		case <-vm.exited:
			return
		case <-time.After(killGrace):
		}
	}
}

// signalGroup signals qemu's process group unless qemu was reaped,
// which reap does under mu: the group's id is still qemu's.
func (vm *VM) signalGroup(sig unix.Signal) bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.reaped {
		return false
	}
	unix.Kill(-vm.cmd.Process.Pid, sig)
	return true
}

// failure is an error saying what went wrong, then the transcript's last
// lines, which usually say why.
func (vm *VM) failure(what string) error {
	return fmt.Errorf("%s; the console's last lines:\n%s", what, vm.tail(tailLines))
}

const tailLines = 60

func (vm *VM) tail(n int) string {
	text := strings.ReplaceAll(vm.Transcript(), "\r\n", "\n")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// Boot starts qemu for the test t, which fails if qemu does not start.
// When t ends, qemu is killed and the transcript is saved as
// console.log (console-2.log, ...) in t.ArtifactDir(), which go test
// -artifacts keeps.
func Boot(t testing.TB, c Config) *VM {
	t.Helper()
	// Asked for now so that its removal, without -artifacts, comes
	// after the cleanup below that writes to it.
	artifacts := t.ArtifactDir()
	vm, err := Start(c)
	if err != nil {
		t.Fatalf("%s: %v", QEMU, err)
	}
	t.Cleanup(func() {
		vm.Kill()
		saved, err := saveTranscript(artifacts, vm.Transcript())
		switch {
		case err != nil:
			t.Errorf("saving the console transcript: %v", err)
		case t.Failed():
			t.Logf("the console transcript is in %s (go test -artifacts keeps it)", saved)
		}
	})
	return vm
}

// saveTranscript writes text to the first of console.log,
// console-2.log, ... in dir not taken by an earlier VM of the test.
func saveTranscript(dir, text string) (string, error) {
	for i := 1; ; i++ {
		name := "console.log"
		if i > 1 {
			name = fmt.Sprintf("console-%d.log", i)
		}
		file := filepath.Join(dir, name)
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return file, err
	}
}
