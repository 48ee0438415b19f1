package vmtest

import (
	"context"
	"debug/elf"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Busybox is a statically linked busybox: it runs in an initramfs with
// no libc beside it.
type Busybox struct {
	Path    string   // on the host
	Applets []string // full paths in the guest, from --list-full: bin/sh, sbin/poweroff, ...
}

// FindBusybox finds busybox on PATH or at /bin/busybox and lists its
// applets. A dynamically linked one (Debian's busybox, not
// busybox-static) is an error.
func FindBusybox() (Busybox, error) {
	bin, err := exec.LookPath("busybox")
	if err != nil {
		bin = "/bin/busybox"
	}
	if err := checkStatic(bin); err != nil {
		return Busybox{}, fmt.Errorf("busybox: %w (Debian: apt-get install busybox-static)", err)
	}
	applets, err := listApplets(bin)
	if err != nil {
		return Busybox{}, err
	}
	return Busybox{Path: bin, Applets: applets}, nil
}

// checkStatic fails if bin asks for a program interpreter (ld.so).
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", bin)
		}
	}
	return nil
}

func listApplets(bin string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", bin, err)
	}
	return strings.Fields(string(out)), nil
}

// Install adds busybox as /bin/busybox and a symlink to it at each
// applet's full path (/bin/sh, /sbin/poweroff, /usr/bin/awk, ...).
func (b Busybox) Install(a *Archive) error {
	if err := a.CopyFile("bin/busybox", b.Path, 0o755); err != nil {
		return err
	}
	for _, applet := range b.Applets {
		if cleanName(applet) != "bin/busybox" {
			a.Symlink(applet, "/bin/busybox")
		}
	}
	return nil
}
