package boottest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/test/vmtest"
)

// rootfsTarball is Debian bookworm's essential packages with openrc, as
// scripts/test-rootfs builds it (scripts/test-deps calls it, as root).
const rootfsTarball = "/var/cache/supervision-tests/bookworm-openrc.tar"

// openrcBootTimeout bounds the boot from qemu's start to its exit: 22 to
// 31 s here, 37 to 57 s with both cores kept busy beside it, as CI's 2
// are by the other test packages (OpenRC's shell scripts, under TCG).
const openrcBootTimeout = 150 * time.Second

// openrcInit is the initramfs's /init: what Debian's initramfs-tools
// would do for this machine, in short. It loads the modules for an ext4
// root on a virtio disk, mounts the root read-write (no service of this
// minimal OpenRC remounts it so, and an sv.NAME's first start writes
// /etc/sv/NAME/down), moves /dev, /proc and /sys into it, and runs its
// /sbin/init with a clean environment. virtio_blk's probe has made
// /dev/vda by the time modprobe returns. A failure powers off: the
// console's stdin is a pipe, a rescue shell would only hang the test
// until its bound.
const openrcInit = `#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# crc32c_generic: ext4 asks for crc32c when it mounts, and qemu's CPU has
# no SSE4.2 for crc32c-intel
for m in virtio_pci virtio_blk crc32c_generic ext4; do
	modprobe $m || echo "initramfs: cannot load $m"
done
mkdir -p /newroot
if ! mount -t ext4 -o rw /dev/vda /newroot; then
	echo "initramfs: cannot mount /dev/vda on /newroot: powering off"
	exec poweroff -f
fi
for d in /dev /proc /sys; do mount --move $d /newroot$d; done
exec env -i HOME=/ TERM=linux /sbin/switch_root /newroot /sbin/init
`

// vmtestService is /etc/init.d/vmtest, an OpenRC service last in the
// default runlevel: it reports on the console what OpenRC and the suite
// say of hello, then powers the machine off through sv-init, in the
// background, while OpenRC may still be finishing the runlevel: stage 3
// waits for that before OpenRC's shutdown, which would otherwise fail to
// lock this service ("Call to flock failed").
const vmtestService = `#!/sbin/openrc-run
description="TestBootOpenRC: report, then power off"
depend() { after *; }
start() {
	echo "vmtest: the default runlevel is up"
	rc-service sv.hello status
	echo "vmtest: rc-service sv.hello status: exit $?"
	sv-ctl status hello
	echo "vmtest: sv-ctl status hello: exit $?"
	sv-init poweroff </dev/null >/dev/console 2>&1 &
}
`

// The Debian image the test boots, built once per test binary's run.
var openrcBuilt struct {
	sync.Once
	root, kernel, initrd string
	err                  error
}

