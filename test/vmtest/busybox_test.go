package vmtest

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestFindBusybox(t *testing.T) {
	bb, err := FindBusybox()
	if err != nil {
		t.Skip(err)
	}
	for _, applet := range []string{"bin/sh", "sbin/poweroff", "sbin/modprobe"} {
		if !slices.Contains(bb.Applets, applet) {
			t.Errorf("%s has no %s in %v", bb.Path, applet, bb.Applets)
		}
	}
	a := NewArchive()
	if err := bb.Install(a); err != nil {
		t.Fatal(err)
	}
	entries, err := readNewc(archiveBytes(t, a))
	if err != nil {
		t.Fatal(err)
	}
	var links int
	for _, e := range entries {
		if e.Mode&0o170000 == modeSymlink {
			links++
			if e.Data != "/bin/busybox" {
				t.Errorf("%s -> %s", e.Name, e.Data)
			}
		}
	}
	// busybox lists itself as an applet; it is the file, not a link.
	if want := len(bb.Applets) - 1; links != want || !slices.Contains(bb.Applets, "bin/busybox") {
		t.Errorf("%d applet links, want %d (and bin/busybox in %v)", links, want, bb.Applets)
	}
}

// A dynamically linked program is refused: it could not run in an
// initramfs without its libc.
func TestCheckStatic(t *testing.T) {
	dynamic := "/bin/sh" // dash, on Debian
	if err := checkStatic(dynamic); err == nil {
		out, _ := exec.Command("file", "-L", dynamic).Output()
		t.Skipf("%s is static here: %s", dynamic, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is static when built with CGO_ENABLED=0, as make does.
	if os.Getenv("CGO_ENABLED") == "0" {
		if err := checkStatic(self); err != nil {
			t.Error(err)
		}
	}
}
