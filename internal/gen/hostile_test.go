package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bounded runs f (which must not call t.Fatal), failing the test if it
// has not returned within a generous bound: what it reads must be
// refused, not waited for.
func bounded(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10s", what)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A hand-written service whose OPTIONS is a FIFO is listed and checked
// as a service, and its one problem said, without waiting for a writer.
func TestOptionsFIFO(t *testing.T) {
	g := newTestGen(t)
	opts := filepath.Join(g.Layout.ServiceDir("n"), "OPTIONS")
	mkfifo(t, opts)
	bounded(t, "check", func() {
		results, err := g.Check(nil)
		if err != nil || len(results) != 1 || len(results[0].Errors) != 1 {
			t.Errorf("check: %v %+v", err, results)
			return
		}
		if got, want := results[0].Errors[0].Error(), opts+": not a regular file (a FIFO)"; got != want {
			t.Errorf("check: %q, want %q", got, want)
		}
	})
	bounded(t, "list", func() {
		list, err := g.List()
		if err != nil || len(list) != 1 || list[0].Kind != KindService || !strings.HasSuffix(list[0].Problem, "not a regular file (a FIFO)") {
			t.Errorf("list: %v %+v", err, list)
		}
	})
}

// A site template that is a FIFO stops the render with one line naming it.
func TestTemplateFIFO(t *testing.T) {
	g := newTestGen(t)
	tmpl := filepath.Join(g.Layout.OptDir, "templates", "run")
	mkfifo(t, tmpl)
	bounded(t, "init", func() {
		_, err := g.Init()
		if err == nil || err.Error() != tmpl+": not a regular file (a FIFO)" {
			t.Errorf("init: %v", err)
		}
	})
}

// A key of --set is shown on the error's one line, quoted when it holds
// what would break the line.
func TestSetKeyQuoted(t *testing.T) {
	g := newTestGen(t)
	for set, want := range map[string]string{
		"A\nB=1":    `--set "A\nB=1": unknown key "A\nB" (docs/OPTIONS.md lists them)`,
		"A\x1b[2J":  `--set "A\x1b[2J": want KEY=VALUE`,
		"SVC_USR=x": `--set SVC_USR=x: unknown key SVC_USR (did you mean SVC_USER?)`,
	} {
		_, err := g.Add(AddRequest{Name: "a", Command: []string{"sh"}, Set: []string{set}})
		if err == nil || err.Error() != want {
			t.Errorf("--set %q: got %v, want %s", set, err, want)
		}
	}
}
