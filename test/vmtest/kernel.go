package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kernel is a bootable kernel image and the modules built for it.
type Kernel struct {
	Image   string // the vmlinuz, for qemu's -kernel
	Release string // its `uname -r`: the modules' directory name in the guest
	Modules string // /lib/modules/<Release> on the host; "" if not installed
}

// FindKernel finds the newest /boot/vmlinuz-*, preferring Debian's
// -amd64 flavour, and its modules. It does not check that the image is
// readable: Debian makes it 0600, for root only.
func FindKernel() (Kernel, error) {
	return findKernel("/boot", "/lib/modules")
}

func findKernel(bootDir, modulesRoot string) (Kernel, error) {
	images, err := filepath.Glob(filepath.Join(bootDir, "vmlinuz-*"))
	if err != nil || len(images) == 0 {
		return Kernel{}, fmt.Errorf("no kernel: nothing matches %s/vmlinuz-* (Debian: apt-get install linux-image-amd64)", bootDir)
	}
	best := ""
	for _, image := range images {
		if best == "" || newerKernel(image, best) {
			best = image
		}
	}
	k := Kernel{Image: best, Release: strings.TrimPrefix(filepath.Base(best), "vmlinuz-")}
	if dir := filepath.Join(modulesRoot, k.Release); fileExists(filepath.Join(dir, "modules.dep")) {
		k.Modules = dir
	}
	return k, nil
}

// newerKernel says whether image a is preferred over b: an -amd64 one
// over any other, then the higher version.
func newerKernel(a, b string) bool {
	aAmd64, bAmd64 := strings.HasSuffix(a, "-amd64"), strings.HasSuffix(b, "-amd64")
	if aAmd64 != bAmd64 {
		return aAmd64
	}
	return compareVersions(filepath.Base(a), filepath.Base(b)) > 0
}

// compareVersions orders strings as `sort -V` does, near enough: runs of
// digits compare as numbers, so 6.1.0-57 is newer than 6.1.0-9.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		var pa, pb string
		pa, a = leadingRun(a)
		pb, b = leadingRun(b)
		if c := comparePart(pa, pb); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// leadingRun splits s after its first run of digits or of non-digits.
func leadingRun(s string) (run, rest string) {
	digit := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == digit {
		i++
	}
	return s[:i], s[i:]
}

func comparePart(a, b string) int {
	if isDigit(a[0]) && isDigit(b[0]) {
		na, _ := strconv.ParseUint(a, 10, 64)
		nb, _ := strconv.ParseUint(b, 10, 64)
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// AddSkeleton adds what the kernel and a shell expect before anything is
// mounted: /dev/console (without it, init has no stdin, stdout or stderr
// until someone mounts devtmpfs), /dev/null, and empty /proc, /sys,
// /run, /tmp and /root.
func AddSkeleton(a *Archive) {
	a.CharDev("dev/console", 0o600, 5, 1)
	a.CharDev("dev/null", 0o666, 1, 3)
	for _, dir := range []string{"proc", "sys", "run", "root"} {
		a.Dir(dir, 0o755)
	}
	a.Dir("tmp", 0o777|os.ModeSticky)
}