// TestBootOpenRC boots a root filesystem of Debian's packages from a
// virtio disk, with sv-init as /sbin/init: OpenRC's sysinit and boot
// runlevels run as stage 1, its default runlevel under stage 2 starts
// the supervised sv.hello through sv-rc, and stage 3 runs its shutdown
// runlevel, then leaves the disk clean.
func TestBootOpenRC(t *testing.T) {
	k, bb := vmtest.Require(t)
	if _, err := os.Stat(rootfsTarball); err != nil {
		missingRootfs(t, "no Debian root filesystem: %v (scripts/test-rootfs builds it, as root)", err)
	}
	if os.Geteuid() != 0 {
		missingRootfs(t, "unpacking %s with its owners and devices needs root", rootfsTarball)
	}
	began := time.Now()
	openrcBuilt.Do(func() {
		openrcBuilt.root, openrcBuilt.kernel, openrcBuilt.initrd, openrcBuilt.err = buildOpenRC(t, filepath.Join(workDir, "openrc"), k, bb)
	})
	if openrcBuilt.err != nil {
		t.Fatal(openrcBuilt.err)
	}

	// A disk of its own for each boot, made from the tree without
	// mounting it; 512M sparse.
	disk := filepath.Join(t.TempDir(), "root.img")
	phase := time.Now()
	if err := runFor(time.Minute, "mkfs.ext4", "-q", "-d", openrcBuilt.root, disk, "512M"); err != nil {
		t.Fatal(err)
	}
	t.Logf("mkfs.ext4 -d: %v", time.Since(phase).Round(time.Millisecond))

	booted := time.Now()
	deadline := booted.Add(openrcBootTimeout)
	vm := vmtest.Boot(t, vmtest.Config{
		Kernel: openrcBuilt.kernel, Initrd: openrcBuilt.initrd, Disks: []string{disk},
		Cmdline: vmtest.BaseCmdline, MemoryMB: 1024,
	})
	// Each step is a pattern to wait for, in order, and the name its time
	// is logged under. OpenRC colours its output (TERM=linux): esc
	// matches the escape sequences between the words.
	const esc = `(?:\x1b\[[0-9;]*[A-Za-z])*`
	steps := []struct{ name, pattern string }{
		{"kernel to sv-init", `^sv-init: starting in system mode \(pid 1\)$`},
		{"", `^sv-init: stage 1: /etc/sv-init/1$`},
		{"", `OpenRC ` + esc + `[0-9.]+` + esc + ` is starting up`},
		{"stage 1 (OpenRC's sysinit and boot)", `^sv-init: stage 2: /etc/sv-init/2$`},
		{"", ` Starting hello` + esc + ` \.\.\.`},
		{"stage 2 to hello up", `\[` + esc + ` (ok|!!) ` + esc + `\]`},
		{"hello up to the default runlevel", `^vmtest: the default runlevel is up$`},
		{"", `^vmtest: rc-service sv.hello status: exit 0$`},
		{"", `^hello +` + esc + `up `},
		{"", `^vmtest: sv-ctl status hello: exit 0$`},
		{"vmtest's report to stage 3", `^stage 3: stopping every supervised service$`},
		{"", ` Stopping hello` + esc + ` \.\.\.`},
		{"OpenRC stopping hello", `\[` + esc + ` (ok|!!) ` + esc + `\]`},
		{"the rest of OpenRC's shutdown, the scanner", `^stage 3: scanner stopped$`},
		{"stage 3's teardown to / read-only", `^stage 3: / is read-only$`},
	}
	phase = booted
	for _, s := range steps {
		m, err := vm.Expect(regexp.MustCompile(s.pattern), time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) > 1 && m[1] == "!!" {
			t.Fatalf("OpenRC failed a service; the console's last lines:\n%s", tail(vm.Transcript(), 30))
		}
		if s.name != "" {
			t.Logf("%s: %v", s.name, time.Since(phase).Round(time.Millisecond))
			phase = time.Now()
		}
	}
	if err := vm.WaitPoweroff(time.Until(deadline)); err != nil {
		t.Fatal(err)
	}
	t.Logf("to power down and qemu's exit: %v", time.Since(phase).Round(time.Millisecond))
	t.Logf("boot: %v from qemu's start to its exit", time.Since(booted).Round(time.Millisecond))

	transcript := regexp.MustCompile(esc).ReplaceAllString(strings.ReplaceAll(vm.Transcript(), "\r\n", "\n"), "")
	// The service's first words come while OpenRC starts it, before or
	// after OpenRC's [ ok ]: in order with the steps only around it.
	start, hello, up := strings.Index(transcript, " Starting hello ..."),
		strings.Index(transcript, "\nhello: hello from debian\n"), strings.Index(transcript, "\nvmtest: the default runlevel is up\n")
	if hello < 0 || hello < start || hello > up {
		t.Errorf("the console does not say \"hello: hello from debian\" between OpenRC's start of hello and vmtest's report")
	}
	// OpenRC's eerror marks its line with a red star, whatever it says
	// ("Call to flock failed", "ERROR: sv.hello failed to start").
	if m := regexp.MustCompile(`(?m)^ \x1b\[[0-9;]*31m\*(.*)$`).FindStringSubmatch(strings.ReplaceAll(vm.Transcript(), "\r\n", "\n")); m != nil {
		t.Errorf("OpenRC reports an error: %s", regexp.MustCompile(esc).ReplaceAllString(m[1], ""))
	}
	for _, bad := range []string{"sending TERM", "sending KILL", "Kernel panic", "ERROR:", "initramfs: cannot"} {
		if strings.Contains(transcript, bad) {
			t.Errorf("the console says %q", lineWith(transcript, bad))
		}
	}
	if failed := regexp.MustCompile(`(?m)^(stage \d|sv-init|sv-rc|sv-scan)\b.*(failed|cannot|error).*`).FindString(transcript); failed != "" {
		t.Error(failed)
	}

	// Stage 3 made / read-only before the power went: the filesystem is
	// clean, with no journal to replay, and fsck finds nothing to mend.
	phase = time.Now()
	out, err := outputFor(time.Minute, "dumpe2fs", "-h", disk)
	if err != nil {
		t.Fatal(err)
	}
	if state := headerField(out, "Filesystem state"); state != "clean" {
		t.Errorf("after the poweroff, dumpe2fs says the filesystem state is %q, not clean", state)
	}
	if features := headerField(out, "Filesystem features"); strings.Contains(features, "needs_recovery") {
		t.Errorf("after the poweroff, the journal needs recovery: %s", features)
	}
	if err := runFor(time.Minute, "e2fsck", "-f", "-n", disk); err != nil {
		t.Error(err)
	}
	// hello logs to the console (LOG=console): nothing of it is on the
	// disk. Stage 3 saved the random seed last, just before / went
	// read-only: it is there, whole.
	if out, err := outputFor(time.Minute, "debugfs", "-R", "stat /var/lib/misc/random-seed", disk); err != nil || !regexp.MustCompile(`Size: 512\b`).MatchString(out) {
		t.Errorf("after the poweroff, debugfs finds no 512-byte /var/lib/misc/random-seed (stage 3's): %v\n%s", err, out)
	}
	t.Logf("dumpe2fs, e2fsck, debugfs: %v", time.Since(phase).Round(time.Millisecond))
	t.Logf("total: %v", time.Since(began).Round(time.Millisecond))
}

