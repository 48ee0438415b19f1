package openrc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/safefile"
)

func newDependRunner(t *testing.T) *Runner {
	t.Helper()
	l, err := layout.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := gen.New(l, []string{"/usr/bin/sv-exec"})
	g.Profile = ""
	for _, req := range []gen.AddRequest{
		{Name: "db", Command: []string{"/bin/sleep", "1"}},
		{Name: "web", Command: []string{"/bin/sleep", "1"}, Set: []string{"SVC_NEED=db syslog", "SVC_AFTER=db", "SVC_WANT=cache"}},
		{Name: "broken", Command: []string{"/bin/sleep", "1"}},
	} {
		if _, err := g.Add(req); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(filepath.Join(l.SvDir, "broken", "OPTIONS"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "SVC_USER=$(id -un)")
	f.Close()
	return &Runner{Gen: g, ScanDir: l.ScanDir}
}

// One run writes every service's depend() for the pass, as `sv-rc depend`
// prints it; a service whose OPTIONS do not load gets none; a pass whose
// shell has ended is removed; a pass that is not PID-STARTTIME is refused.
func TestDependAll(t *testing.T) {
	r := newDependRunner(t)
	dir := DependDir(r.Gen.Layout)
	// An ended pass (pid 1 never started at time 0 here) and a live one:
	// this test's own process.
	self, err := safefile.ReadFile("/proc/self/stat", safefile.StateLimit)
	if err != nil {
		t.Skip("no /proc")
	}
	live := fmt.Sprintf("%d-%s", os.Getpid(), procStartTime(string(self)))
	for _, p := range []string{"1-0", live} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.DependAll("77-12345"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"db":  {"need supervision"},
		"web": {"need supervision", "need sv.db syslog", "want cache", "after sv.db"},
	} {
		got, err := os.ReadFile(filepath.Join(dir, "77-12345", name))
		if err != nil {
			t.Fatal(err)
		}
		lines, _ := r.Depend(name)
		if !strings.HasSuffix(string(got), strings.Join(lines, "\n")+"\n") {
			t.Errorf("%s: file %q, sv-rc depend %q", name, got, lines)
		}
		for _, w := range want {
			if !strings.Contains(string(got), "\n"+w+"\n") {
				t.Errorf("%s: %q lacks %q", name, got, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "77-12345", "broken")); err == nil {
		t.Error("broken OPTIONS got a depend() file")
	}
	if _, err := os.Stat(filepath.Join(dir, "1-0")); err == nil {
		t.Error("the ended pass 1-0 is still there")
	}
	if _, err := os.Stat(filepath.Join(dir, live)); err != nil {
		t.Errorf("the live pass %s was removed", live)
	}
	for _, bad := range []string{"", "1", "a-1", "1-2/x", "../x-1", "0-1"} {
		if err := r.DependAll(bad); err == nil {
			t.Errorf("pass %q accepted", bad)
		}
	}
}

func TestProcStartTime(t *testing.T) {
	stat := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
	if got := procStartTime(stat); got != "987654" {
		t.Errorf("got %q", got)
	}
	if got := procStartTime("4242 (x) S 1"); got != "" {
		t.Errorf("short line: got %q", got)
	}
}
