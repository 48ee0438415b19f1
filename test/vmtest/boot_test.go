package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// vmlinuxDir holds the uncompressed kernel the boot tests share.
var vmlinuxDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vmlinuxDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootKernel is k's uncompressed kernel, which boots in half the time,
// or its bzImage if that cannot be had (no xz, say).
func bootKernel(t *testing.T, k Kernel) string {
	vmlinux, err := k.Vmlinux(vmlinuxDir)
	if err != nil {
		t.Logf("booting the bzImage: %v", err)
		return k.Image
	}
	return vmlinux
}

// The bound on a whole boot: 4 to 10 s under TCG here, and CI runs
// other test packages beside it on 2 cores.
const bootTimeout = 60 * time.Second

// bootInit is the smoke test's /init: it shows the console works both
// ways, then powers off. The reply is upper-cased so that it cannot be
// the tty's echo of what the test sent.
const bootInit = `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
echo "vmtest: init is pid $$"
echo "vmtest: send a line"
read -r line
echo "vmtest: reply $(echo "$line" | tr a-z A-Z)"
poweroff -f
`

// TestBootBusybox boots the host's kernel with an initramfs of busybox
// and a shell script as init, talks to it, and sees it power off.
func TestBootBusybox(t *testing.T) {
	k, bb := Require(t)
	a := NewArchive()
	AddSkeleton(a)
	if err := bb.Install(a); err != nil {
		t.Fatal(err)
	}
	a.File("init", []byte(bootInit), 0o755)
	initrd := filepath.Join(t.TempDir(), "initrd.gz")
	if err := a.WriteGzip(initrd); err != nil {
		t.Fatal(err)
	}

	kernel := bootKernel(t, k)
	start := time.Now()
	vm := Boot(t, Config{Kernel: kernel, Initrd: initrd, Cmdline: BaseCmdline})
	deadline := start.Add(bootTimeout)
	if _, err := vm.Expect(regexp.MustCompile(`^vmtest: init is pid 1$`), time.Until(deadline)); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.Expect(regexp.MustCompile(`vmtest: send a line`), time.Until(deadline)); err != nil {
		t.Fatal(err)
	}
	if err := vm.Send("hello-from-test"); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.Expect(regexp.MustCompile(`vmtest: reply HELLO-FROM-TEST`), time.Until(deadline)); err != nil {
		t.Fatal(err)
	}
	if err := vm.WaitPoweroff(time.Until(deadline)); err != nil {
		t.Fatal(err)
	}
	t.Logf("booted, talked and powered off in %v", time.Since(start).Round(time.Millisecond))
}

// diskInit loads the modules a disk boot needs, as the lead's root-disk
// tests will, and reads a file from an ext4 made on the host.
const diskInit = `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_pci virtio_blk ext4; do
	modprobe $m || echo "vmtest: modprobe $m failed"
done
mkdir /mnt
mount -t ext4 -o ro /dev/vda /mnt || echo "vmtest: mount failed"
echo "vmtest: disk says $(cat /mnt/hello)"
echo "vmtest: modules $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
grep -A2 '^name *: crc32c$' /proc/crypto
poweroff -f
`

// TestBootDiskModules boots with a virtio disk holding an ext4 made by
// the host's mkfs.ext4 (metadata_csum: the kernel needs crc32c to mount
// it), and the modules AddModules put in the initramfs.
func TestBootDiskModules(t *testing.T) {
	k, bb := Require(t)
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		t.Skip("mkfs.ext4 is not installed (Debian: e2fsprogs)")
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	mustWrite(t, filepath.Join(root, "hello"), "hello from ext4\n", 0o644)
	disk := filepath.Join(tmp, "disk.img")
	if out, err := exec.Command(mkfs, "-q", "-O", "metadata_csum", "-d", root, disk, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	a := NewArchive()
	AddSkeleton(a)
	if err := bb.Install(a); err != nil {
		t.Fatal(err)
	}
	if err := k.AddModules(a, "virtio_pci", "virtio_blk", "ext4"); err != nil {
		t.Fatal(err)
	}
	a.File("init", []byte(diskInit), 0o755)
	initrd := filepath.Join(tmp, "initrd.gz")
	if err := a.WriteGzip(initrd); err != nil {
		t.Fatal(err)
	}

	kernel := bootKernel(t, k)
	start := time.Now()
	vm := Boot(t, Config{Kernel: kernel, Initrd: initrd, Cmdline: BaseCmdline, Disks: []string{disk}})
	if _, err := vm.Expect(regexp.MustCompile(`^vmtest: disk says hello from ext4$`), bootTimeout); err != nil {
		t.Fatal(err)
	}
	if err := vm.WaitPoweroff(bootTimeout - time.Since(start)); err != nil {
		t.Fatal(err)
	}
	if failed := regexp.MustCompile(`vmtest: \w+ .*failed`).FindString(vm.Transcript()); failed != "" {
		t.Errorf("%s", failed)
	}
	t.Logf("booted, mounted and powered off in %v", time.Since(start).Round(time.Millisecond))
}
