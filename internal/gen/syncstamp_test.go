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
		file := g.Layout.SyncStamp("a")
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
