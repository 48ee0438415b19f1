package options

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSysrootHost(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "usr/sbin"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n# www:x:1:1\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nwheel:x:10:root\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "usr/sbin/sshd"), nil, 0o755)
	h := SysrootHost{Dir: dir}
	for _, u := range []string{"root", "sshd", "1000"} {
		if err := h.LookupUser(u); err != nil {
			t.Errorf("user %q: %v", u, err)
		}
	}
	for _, u := range []string{"www", "# www", "x", "nobody"} {
		if err := h.LookupUser(u); err == nil {
			t.Errorf("user %q found", u)
		}
	}
	if err := h.LookupGroup("wheel"); err != nil {
		t.Error(err)
	}
	if err := h.LookupGroup("sshd"); err == nil {
		t.Error("group sshd found in the image, which has none")
	}
	if err := h.Stat("/usr/sbin/sshd"); err != nil {
		t.Error(err)
	}
	if err := h.Stat("/etc/shadow"); err == nil {
		t.Error("a file the image lacks found")
	}
	if err := (SysrootHost{Dir: filepath.Join(dir, "none")}).LookupUser("root"); err == nil {
		t.Error("no /etc/passwd in the image: found")
	}
}

func FuzzHasDBEntry(f *testing.F) {
	f.Add([]byte("root:x:0:0::/:/bin/sh\n"), "root")
	f.Add([]byte("a:b\n\n:x\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		if HasDBEntry(data, name) && (name == "" || !strings.Contains(string(data), name+":")) {
			t.Fatalf("%q found in %q", name, data)
		}
	})
}

// Links in an image resolve as the booted image resolves them, never to
// this machine's files.
func TestResolveIn(t *testing.T) {
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
		got, err := ResolveIn(root, in)
		if err != nil || got != filepath.Join(root, want) {
			t.Errorf("ResolveIn(%q) = %q, %v; want %q", in, got, err, filepath.Join(root, want))
		}
	}
	if _, err := ResolveIn(root, "/etc/loop"); err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("a loop: %v", err)
	}
	h := SysrootHost{Dir: root}
	if err := h.Executable("/usr/sbin/httpd"); err != nil {
		t.Errorf("a link to busybox in the image: %v", err)
	}
	if err := h.Executable("/usr/lib/abs"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a link to a file only this machine has: %v", err)
	}
	if err := h.Executable(filepath.Join(root, "bin/busybox")); err != nil {
		t.Errorf("this machine's name for the image's file: %v", err)
	}
}

func FuzzResolveIn(f *testing.F) {
	root := f.TempDir()
	os.MkdirAll(filepath.Join(root, "a/b"), 0o755)
	os.Symlink("../../..", filepath.Join(root, "a/b/up"))
	os.Symlink("/a", filepath.Join(root, "a/abs"))
	f.Add("/a/b/up/a/abs/b")
	f.Add("../..//./a")
	f.Fuzz(func(t *testing.T, path string) {
		got, err := ResolveIn(root, path)
		if err == nil && got != root && !strings.HasPrefix(got, root+"/") {
			t.Fatalf("ResolveIn(%q) = %q: outside the image", path, got)
		}
	})
}
