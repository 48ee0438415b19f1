// Package boottest boots a real kernel in qemu with the suite's sv-init as
// PID 1, from an image built as a distribution builder would build one:
// busybox, `make install DESTDIR=`, and services made by `sv-gen
// --sysroot`. It holds tests only; test/vmtest is the harness.
package boottest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/test/vmtest"
)

// bootTimeout bounds one boot, from qemu's start to its exit: 4 to 10 s
// under TCG here, and CI runs other test packages beside it on 2 cores.
const bootTimeout = 60 * time.Second

// workDir holds what the tests share: the image and its kernel.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "boottest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// image is a machine to boot: its initramfs and its disks.
type image struct {
	kernel string
	initrd string
	disks  []string // vda: ext4 for /data, vdb: swap
}

// The files of the image beside what make install and sv-gen put there:
// modules to load, the filesystems, a sysctl, a hostname, and the
// oneshot's script, which reports what stage 1 did, then reboots the
// first boot (it leaves a mark on /data) and powers off the second.
var imageFiles = map[string]string{
	"etc/modules":                "# loaded by stage 1\nvirtio_pci\nvirtio_blk\n",
	"etc/modules-load.d/fs.conf": "ext4\n",
	"etc/fstab":                  "# checked, then mounted by stage 1\n/dev/vda /data ext4 defaults 0 2\n/dev/vdb none swap sw 0 0\n",
	"etc/sysctl.d/50-boot.conf":  "# set by stage 1\nvm.swappiness = 7\n",
	"etc/hostname":               "svbox\n",
	"etc/passwd":                 "root:x:0:0:root:/root:/bin/sh\n",
	"etc/group":                  "root:x:0:\n",
	"usr/local/bin/boot-check": `#!/bin/sh
sv-ctl wait up hello --timeout 60s || exit 1
echo "boot-check: swappiness $(cat /proc/sys/vm/swappiness)"
echo "boot-check: hostname $(hostname)"
echo "boot-check: mounts $(awk '$2 == "/data" || $3 == "cgroup2" { printf "%s:%s ", $2, $3 }' /proc/mounts)"
echo "boot-check: swaps $(awk 'NR > 1 { printf "%s ", $1 }' /proc/swaps)"
if [ -e /data/booted ]; then
	echo "boot-check: second boot"
	exec sv-init poweroff
fi
touch /data/booted && echo "boot-check: first boot" && exec sv-init reboot
`,
}

// built is the image the tests share, made by the first that needs it;
// each boots it with disks of its own (newImage).
var built struct {
	sync.Once
	img image
	err error
}

// newImage is the shared image, with fresh copies of its disks for t.
func newImage(t *testing.T) image {
	k, bb := vmtest.Require(t)
	built.Do(func() { built.img, built.err = buildImage(filepath.Join(workDir, "image"), k, bb) })
	if built.err != nil {
		t.Fatal(built.err)
	}
	img := built.img
	img.disks = nil
	for _, d := range built.img.disks {
		data, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		copied := filepath.Join(t.TempDir(), filepath.Base(d))
		if err := os.WriteFile(copied, data, 0o600); err != nil {
			t.Fatal(err)
		}
		img.disks = append(img.disks, copied)
	}
	return img
}

