package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// A sync stamps what it read and wrote; the stamp holds until one of
// those changes, and only for the same program and settings.
func TestSyncStamp(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	sync := func() {
		t.Helper()
		if res, err := g.Sync([]string{"a"}); err != nil || len(res.Problems) > 0 {
			t.Fatalf("sync: %v %v", err, res.Problems)
		}
	}
	// age dates the stamp later, as if taken long after the files changed.
	age := func() {
		t.Helper()
		file := SyncStampPath(g.Layout, "a")
		s, err := syncstamp.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		s.At = time.Now().Add(2 * syncstamp.RacyWindow)
		if err := syncstamp.Write(file, s); err != nil {
			t.Fatal(err)
		}
	}
	fresh := func(want string) {
		t.Helper()
		if got := g.Fresh("a"); !strings.Contains(got, want) || (want == "" && got != "") {
			t.Fatalf("Fresh = %q, want %q", got, want)
		}
	}

	sync()
	fresh("had just changed") // written now: not to be trusted yet
	age()
	fresh("")

	// What the sync reads: OPTIONS edited, a layer added, site defaults.
	opts := filepath.Join(g.Layout.ServiceDir("a"), "OPTIONS")
	data, err := os.ReadFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		change     func() error
	}{
		{"OPTIONS edited", "OPTIONS changed", func() error { return os.WriteFile(opts, append(data, "SVC_NICE=3\n"...), 0o644) }},
		{"a profile's layer added", "/a changed", func() error {
			return os.WriteFile(filepath.Join(g.Layout.ServiceDir("a"), "OPTIONS.prod"), []byte("SVC_NICE=1\n"), 0o644)
		}},
		{"site defaults edited", "SVC_OPTIONS changed", func() error {
			return os.WriteFile(filepath.Join(g.Layout.OptDir, "SVC_OPTIONS"), []byte("SVC_NICE=2\n"), 0o644)
		}},
		{"a generated file removed", "/run changed", func() error { return os.Remove(filepath.Join(g.Layout.ServiceDir("a"), "run")) }},
		{"a site template added", ".opt changed", func() error {
			dir := filepath.Join(g.Layout.OptDir, "templates")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\n"), 0o644)
		}},
	} {
		sync()
		age()
		fresh("")
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fresh(c.want)
	}

	// Another profile, or another command for the scripts: another key.
	sync()
	age()
	g.Profile, g.key = "prod", ""
	fresh("another program or with other settings")
	if got := g.SyncedAlike("a"); got == "" {
		t.Fatal("SyncedAlike under another profile: want a reason")
	}
	g.Profile, g.key = "", ""
	fresh("")

	// An enabled service keeps no stamp (its scan dir link is the sync's).
	if _, err := g.Enable([]string{"a"}); err != nil {
		t.Fatal(err)
	}
	sync()
	fresh("no sync stamp")
}

// The stamp outlives a boot (kept in ROOT/var/lib, nothing of /run in it
// but the run dir's directories, which the scanner makes again): with the
// run dir emptied it still holds, and an OPTIONS edited while the machine
// was off, even one put back with its old modification time, is seen.
func TestSyncStampAcrossBoot(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	if res, err := g.Sync([]string{"a"}); err != nil || len(res.Problems) > 0 {
		t.Fatalf("sync: %v %v", err, res.Problems)
	}
	file := SyncStampPath(g.Layout, "a")
	if !strings.HasPrefix(file, filepath.Join(filepath.Dir(g.Layout.SvDir), "..", "var", "lib", "sv", "sync")) &&
		!strings.Contains(file, "/var/lib/sv/sync/") {
		t.Fatalf("stamp at %s, want under ROOT/var/lib/sv/sync", file)
	}
	s, err := syncstamp.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	s.At = time.Now().Add(2 * syncstamp.RacyWindow)
	if err := syncstamp.Write(file, s); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Paths {
		if p.Kind != syncstamp.IsDir && strings.HasPrefix(p.Name, g.Layout.RunDir) {
			t.Errorf("the stamp records %s, which a boot removes", p.Name)
		}
	}
	boot := func() {
		t.Helper()
		if err := os.RemoveAll(g.Layout.RunDir); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{g.Layout.ScanDir, g.Layout.SuperviseDir, g.Layout.LogSuperviseDir} {
			if err := os.MkdirAll(d, 0o755); err != nil { // sv-scan's start
				t.Fatal(err)
			}
		}
	}
	boot()
	if got := g.Fresh("a"); got != "" {
		t.Fatalf("after a boot: Fresh = %q, want it to hold", got)
	}
	// Edited while off, its time put back (cp -p, rsync -t, tar): same
	// size too, but the inode's change time moved.
	opts := filepath.Join(g.Layout.ServiceDir("a"), "OPTIONS")
	fi, err := os.Stat(opts)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(opts)
	edited := []byte(strings.Replace(string(data), "sleep", "sleeq", 1))
	if err := os.WriteFile(opts, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(opts, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	boot()
	if got := g.Fresh("a"); !strings.Contains(got, "OPTIONS changed") {
		t.Fatalf("OPTIONS edited while off: Fresh = %q, want it changed", got)
	}
}

// A stamp that cannot be written (a read-only /var) is no error: the
// service is then synced at every start.
func TestSyncStampUnwritable(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(SyncStampPath(g.Layout, "a"))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil { // a file where the dir should be
		t.Fatal(err)
	}
	if res, err := g.Sync([]string{"a"}); err != nil || len(res.Problems) > 0 {
		t.Fatalf("sync: %v %v", err, res.Problems)
	}
	if got := g.Fresh("a"); got != "no sync stamp" {
		t.Fatalf("Fresh = %q, want no sync stamp", got)
	}
}

// sv-gen remove takes the stamp with the service: it is kept across boots,
// so nothing else would.
func TestRemoveRemovesSyncStamp(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	if res, err := g.Sync([]string{"a"}); err != nil || len(res.Problems) > 0 {
		t.Fatalf("sync: %v %v", err, res.Problems)
	}
	file := SyncStampPath(g.Layout, "a")
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Remove("a", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("stamp after remove: %v", err)
	}
}

// The key names the program the scripts exec (the multi-call binary), not
// the program computing it: the lean sv-scan, another file, computes the
// key sv-rc stamps with; and replacing that program changes the key.
func TestSyncKeyNamesTheExecutedProgram(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "supervision")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "sv-exec")
	if err := os.Symlink("supervision", link); err != nil {
		t.Fatal(err)
	}
	g := newTestGen(t)
	g.Exec = []string{link}
	before := g.SyncKeyNow()
	// Another program computing the key for the same tree and command
	// (this test binary stands for it either way) gets the same key...
	other := newTestGen(t)
	other.Layout, other.Exec = g.Layout, []string{link}
	if other.SyncKeyNow() != before {
		t.Fatal("two generators of one tree and command disagree on the key")
	}
	// ...and an upgrade of the executed program (a new file) changes it.
	if err := os.Remove(prog); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n# new version\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if g.SyncKeyNow() == before {
		t.Error("the key did not change when the program sv-exec runs was replaced")
	}
}
