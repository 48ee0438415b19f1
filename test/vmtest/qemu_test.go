package vmtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeQEMU puts a shell script named qemu-system-x86_64 first on PATH,
// so that VM's plumbing is tested in milliseconds and without a kernel.
func fakeQEMU(t *testing.T, script string) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, QEMU), "#!/bin/sh\n"+script, 0o755)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

func bootFake(t *testing.T) *VM {
	return Boot(t, Config{Kernel: "vmlinuz", Initrd: "initrd.gz", Cmdline: BaseCmdline})
}

func TestExpectSendWait(t *testing.T) {
	fakeQEMU(t, `printf 'boot\r\nlogin: '
read -r name
printf 'got %s\r\n' "$name"
printf 'markers: A1 A2\r\n'
exit 7
`)
	vm := bootFake(t)
	// A prompt is matched before its line ends.
	if _, err := vm.Expect(regexp.MustCompile(`^login: $`), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := vm.Send("someone"); err != nil {
		t.Fatal(err)
	}
	match, err := vm.Expect(regexp.MustCompile(`^got (\w+)$`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(match, []string{"got someone", "someone"}) {
		t.Errorf("match %q", match)
	}
	// Each Expect starts after the last match, even within a line.
	for _, want := range []string{"A1", "A2"} {
		if match, err := vm.Expect(regexp.MustCompile(`A\d`), 10*time.Second); err != nil || match[0] != want {
			t.Fatalf("Expect = %q, %v; want %s", match, err, want)
		}
	}
	if code, err := vm.Wait(10 * time.Second); code != 7 || err != nil {
		t.Errorf("Wait = %d, %v; want 7", code, err)
	}
	if got, want := vm.Transcript(), "boot\r\nlogin: got someone\r\nmarkers: A1 A2\r\n"; got != want {
		t.Errorf("Transcript = %q, want %q", got, want)
	}
}

// A failed Expect says so as soon as qemu's output ends, not at the
// timeout, and shows the last 60 lines.
func TestExpectFailsWhenOutputEnds(t *testing.T) {
	fakeQEMU(t, `i=1; while [ $i -le 100 ]; do printf 'line %d\r\n' $i; i=$((i+1)); done`)
	vm := bootFake(t)
	start := time.Now()
	_, err := vm.Expect(regexp.MustCompile(`never`), time.Minute)
	if err == nil || time.Since(start) > 30*time.Second {
		t.Fatalf("Expect = %v after %v", err, time.Since(start))
	}
	msg := err.Error()
	if !strings.Contains(msg, "output ended") || !strings.Contains(msg, "\tline 41\n") ||
		!strings.HasSuffix(msg, "\tline 100") || strings.Contains(msg, "line 40\n") {
		t.Errorf("Expect's error:\n%s", msg)
	}
}

func TestExpectTimesOut(t *testing.T) {
	fakeQEMU(t, "echo up; read -r line\n")
	vm := bootFake(t)
	_, err := vm.Expect(regexp.MustCompile(`never`), 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not seen in 200ms") || !strings.Contains(err.Error(), "\tup") {
		t.Errorf("Expect = %v, want a timeout and the transcript", err)
	}
	if _, err := vm.Wait(100 * time.Millisecond); err == nil {
		t.Error("Wait on a qemu that runs on did not time out")
	}
}

// Kill ends a qemu that ignores SIGTERM, and what it left in its
// process group, within its bound.
func TestKillEscalates(t *testing.T) {
	defer func(grace time.Duration) { killGrace = grace }(killGrace)
	killGrace = 300 * time.Millisecond
	fakeQEMU(t, `trap '' TERM
sleep 1000 &
echo "child $!"
wait
`)
	vm := bootFake(t)
	match, err := vm.Expect(regexp.MustCompile(`^child (\d+)$`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(match[1])
	start := time.Now()
	vm.Kill()
	if took := time.Since(start); took < killGrace || took > 2*killGrace+time.Second {
		t.Errorf("Kill took %v, want about %v: SIGTERM ignored, then SIGKILL", took, killGrace)
	}
	if code, err := vm.Wait(time.Second); code != -1 || err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Wait = %d, %v; want -1 and killed", code, err)
	}
	if !exitsWithin(child, 5*time.Second) {
		t.Errorf("qemu's child %d outlived Kill", child)
	}
}

// exitsWithin says whether pid exits within timeout, woken by its pidfd,
// which turns readable at the exit whoever reaps it (PID 1 in a
// container may not).
func exitsWithin(pid int, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(timeout.Milliseconds()))
	return err == nil && n == 1
}

// A kernel's last words tell a poweroff from a panic or a reboot, though
// qemu exits 0 after each.
func TestWaitPoweroff(t *testing.T) {
	for _, c := range []struct {
		name, script, wantErr string
	}{
		{"poweroff", `printf '[    2.3] reboot: Power down\r\n'`, ""},
		{"panic", `printf 'Kernel panic - not syncing: Attempted to kill init!\r\n'`, "did not power off: \"Kernel panic - not syncing: Attempted to kill init!\""},
		{"reboot", `printf 'reboot: Restarting system\r\n'`, "did not power off"},
		{"exit code", `printf 'reboot: Power down\r\n'; exit 1`, "qemu exited 1"},
		{"silence", `exit 0`, "output ended"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeQEMU(t, c.script+"\n")
			err := bootFake(t).WaitPoweroff(10 * time.Second)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("WaitPoweroff: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("WaitPoweroff = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestConfigArgs(t *testing.T) {
	args := strings.Join(Config{
		Kernel: "k", Initrd: "i", Cmdline: "console=ttyS0 quiet", CPUs: 2,
		Disks: []string{"/d/root.img", "/d/data.img"}, Args: []string{"-cpu", "max"},
	}.args(), " ")
	for _, want := range []string{
		"-m 512 -smp 2 ",
		"-display none -serial stdio -monitor none -no-reboot ",
		"-kernel k -initrd i -append console=ttyS0 quiet ",
		"-drive file=/d/root.img,format=raw,if=virtio -drive file=/d/data.img,format=raw,if=virtio -cpu max",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("qemu %s\nlacks %q", args, want)
		}
	}
	if _, err := os.Stat("/dev/kvm"); err != nil && !strings.Contains(args, "-accel tcg") {
		t.Errorf("no /dev/kvm, and no -accel tcg: %s", args)
	}
}

func TestSaveTranscriptNumbersFiles(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"console.log", "console-2.log", "console-3.log"} {
		file, err := saveTranscript(dir, "boot "+strconv.Itoa(i)+"\r\n")
		if err != nil || file != filepath.Join(dir, want) {
			t.Fatalf("saveTranscript = %s, %v; want %s", file, err, want)
		}
		if data, _ := os.ReadFile(file); string(data) != "boot "+strconv.Itoa(i)+"\r\n" {
			t.Errorf("%s holds %q", file, data)
		}
	}
}

// Require skips when qemu is missing, or fails with
// SV_TEST_REQUIRE_PEERS=1.
func TestRequireWithoutQEMU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct{ env, skip, fatal string }{
		{"", "cannot boot a VM: " + QEMU + " is not installed", ""},
		{"1", "", "cannot boot a VM: " + QEMU + " is not installed"},
	} {
		t.Setenv("SV_TEST_REQUIRE_PEERS", c.env)
		tb := &recordingTB{TB: t}
		Require(tb)
		if !strings.HasPrefix(tb.skip, c.skip) || !strings.HasPrefix(tb.fatal, c.fatal) {
			t.Errorf("SV_TEST_REQUIRE_PEERS=%q: skip %q, fatal %q", c.env, tb.skip, tb.fatal)
		}
	}
}

// recordingTB records a skip or failure instead of ending the test.
type recordingTB struct {
	testing.TB
	skip, fatal string
}

func (r *recordingTB) Skip(args ...any)                  { r.skip = fmt.Sprint(args...) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
