// Package layout names the directories of a service tree. Every path hangs
// off one root, so `--root DIR` (or SV_ROOT) moves a whole tree into a
// directory a user without root owns. A sysroot (`--sysroot DIR`, like
// make's DESTDIR) is another matter: the tree is written into DIR, an
// image that will boot with DIR as /, so what is written in files and
// links is the path as seen from inside it (Inside).
package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Layout is where a tree keeps its pieces.
type Layout struct {
	// Sysroot is the directory of an image the tree is written into, ""
	// for this machine. Every path below starts with it.
	Sysroot      string
	Root         string // "" for the real root, else an absolute directory (inside the sysroot)
	SvDir        string // service definitions: ROOT/etc/sv
	OptDir       string // shared scripts and site defaults: SvDir/.opt
	EnabledDir   string // persistent record of enabled services: SvDir/.enabled
	RunDir       string // runtime state: ROOT/run/sv
	ScanDir      string // the scan directory supervisors watch: RunDir/service
	SuperviseDir string // supervise/ directories: RunDir/supervise
	// LogSuperviseDir holds the log/ services' supervise directories. It
	// is a sibling tree, not NAME/log inside SuperviseDir, because s6 starts
	// a service's two s6-supervise processes at once, and each creates its
	// own directory: the log one must not depend on the other's.
	LogSuperviseDir string // RunDir/log-supervise
	LogDir          string // default parent of log directories: ROOT/var/log/sv
}

// EnvRoot is the environment variable that relocates the tree.
const EnvRoot = "SV_ROOT"

// New lays out a tree under root ("" or "/" for the real root). A relative
// root is made absolute, because generated links must not depend on the
// directory a command ran in.
func New(root string) (Layout, error) { return NewIn("", root) }

// NewIn lays out a tree under root inside the image at sysroot ("" for
// this machine). A relative sysroot is made absolute; root is a path
// inside the image, absolute there.
func NewIn(sysroot, root string) (Layout, error) {
	if root == "/" {
		root = ""
	}
	if root != "" {
		if sysroot != "" && !filepath.IsAbs(root) {
			return Layout{}, fmt.Errorf("root %q: a tree inside a sysroot needs an absolute root, as seen from inside it", root)
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			return Layout{}, err
		}
		root = abs
	}
	if sysroot != "" {
		abs, err := filepath.Abs(sysroot)
		if err != nil {
			return Layout{}, err
		}
		if sysroot = abs; sysroot == "/" {
			sysroot = ""
		}
	}
	l := Layout{Sysroot: sysroot, Root: root}
	top := filepath.Join("/", sysroot, root)
	l.SvDir = filepath.Join(top, "etc/sv")
	l.OptDir = filepath.Join(l.SvDir, ".opt")
	l.EnabledDir = filepath.Join(l.SvDir, ".enabled")
	l.RunDir = filepath.Join(top, "run/sv")
	l.ScanDir = filepath.Join(l.RunDir, "service")
	l.SuperviseDir = filepath.Join(l.RunDir, "supervise")
	l.LogSuperviseDir = filepath.Join(l.RunDir, "log-supervise")
	l.LogDir = filepath.Join(top, "var/log/sv")
	return l, nil
}

// Inside is path as the system booted from the sysroot sees it: what a
// link or a generated script written into the image must name. Without a
// sysroot, path itself.
func (l Layout) Inside(path string) string {
	if l.Sysroot == "" {
		return path
	}
	if rel, ok := strings.CutPrefix(path, l.Sysroot); ok && (rel == "" || rel[0] == '/') {
		return filepath.Join("/", rel)
	}
	return path
}

// Outside is the path on this machine of a path inside the sysroot.
func (l Layout) Outside(path string) string {
	if l.Sysroot == "" {
		return path
	}
	return filepath.Join(l.Sysroot, path)
}

// OfScanDir is the tree whose scan dir is dir (ROOT/run/sv/service), if
// it is one.
func OfScanDir(dir string) (Layout, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, false
	}
	root, ok := strings.CutSuffix(abs, "/run/sv/service")
	if !ok {
		return Layout{}, false
	}
	l, err := New(root)
	return l, err == nil
}

// FromEnv uses flag when it is set, else $SV_ROOT, else the real root.
func FromEnv(flag string) (Layout, error) {
	if flag == "" {
		flag = os.Getenv(EnvRoot)
	}
	return New(flag)
}

// ServiceDir is where a service's definition lives.
func (l Layout) ServiceDir(name string) string { return filepath.Join(l.SvDir, name) }

// Supervise is the runtime supervise/ directory of a service; the service
// dir's supervise link points here so that /etc may be read-only.
func (l Layout) Supervise(name string) string { return filepath.Join(l.SuperviseDir, name) }

// LogSupervise is the supervise/ directory of a service's log/ service.
func (l Layout) LogSupervise(name string) string { return filepath.Join(l.LogSuperviseDir, name) }

// RootOf returns the root of the tree whose service definitions are in
// svDir, when svDir is laid out as New lays it out (ROOT/etc/sv); "" (the
// real root) otherwise. sv-scan uses it to give values the same $SV_ROOT
// sv-exec gets from the generated scripts.
func RootOf(svDir string) string {
	if root, ok := strings.CutSuffix(filepath.Clean(svDir), "/etc/sv"); ok {
		return root
	}
	return ""
}

// maxLinks bounds the links Resolve follows, as the kernel's ELOOP does.
const maxLinks = 40

// Resolve is this machine's path of the file that path names inside the
// sysroot, with every symbolic link on the way resolved as the booted
// image resolves it: an absolute target from the image's root, a relative
// one from the link's directory, and ".." never above the root. The last
// component need not exist. Without a sysroot, the links are this
// machine's and path is as it is.
func (l Layout) Resolve(path string) (string, error) {
	if l.Sysroot == "" {
		return path, nil
	}
	return resolveIn(l.Sysroot, path)
}

func resolveIn(root, path string) (string, error) {
	rest := strings.Split(filepath.Clean("/"+path), "/")[1:]
	resolved := "/" // inside the image
	for links := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		if part == "" {
			continue
		}
		next := filepath.Join(resolved, part) // Join cleans "..": never above "/"
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: filepath.Join(root, path), Err: errors.New("too many levels of symbolic links")}
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(root, resolved), nil
}