// missingRootfs skips t, or fails it with SV_TEST_REQUIRE_PEERS=1, as
// vmtest.Require does for what a boot needs.
func missingRootfs(t *testing.T, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if os.Getenv("SV_TEST_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s, and SV_TEST_REQUIRE_PEERS=1", what)
	}
	t.Skip(what)
}

// buildOpenRC makes, in dir, the Debian tree with the suite in it and
// the initramfs that boots it, as a distribution builder would: Debian's
// tree unpacked, `make install DESTDIR=`, hello made and enabled by
// `sv-gen --sysroot`, and the runlevel links rc-update would make, all
// from outside (no chroot). It returns the tree, the kernel and the
// initramfs.
func buildOpenRC(t *testing.T, dir string, k vmtest.Kernel, bb vmtest.Busybox) (root, kernel, initrd string, err error) {
	b := &builder{}
	root = filepath.Join(dir, "root")
	phase := time.Now()
	b.do(os.MkdirAll(root, 0o755))
	// --numeric-owner: the image's ids, whatever this machine's
	// /etc/passwd calls them.
	b.runFor(2*time.Minute, "tar", "-x", "-p", "--numeric-owner", "-f", rootfsTarball, "-C", root)
	t.Logf("unpacking the Debian tree: %v", time.Since(phase).Round(time.Millisecond))

	phase = time.Now()
	b.runFor(5*time.Minute, "make", "-C", "../..", "install", "DESTDIR="+root, "PREFIX=/usr")
	// hwclock.sh, in Debian's sysinit runlevel, needs mountdevsubfs, which
	// only Debian's initscripts (not installed) provide: OpenRC would fail
	// it, and warn of the missing dependency while it is in init.d.
	b.do(os.Remove(filepath.Join(root, "etc/runlevels/sysinit/hwclock.sh")))
	b.do(os.Remove(filepath.Join(root, "etc/init.d/hwclock.sh")))
	// Debian's tree has no /sbin/init with openrc alone; its /sbin is a
	// relative link to usr/sbin, so this stays in the tree.
	b.do(os.Symlink("/usr/bin/sv-init", filepath.Join(root, "sbin/init")))
	b.write(filepath.Join(root, "etc/init.d/vmtest"), vmtestService)

	gen := filepath.Join(root, "usr/bin/sv-gen")
	b.runFor(time.Minute, gen, "--sysroot", root, "add", "hello", "--set", "LOG=console", "--",
		"/bin/sh", "-c", "echo hello from debian; exec sleep 100000")
	b.runFor(time.Minute, gen, "--sysroot", root, "enable", "--openrc", "hello")
	if b.err == nil {
		b.err = checkInImage(root)
	}
	for _, name := range []string{"supervision", "sv.hello", "vmtest"} {
		b.do(os.Symlink("/etc/init.d/"+name, filepath.Join(root, "etc/runlevels/default", name)))
	}
	t.Logf("make install, sv-gen --sysroot: %v", time.Since(phase).Round(time.Millisecond))

	phase = time.Now()
	a := vmtest.NewArchive()
	vmtest.AddSkeleton(a)
	b.do(bb.Install(a))
	b.do(k.AddModules(a, "virtio_pci", "virtio_blk", "crc32c_generic", "ext4"))
	a.Dir("newroot", 0o755)
	a.File("init", []byte(openrcInit), 0o755)
	initrd = filepath.Join(dir, "initrd.gz")
	b.do(a.WriteGzip(initrd))
	// The uncompressed kernel boots in half the time under TCG; TestBoot
	// may have extracted it already, where this looks.
	kernel = k.Image
	shared := filepath.Join(workDir, "image")
	if err := os.MkdirAll(shared, 0o755); err == nil {
		if vmlinux, err := k.Vmlinux(shared); err == nil {
			kernel = vmlinux
		}
	}
	t.Logf("initramfs, kernel: %v", time.Since(phase).Round(time.Millisecond))
	return root, kernel, initrd, b.err
}

