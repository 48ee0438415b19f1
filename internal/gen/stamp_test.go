package gen

import (
	"os"
	"path/filepath"
	"testing"
)

// A start (QuickShared) renders the shared scripts only when their stamp
// says they are missing or were rendered from other templates or values;
// sv-gen sync always renders them.
func TestQuickSharedTrustsTheStamp(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(g.Layout.OptDir, "run")
	rendered, err := os.ReadFile(run)
	if err != nil {
		t.Fatal(err)
	}
	edit := func() {
		t.Helper()
		if err := os.WriteFile(run, []byte("#!/bin/sh\n# edited\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(quick bool) string {
		t.Helper()
		g.QuickShared = quick
		res, err := g.Sync([]string{"a"})
		if err != nil || len(res.Problems) > 0 {
			t.Fatalf("sync: %v %v", err, res.Problems)
		}
		data, _ := os.ReadFile(run)
		return string(data)
	}

	edit()
	if got := sync(true); got != "#!/bin/sh\n# edited\n" {
		t.Errorf("a start with a current stamp rendered the shared scripts again: %q", got)
	}
	if got := sync(false); got != string(rendered) {
		t.Errorf("sync did not render the edited script again: %q", got)
	}

	// Other values: the stamp is not current.
	edit()
	g.Exec = []string{"/opt/bin/sv-exec"}
	if got := sync(true); got == "#!/bin/sh\n# edited\n" {
		t.Error("a new sv-exec path did not render the shared scripts again")
	}

	// A site template: the stamp is not current.
	edit()
	site := filepath.Join(g.Layout.OptDir, "templates", "run")
	os.MkdirAll(filepath.Dir(site), 0o755)
	if err := os.WriteFile(site, []byte("#!/bin/sh\n# site\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sync(true); got != "#!/bin/sh\n# site\n" {
		t.Errorf("a site template was not rendered: %q", got)
	}

	// A script gone, or the run dir gone (a reboot): rendered again.
	os.Remove(run)
	if got := sync(true); got != "#!/bin/sh\n# site\n" {
		t.Errorf("a missing shared script was not rendered: %q", got)
	}
	edit()
	if err := os.RemoveAll(g.Layout.RunDir); err != nil {
		t.Fatal(err)
	}
	if got := sync(true); got != "#!/bin/sh\n# site\n" {
		t.Errorf("after the run dir went, the shared scripts were not rendered: %q", got)
	}
	if _, err := os.Stat(g.Layout.ScanDir); err != nil {
		t.Errorf("the run dir was not made again: %v", err)
	}
}

// The stamp is bookkeeping: sv-gen does not report it as a change.
func TestStampIsNotAChange(t *testing.T) {
	g := newTestGen(t)
	changes, err := g.Init()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if filepath.Base(c.Path) == StampFile {
			t.Errorf("reported: %v", c)
		}
	}
	if _, err := os.Stat(filepath.Join(g.Layout.RunDir, StampFile)); err != nil {
		t.Errorf("no stamp: %v", err)
	}
}
