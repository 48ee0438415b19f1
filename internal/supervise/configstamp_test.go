package supervise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// configTree is a tree with site defaults and one service, x.
func configTree(t *testing.T) (dir string) {
	t.Helper()
	sv := filepath.Join(t.TempDir(), "sv")
	for path, text := range map[string]string{
		".opt/SVC_OPTIONS": "# site\n",
		"x/OPTIONS":        "CMD=\"/bin/sleep 1000\"\n",
	} {
		p := filepath.Join(sv, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(sv, "x")
}

// loaded is the config of dir as loadConfig reads it, its stamp taken as
// if well after the files were written (nothing racy).
func loaded(t *testing.T, dir string) config {
	t.Helper()
	c := loadConfig(dir)
	if c.err != "" || c.stamp == nil {
		t.Fatalf("loadConfig: err %q, stamp %v", c.err, c.stamp)
	}
	c.stamp.At = c.stamp.At.Add(2 * syncstamp.RacyWindow)
	return c
}

func TestConfigStampUnchanged(t *testing.T) {
	c := loaded(t, configTree(t))
	if !configCurrent(c.stamp) {
		t.Error("nothing changed, but the stamp is not current")
	}
}

func TestConfigStampSeesChanges(t *testing.T) {
	for name, change := range map[string]func(dir string) error{
		// In place edits change the size: made this soon after the files,
		// the same size could keep the same times (why racy stamps fail).
		"OPTIONS edited": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "OPTIONS"), []byte("CMD=\"/bin/sleep 20000\"\n"), 0o644)
		},
		"site defaults edited": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "..", ".opt", "SVC_OPTIONS"), []byte("SVC_STOP_TIMEOUT=3\n"), 0o644)
		},
		"a profile file appears": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "OPTIONS.test"), []byte("CMD=/bin/true\n"), 0o644)
		},
		"log/ appears": func(dir string) error { return os.Mkdir(filepath.Join(dir, "log"), 0o755) },
		"OPTIONS replaced, same size": func(dir string) error {
			tmp := filepath.Join(dir, "new")
			if err := os.WriteFile(tmp, []byte("CMD=\"/bin/sleep 1001\"\n"), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, filepath.Join(dir, "OPTIONS"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := configTree(t)
			c := loaded(t, dir)
			if err := change(dir); err != nil {
				t.Fatal(err)
			}
			if configCurrent(c.stamp) {
				t.Error("the stamp is still current")
			}
		})
	}
}

// A file changed just before it was read may change again without its
// times moving: such a stamp is never current.
func TestConfigStampRacy(t *testing.T) {
	c := loadConfig(configTree(t))
	if c.stamp == nil {
		t.Fatalf("no stamp: %s", c.err)
	}
	if configCurrent(c.stamp) {
		t.Error("a stamp of files written just now is current")
	}
	c.stamp.At = time.Now().Add(2 * syncstamp.RacyWindow)
	if !configCurrent(c.stamp) {
		t.Error("the same stamp, taken later, is not current")
	}
}

// A service taken up again gets the config kept from before while its
// OPTIONS are unchanged, and reads them again once they changed.
func TestConfigCache(t *testing.T) {
	dir := configTree(t)
	var c configCache
	first := c.get(dir)
	first.stamp.At = first.stamp.At.Add(2 * syncstamp.RacyWindow) // as if read well after the files were written
	c.put(dir, first)
	if again := c.get(dir); again.svc != first.svc {
		t.Error("unchanged OPTIONS were read again")
	}
	if err := os.WriteFile(filepath.Join(dir, "OPTIONS"), []byte("SVC_CMD=\"/bin/sleep 100000\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := c.get(dir)
	if changed.svc == first.svc {
		t.Fatal("changed OPTIONS were not read again")
	}
	if got := changed.svc.Config.Cmd; strings.Join(got, " ") != "/bin/sleep 100000" {
		t.Errorf("SVC_CMD = %q", got)
	}
}

// Within a pass of the scan loop a config is read once, even one just
// written (whose stamp is not trusted yet); outside one, and for get, it
// is read again.
func TestConfigCachePass(t *testing.T) {
	dir := configTree(t)
	var c configCache
	c.beginPass()
	first := c.inPass(dir)
	if again := c.inPass(dir); again.svc != first.svc {
		t.Error("a config got in the pass was read again in it")
	}
	if fresh := c.get(dir); fresh.svc == first.svc {
		t.Error("get trusted a stamp taken within its racy window")
	}
	c.endPass()
	if after := c.inPass(dir); after.svc == first.svc {
		t.Error("a config of an ended pass was trusted")
	}
}