// buildImage makes the image's tree in dir as a builder would: busybox,
// `make install DESTDIR=`, then services with `sv-gen --sysroot` (no
// chroot, nothing of this machine's in the result), and packs it into an
// initramfs with /sbin/init a link to sv-init.
func buildImage(dir string, k vmtest.Kernel, bb vmtest.Busybox) (image, error) {
	b := &builder{}
	root := filepath.Join(dir, "root")
	b.installBusybox(root, bb)
	b.run("make", "-C", "../..", "install", "DESTDIR="+root, "PREFIX=/usr")
	for path, text := range imageFiles {
		b.write(filepath.Join(root, path), text)
	}
	b.do(os.Remove(filepath.Join(root, "sbin/init"))) // busybox's own init
	b.do(os.Symlink("/usr/bin/sv-init", filepath.Join(root, "sbin/init")))
	b.do(os.MkdirAll(filepath.Join(root, "data"), 0o755))
	// fsck (util-linux's: busybox-static has none) and e2fsck, with their
	// libraries, for stage 1 to check /data
	b.copyWithLibs(root, "/sbin/fsck")
	b.copyWithLibs(root, "/sbin/e2fsck")
	b.do(os.Symlink("e2fsck", filepath.Join(root, "sbin/fsck.ext4")))

	gen := filepath.Join(root, "usr/bin/sv-gen")
	b.run(gen, "--sysroot", root, "add", "hello", "--set", "LOG=console", "--",
		"/bin/sh", "-c", "echo hello from the image; exec sleep 100000")
	b.run(gen, "--sysroot", root, "add", "check", "--set", "SVC_TYPE=oneshot", "--set", "LOG=console", "--", "/usr/local/bin/boot-check")
	b.run(gen, "--sysroot", root, "enable", "hello", "check")
	if link, _ := os.Readlink(filepath.Join(root, "etc/sv/hello/supervise")); b.err == nil && link != "/run/sv/supervise/hello" {
		b.err = fmt.Errorf("sv-gen --sysroot wrote the supervise link as %q: not as seen from inside the image", link)
	}

	a := vmtest.NewArchive()
	vmtest.AddSkeleton(a)
	b.do(a.AddTree("", root))
	b.do(k.AddModules(a, "virtio_pci", "virtio_blk", "ext4"))
	img := image{kernel: k.Image, initrd: filepath.Join(dir, "initrd.gz")}
	if vmlinux, err := k.Vmlinux(dir); err == nil {
		img.kernel = vmlinux // boots in half the time: no decompression under TCG
	}
	b.do(a.WriteGzip(img.initrd))
	data, swap, empty := filepath.Join(dir, "data.img"), filepath.Join(dir, "swap.img"), filepath.Join(dir, "empty")
	b.do(os.MkdirAll(empty, 0o755))
	b.run("mkfs.ext4", "-q", "-d", empty, data, "16M")
	b.do(os.WriteFile(swap, make([]byte, 16<<20), 0o600))
	b.run("mkswap", swap)
	img.disks = []string{data, swap}
	return img, b.err
}

// builder runs the steps of a build until one fails, and keeps the first
// error.
type builder struct{ err error }

func (b *builder) do(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *builder) run(name string, args ...string) {
	if b.err != nil {
		return
	}
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.err = fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (b *builder) write(path, text string) {
	mode := os.FileMode(0o644)
	if strings.HasPrefix(text, "#!") {
		mode = 0o755
	}
	b.do(os.MkdirAll(filepath.Dir(path), 0o755))
	b.do(os.WriteFile(path, []byte(text), mode))
}

// copyWithLibs copies a program of this machine into root at the same
// path, with the libraries ldd lists for it.
func (b *builder) copyWithLibs(root, prog string) {
	if b.err != nil {
		return
	}
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		b.err = fmt.Errorf("ldd %s: %v", prog, err)
		return
	}
	files := []string{prog}
	for _, m := range regexp.MustCompile(`(?m)(/\S+) \(0x`).FindAllStringSubmatch(string(out), -1) {
		files = append(files, m[1])
	}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		b.do(err)
		b.do(os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755))
		b.run("cp", real, filepath.Join(root, f))
	}
}

