package gen

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
)

// NewSysroot returns a generator for the tree of the image at sysroot
// (root, if any, is inside it; this machine's $SV_ROOT plays no part):
// sv-gen --sysroot. Its scripts run the sv-exec installed in the image,
// and users, groups and programs are checked against the image's own
// files (options.SysrootHost).
func NewSysroot(sysroot, root string) (*Generator, error) {
	l, err := layout.NewIn(sysroot, root)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(l.Sysroot); err != nil {
		return nil, fmt.Errorf("sysroot: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("sysroot %s: not a directory", l.Sysroot)
	}
	exec, err := imageExec(l)
	if err != nil {
		return nil, err
	}
	g := New(l, []string{exec})
	g.Host = options.SysrootHost{Layout: l}
	return g, nil
}

// imageExec is the image's sv-exec, as the booted image names it: make
// install DESTDIR= put it in one of these.
func imageExec(l layout.Layout) (string, error) {
	for _, dir := range []string{"/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin", "/sbin"} {
		exec := filepath.Join(dir, "sv-exec")
		// Lstat: a link in the image may name a path only the image has.
		if _, err := os.Lstat(l.Outside(exec)); err == nil {
			return exec, nil
		}
	}
	return "", fmt.Errorf("sysroot %s: no sv-exec in its /usr/bin, /usr/local/bin, /bin, /usr/sbin or /sbin: install the suite into it first (make install DESTDIR=%s)", l.Sysroot, l.Sysroot)
}
