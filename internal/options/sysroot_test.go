package options

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/layout"
)

func TestSysrootHost(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "usr/sbin"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n# www:x:1:1\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nwheel:x:10:root\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "usr/sbin/sshd"), nil, 0o755)
	h := SysrootHost{Layout: image(t, dir)}
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
	if err := (SysrootHost{Layout: image(t, filepath.Join(dir, "none"))}).LookupUser("root"); err == nil {
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

// image is the layout of a tree written into the image at dir.
func image(t *testing.T, dir string) layout.Layout {
	l, err := layout.NewIn(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A program of the image is found through the image's links, never this
// machine's files.
func TestSysrootExecutable(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755)
	os.WriteFile(filepath.Join(root, "bin/busybox"), nil, 0o755)
	os.Symlink("/bin/busybox", filepath.Join(root, "usr/sbin/httpd"))
	os.Symlink("/etc/passwd", filepath.Join(root, "usr/lib/abs"))
	h := SysrootHost{Layout: image(t, root)}
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
