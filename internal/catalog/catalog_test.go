package catalog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// Every embedded entry must be valid OPTIONS with only known keys, a
// description and a command, and must evaluate for a plain service and an
// instance without errors or warnings.
func TestEmbeddedEntriesAreValid(t *testing.T) {
	c := New("")
	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 25 {
		t.Errorf("catalog has %d entries, want at least 25", len(list))
	}
	for _, info := range list {
		if info.Description == "" || info.Command == "" {
			t.Errorf("%s: needs SVC_DESCRIPTION and SVC_CMD as plain values", info.Name)
		}
		data, _ := c.Entry(info.Name)
		f, err := options.Parse("catalog:"+info.Name, data)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		for _, inst := range []string{"", "x0"} {
			s := options.NewSet(map[string]string{"SVC_NAME": info.Name, "SVC_BASE": info.Name, "SVC_INSTANCE": inst})
			if err := s.Apply(f, options.LayerCatalog); err != nil {
				t.Errorf("%s: %v", info.Name, err)
			}
			if len(s.Warnings) > 0 {
				t.Errorf("%s: %v", info.Name, s.Warnings)
			}
		}
	}
}

func TestSiteEntriesOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sshd"), []byte("SVC_DESCRIPTION=mine\nSVC_CMD=/opt/sshd\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "local"), []byte("SVC_DESCRIPTION=local\nSVC_CMD=x\n"), 0o644)
	c := New(dir)
	if data, ok := c.Entry("sshd"); !ok || string(data) != "SVC_DESCRIPTION=mine\nSVC_CMD=/opt/sshd\n" {
		t.Errorf("site entry did not replace the embedded one: %q", data)
	}
	list, _ := c.List()
	found := 0
	for _, i := range list {
		if (i.Name == "local" || i.Name == "sshd") && i.Site {
			found++
		}
	}
	if found != 2 {
		t.Errorf("site entries not listed as such: %+v", list)
	}
	for _, bad := range []string{"../etc/passwd", "a@b", ".hidden", ""} {
		if _, ok := c.Entry(bad); ok {
			t.Errorf("Entry(%q) found something", bad)
		}
	}
}

// A site entry that is a FIFO or a device is refused at once, and does
// not fall back on the built-in entry of that name it was meant to replace.
func TestSiteEntryNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, "sshd"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero")); err != nil {
		t.Fatal(err)
	}
	c := New(dir)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.Read("sshd"); !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("Read(sshd) = %v, want a refused FIFO", err)
		}
		if _, err := c.Read("zero"); !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("Read(zero) = %v, want a refused device", err)
		}
		if _, ok := c.Entry("sshd"); ok {
			t.Errorf("Entry(sshd) fell back on the built-in entry")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO site entry did not return within 10s")
	}
	if _, err := c.Read("no-such-entry"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(no-such-entry) = %v, want fs.ErrNotExist", err)
	}
}