// installBusybox puts a static busybox and a link per applet in root.
func (b *builder) installBusybox(root string, bb vmtest.Busybox) {
	b.do(os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	b.run("cp", bb.Path, filepath.Join(root, "bin/busybox"))
	for _, applet := range bb.Applets {
		path := filepath.Join(root, applet)
		b.do(os.MkdirAll(filepath.Dir(path), 0o755))
		if err := os.Symlink("/bin/busybox", path); !os.IsExist(err) {
			b.do(err)
		}
	}
}

func (img image) boot(t *testing.T, cmdline string) *vmtest.VM {
	return vmtest.Boot(t, vmtest.Config{
		Kernel: img.kernel, Initrd: img.initrd, Disks: img.disks,
		Cmdline: vmtest.BaseCmdline + " rdinit=/sbin/init " + cmdline,
	})
}

// expect waits for each pattern in turn, each line after the previous.
func expect(t *testing.T, vm *vmtest.VM, deadline time.Time, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if _, err := vm.Expect(regexp.MustCompile(p), time.Until(deadline)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBoot boots the image twice, as a machine reboots: sv-init is
// /sbin/init, stage 1 sets the machine up from its files, the services
// enabled in the image start though /run is new, the oneshot reboots,
// stage 3 stops everything and nothing is left for sv-init to kill; the
// second boot powers off.
func TestBoot(t *testing.T) {
	img := newImage(t)
	for _, b := range []struct {
		which string
		then  *regexp.Regexp
	}{{"first", vmtest.Restart}, {"second", vmtest.PowerDown}} {
		began := time.Now()
		deadline := began.Add(bootTimeout)
		vm := img.boot(t, "splash")
		expect(t, vm, deadline,
			`^sv-init: ignoring the kernel's argument "splash"`,
			`^stage 1: cgroup2 on /sys/fs/cgroup$`,
			`^stage 1: fsck: filesystems clean$`,
			`^stage 1: /etc/fstab mounted$`,
			`^stage 1: swap on$`,
			`^stage 1: hostname svbox$`,
			`^stage 1: sysctl /etc/sysctl.d/50-boot.conf$`,
			`^hello: hello from the image$`,
			`^check: boot-check: swappiness 7$`,
			`^check: boot-check: hostname svbox$`,
			`^check: boot-check: mounts /sys/fs/cgroup:cgroup2 /data:ext4 $`,
			`^check: boot-check: swaps /dev/vdb $`,
			`^check: boot-check: `+b.which+` boot$`,
			`^stage 3: stopping every supervised service$`,
			`^hello: stopped in `,
			`^stage 3: swap off$`,
			`^stage 3: unmounted /data$`,
			`^stage 3: / is read-only$`,
		)
		if m, err := vm.Expect(regexp.MustCompile(vmtest.PowerDown.String()+"|"+vmtest.Restart.String()+"|"+vmtest.Panic.String()), time.Until(deadline)); err != nil {
			t.Fatal(err)
		} else if !b.then.MatchString(m[0]) {
			t.Fatalf("%s boot ended with %q", b.which, m[0])
		}
		if code, err := vm.Wait(time.Until(deadline)); err != nil || code != 0 {
			t.Fatalf("qemu: exit %d, %v", code, err)
		}
		transcript := vm.Transcript()
		for _, bad := range []string{"sending TERM", "sending KILL", "Kernel panic"} {
			if strings.Contains(transcript, bad) {
				t.Errorf("%s boot: the console says %q", b.which, lineWith(transcript, bad))
			}
		}
		if failed := regexp.MustCompile(`(?m)^(stage \d|sv-init|sv-rc|sv-scan)\b.*(failed|cannot|error).*`).FindString(transcript); failed != "" {
			t.Errorf("%s boot: %s", b.which, failed)
		}
		t.Logf("%s boot: %v from qemu's start to its exit", b.which, time.Since(began).Round(time.Millisecond))
	}
}

// prompt is busybox's shell prompt, which ends with a query for the
// cursor's place (ESC [6n) that nothing here answers.
const prompt = `# (\x1b\[6n)?$`

// TestBootSingle boots with 'single' on the kernel's command line: stage
// 1, then a shell on the console, with job control; 'sv-init poweroff'
// typed there ends the system without stage 2.
func TestBootSingle(t *testing.T) {
	img := newImage(t)
	deadline := time.Now().Add(bootTimeout)
	vm := img.boot(t, "single")
	expect(t, vm, deadline,
		`^stage 1: hostname svbox$`,
		`^sv-init: single-user boot: a shell on the console; exit it to start stage 2`,
		prompt)
	if err := vm.Send("echo marker-$((6*7))"); err != nil {
		t.Fatal(err)
	}
	expect(t, vm, deadline, `^marker-42$`, prompt)
	if err := vm.Send("sv-init poweroff"); err != nil {
		t.Fatal(err)
	}
	expect(t, vm, deadline, `^sv-init: poweroff requested during the shell: stopping it$`)
	if err := vm.WaitPoweroff(time.Until(deadline)); err != nil {
		t.Fatal(err)
	}
	transcript := vm.Transcript()
	for _, bad := range []string{"job control turned off", "stage 2:", "hello from the image", "still runs after", "sending KILL"} {
		if strings.Contains(transcript, bad) {
			t.Errorf("the console says %q", lineWith(transcript, bad))
		}
	}
}

func lineWith(text, s string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
