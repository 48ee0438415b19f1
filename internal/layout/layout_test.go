package layout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, root := range []string{"", "/"} {
		l, err := New(root)
		if err != nil || l.Root != "" || l.SvDir != "/etc/sv" || l.ScanDir != "/run/sv/service" || l.LogDir != "/var/log/sv" {
			t.Errorf("New(%q) = %+v, %v", root, l, err)
		}
	}
	l, _ := New("/home/u/tree/")
	if l.Root != "/home/u/tree" || l.OptDir != "/home/u/tree/etc/sv/.opt" || l.Supervise("a@b") != "/home/u/tree/run/sv/supervise/a@b" {
		t.Errorf("relocated: %+v", l)
	}
	if got := l.LogSupervise("x"); got != "/home/u/tree/run/sv/log-supervise/x" {
		t.Errorf("LogSupervise = %q", got)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvRoot, "/env/root")
	if l, _ := FromEnv(""); l.Root != "/env/root" {
		t.Errorf("env: %q", l.Root)
	}
	if l, _ := FromEnv("/flag"); l.Root != "/flag" {
		t.Errorf("flag must win: %q", l.Root)
	}
}

func TestRootOf(t *testing.T) {
	for in, want := range map[string]string{"/etc/sv": "", "/home/u/tree/etc/sv": "/home/u/tree", "/home/u/tree/etc/sv/": "/home/u/tree", "/opt/services": ""} {
		if got := RootOf(in); got != want {
			t.Errorf("RootOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// A tree in a sysroot is written under it, and names its paths as the
// image booted from it sees them.
func TestNewIn(t *testing.T) {
	l, err := NewIn("/tmp/img/", "")
	if err != nil || l.Sysroot != "/tmp/img" || l.Root != "" || l.SvDir != "/tmp/img/etc/sv" || l.ScanDir != "/tmp/img/run/sv/service" {
		t.Fatalf("NewIn: %+v, %v", l, err)
	}
	if in := l.Inside(l.Supervise("web")); in != "/run/sv/supervise/web" {
		t.Errorf("Inside = %q", in)
	}
	if in := l.Inside("/tmp/image-other/x"); in != "/tmp/image-other/x" {
		t.Errorf("Inside of a path not in the sysroot = %q", in)
	}
	if out := l.Outside("/etc/init.d"); out != "/tmp/img/etc/init.d" {
		t.Errorf("Outside = %q", out)
	}
	l, _ = NewIn("/tmp/img", "/srv/tree")
	if l.Root != "/srv/tree" || l.SvDir != "/tmp/img/srv/tree/etc/sv" || l.Inside(l.ServiceDir("a")) != "/srv/tree/etc/sv/a" {
		t.Errorf("a tree inside a sysroot: %+v", l)
	}
	if _, err := NewIn("/tmp/img", "srv"); err == nil {
		t.Error("a relative root inside a sysroot: accepted")
	}
	for _, sysroot := range []string{"", "/"} {
		l, _ := NewIn(sysroot, "/home/u")
		if l.Sysroot != "" || l.Inside(l.SvDir) != "/home/u/etc/sv" || l.Outside("/x") != "/x" {
			t.Errorf("no sysroot (%q): %+v", sysroot, l)
		}
	}
}

// Links in an image resolve as the booted image resolves them, never to
// this machine's files.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "usr/sbin", "usr/lib", "etc"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "bin/busybox"), nil, 0o755)
	links := map[string]string{
		"usr/sbin/httpd": "/bin/busybox",       // absolute: from the image's root
		"usr/sbin/up":    "../../bin/busybox",  // relative: from the link's directory
		"usr/sbin/out":   "../../../../../etc", // .. stops at the image's root
		"usr/lib/abs":    "/etc/passwd",        // this machine has one; the image not
		"etc/loop":       "loop",               // a loop
		"sbin":           "usr/sbin",           // a directory link on the way
		"usr/lib/chain":  "/sbin/httpd",        // a chain
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]string{
		"/usr/sbin/httpd":      "/bin/busybox",
		"/usr/sbin/up":         "/bin/busybox",
		"/usr/sbin/out/passwd": "/etc/passwd",
		"/usr/lib/abs":         "/etc/passwd",
		"/sbin/httpd":          "/bin/busybox",
		"/usr/lib/chain":       "/bin/busybox",
		"/../../bin/busybox":   "/bin/busybox",
		"usr/sbin/none":        "/usr/sbin/none",
	}
	for in, want := range cases {
		got, err := resolveIn(root, in)
		if err != nil || got != filepath.Join(root, want) {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, filepath.Join(root, want))
		}
	}
	if _, err := resolveIn(root, "/etc/loop"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("a loop: %v", err)
	}
}

func FuzzResolve(f *testing.F) {
	root := f.TempDir()
	os.MkdirAll(filepath.Join(root, "a/b"), 0o755)
	os.Symlink("../../..", filepath.Join(root, "a/b/up"))
	os.Symlink("/a", filepath.Join(root, "a/abs"))
	f.Add("/a/b/up/a/abs/b")
	f.Add("../..//./a")
	f.Fuzz(func(t *testing.T, path string) {
		got, err := resolveIn(root, path)
		if err == nil && got != root && !strings.HasPrefix(got, root+"/") {
			t.Fatalf("Resolve(%q) = %q: outside the image", path, got)
		}
	})
}
