package vmtest

import (
	"path/filepath"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		sign int
	}{
		{"vmlinuz-6.1.0-57-amd64", "vmlinuz-6.1.0-9-amd64", 1},
		{"vmlinuz-6.10.0-1-amd64", "vmlinuz-6.9.0-1-amd64", 1},
		{"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-9-amd64", 0},
		{"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-9", 1},
		{"vmlinuz-6.1.0-rc1", "vmlinuz-6.1.0-1", 1}, // letters after digits, as sort -V
	} {
		got := compareVersions(c.a, c.b)
		if sign(got) != c.sign {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", c.a, c.b, got, c.sign)
		}
		if back := compareVersions(c.b, c.a); sign(back) != -c.sign {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", c.b, c.a, back, -c.sign)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// The newest -amd64 kernel wins over a newer one of another flavour, and
// its modules are found by its release.
func TestFindKernel(t *testing.T) {
	boot, modules := t.TempDir(), t.TempDir()
	for _, name := range []string{"vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-57-amd64", "vmlinuz-6.12.0-1-cloud", "config-6.1.0-99-amd64"} {
		mustWrite(t, filepath.Join(boot, name), "", 0o600)
	}
	mustWrite(t, filepath.Join(modules, "6.1.0-57-amd64", "modules.dep"), "", 0o644)
	k, err := findKernel(boot, modules)
	if err != nil {
		t.Fatal(err)
	}
	want := Kernel{
		Image:   filepath.Join(boot, "vmlinuz-6.1.0-57-amd64"),
		Release: "6.1.0-57-amd64",
		Modules: filepath.Join(modules, "6.1.0-57-amd64"),
	}
	if k != want {
		t.Errorf("findKernel = %+v, want %+v", k, want)
	}
	if _, err := findKernel(t.TempDir(), modules); err == nil {
		t.Error("findKernel found a kernel in an empty /boot")
	}
}