// checkInImage checks what sv-gen wrote in the tree for hello against
// the tree, not this machine: its command is there (SVC_CMD), and
// sv.hello is OpenRC's supervision service under another name.
func checkInImage(root string) error {
	options, err := os.ReadFile(filepath.Join(root, "etc/sv/hello/OPTIONS"))
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`(?m)^SVC_CMD=(.*)$`).FindSubmatch(options)
	if m == nil {
		return fmt.Errorf("sv-gen --sysroot: no SVC_CMD in etc/sv/hello/OPTIONS:\n%s", options)
	}
	// The image's /bin, and its sh -> dash, are relative links: they
	// resolve inside root from here.
	cmd := strings.Trim(string(m[1]), `'"`)
	if fi, err := os.Stat(filepath.Join(root, cmd)); err != nil || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("sv-gen --sysroot: SVC_CMD=%s is not a program in the image", cmd)
	}
	if link, err := os.Readlink(filepath.Join(root, "etc/init.d/sv.hello")); err != nil || (link != "supervision" && link != "/etc/init.d/supervision") {
		return fmt.Errorf("sv-gen --sysroot enable --openrc: etc/init.d/sv.hello is %q (%v), not a link to supervision", link, err)
	}
	return nil
}

// runFor runs a step of the build, ended with its process group if it
// takes longer than d.
func (b *builder) runFor(d time.Duration, name string, args ...string) {
	if b.err == nil {
		_, b.err = outputFor(d, name, args...)
	}
}

func runFor(d time.Duration, name string, args ...string) error {
	_, err := outputFor(d, name, args...)
	return err
}

// outputFor runs a command in a process group of its own, which is
// killed after d, and gives its output; an error says which command.
func outputFor(d time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// After its exit or its kill, what still holds its output (a
	// grandchild that left the group) is waited for this long at most.
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// headerField is the value of a "Name: value" line of dumpe2fs -h.
func headerField(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// tail is the last n lines of a transcript.
func tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}
