package testscript_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// make install DESTDIR=... PREFIX=... puts the binary, its tool links, the
// templates and the catalog where a distribution expects them.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/usr/local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr/local/bin")
	if fi, err := os.Stat(filepath.Join(bin, "supervision")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("binary: %v %v", fi, err)
	}
	for _, tool := range []string{"sv-gen", "sv-exec"} {
		if target, err := os.Readlink(filepath.Join(bin, tool)); err != nil || target != "supervision" {
			t.Errorf("%s -> %q, %v", tool, target, err)
		}
	}
	// sv-scan is a program of its own, the engine alone, smaller.
	scan, err := os.Lstat(filepath.Join(bin, "sv-scan"))
	if err != nil || !scan.Mode().IsRegular() || scan.Mode().Perm() != 0o755 {
		t.Fatalf("sv-scan: %v %v", scan, err)
	}
	if all, _ := os.Stat(filepath.Join(bin, "supervision")); scan.Size() >= all.Size() {
		t.Errorf("sv-scan (%d bytes) is no smaller than the multi-call binary (%d)", scan.Size(), all.Size())
	}
	if out, err := exec.Command(filepath.Join(bin, "sv-scan"), "--help").CombinedOutput(); err != nil {
		t.Errorf("installed sv-scan --help: %v\n%s", err, out)
	}
	for _, f := range []string{"templates/run", "templates/OPTIONS", "templates/catalog/sshd", "templates/catalog/getty", "OPTIONS.md"} {
		if _, err := os.Stat(filepath.Join(dest, "usr/local/share/supervision", f)); err != nil {
			t.Errorf("share: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/share/supervision/templates/templates.go")); err == nil {
		t.Error("Go source installed with the templates")
	}
	// The installed binary works through its links.
	out, err := exec.Command(filepath.Join(bin, "sv-gen"), "catalog", "getty").CombinedOutput()
	if err != nil {
		t.Fatalf("installed sv-gen: %v\n%s", err, out)
	}
}
