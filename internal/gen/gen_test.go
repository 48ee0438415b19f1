package gen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/layout"
)

func newTestGen(t *testing.T) *Generator {
	t.Helper()
	l, err := layout.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := New(l, []string{"/usr/bin/sv-exec"})
	g.Profile = ""
	return g
}

// Every catalog entry: `sv-gen add NAME` then `sv-gen check NAME` passes
// (a missing program, user or needed service is a warning, not an
// error), and an instance of it adds and checks too.
func TestCatalogAddThenCheck(t *testing.T) {
	g := newTestGen(t)
	list, err := g.Catalog.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		res, err := g.Add(AddRequest{Name: e.Name})
		if err != nil {
			t.Errorf("add %s: %v", e.Name, err)
			continue
		}
		if res.Catalog != e.Name {
			t.Errorf("add %s: catalog %q", e.Name, res.Catalog)
		}
		results, err := g.Check([]string{e.Name})
		if err != nil || len(results) != 1 || len(results[0].Errors) > 0 {
			t.Errorf("check %s: %v %+v", e.Name, err, results)
		}
		for _, w := range results[0].Warnings {
			// (what an entry needs is not in this tree of one service)
			if !strings.Contains(w.Msg, "not found in SVC_PATH") && !strings.Contains(w.Msg, "no user") && !strings.Contains(w.Msg, "SVC_NEED: no such service") {
				t.Errorf("check %s: unexpected warning %v", e.Name, w)
			}
		}
		inst := e.Name + "@x1"
		if _, err := g.Add(AddRequest{Name: inst}); err != nil {
			t.Errorf("add %s: %v", inst, err)
		}
	}
}

func TestAddGetty(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "getty@ttyS0"}); err != nil {
		t.Fatal(err)
	}
	// The definition is shared and not itself a service; the instance is.
	if g.kindOf("getty") != KindDefinition || g.kindOf("getty@ttyS0") != KindService {
		t.Errorf("kinds: getty %s, getty@ttyS0 %s", g.kindOf("getty"), g.kindOf("getty@ttyS0"))
	}
	svc, err := g.Loader().Load("getty@ttyS0")
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Set.Get("SVC_OPTS"); got != "-L 115200,38400,9600 ttyS0" {
		t.Errorf("SVC_OPTS = %q", got)
	}
	if exists(filepath.Join(svc.Dir, "log")) {
		t.Error("getty has LOG=none but got a log/ service")
	}
	// Adding the plain name now makes the definition a service (tty1).
	if _, err := g.Add(AddRequest{Name: "getty"}); !errors.Is(err, ErrExists) {
		t.Errorf("add getty over its definition dir: %v", err)
	}
	// A second instance with its own setting goes to OPTIONS.<instance>.
	if _, err := g.Add(AddRequest{Name: "getty@tty2", Set: []string{"SVC_STOP_TIMEOUT=1s"}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(g.Layout.SvDir, "getty", "OPTIONS.tty2"))
	if string(data) != "SVC_STOP_TIMEOUT=\"1s\"\n" {
		t.Errorf("OPTIONS.tty2 = %q", data)
	}
	if _, err := g.Add(AddRequest{Name: "getty@tty3", Command: []string{"/bin/true"}}); err == nil {
		t.Error("a command for an instance of a defined service was accepted")
	}
	if _, err := g.Remove("getty", false); err == nil || !strings.Contains(err.Error(), "getty@tty2, getty@ttyS0") {
		t.Errorf("remove of a definition in use: %v", err)
	}
}

func TestAddErrorsWriteNothing(t *testing.T) {
	g := newTestGen(t)
	tests := []struct {
		req  AddRequest
		want string
	}{
		{AddRequest{Name: "nope"}, "no catalog entry of that name"},
		{AddRequest{Name: "bad/name", Command: []string{"x"}}, "is not a service name"},
		{AddRequest{Name: "a", Command: []string{"sh"}, Set: []string{"SVC_NICE=40"}}, `SVC_NICE: "40" is not a whole number`},
		{AddRequest{Name: "a", Command: []string{"sh"}, Set: []string{"SVC_STOP_SIGAL=INT"}}, "did you mean SVC_STOP_SIGNAL?"},
		{AddRequest{Name: "a", Command: []string{"sh"}, Set: []string{"SVC_USER=no-such-user-xyz"}}, `no user "no-such-user-xyz"`},
		{AddRequest{Name: "a", Command: []string{"sh"}, Set: []string{"SVC_OPTS=a;b"}}, `";" is a shell operator`},
		{AddRequest{Name: "a", Command: []string{"sh"}, Set: []string{"SVC_OPTS=$NOPE"}}, "$NOPE is not set"},
		{AddRequest{Name: "a", From: "nope", Command: []string{"sh"}}, "--from nope: no catalog entry"},
	}
	for _, tt := range tests {
		_, err := g.Add(tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("add %+v: got %v, want %q", tt.req, err, tt.want)
		}
	}
	ents, _ := os.ReadDir(g.Layout.SvDir)
	for _, e := range ents {
		if e.Name() != ".opt" && e.Name() != ".enabled" {
			t.Errorf("a failed add left %s behind", e.Name())
		}
	}
}

func TestAddFromWithCommand(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "cache", From: "memcached", Command: []string{"/opt/memcached", "-m", "512"}}); err != nil {
		t.Fatal(err)
	}
	svc, err := g.Loader().Load("cache")
	if err != nil {
		t.Fatal(err)
	}
	if svc.Set.Get("SVC_CMD") != "/opt/memcached" || svc.Set.Get("SVC_OPTS") != "-m 512" || svc.Set.Get("SVC_USER") != "memcache" {
		t.Errorf("cache: cmd %q opts %q user %q", svc.Set.Get("SVC_CMD"), svc.Set.Get("SVC_OPTS"), svc.Set.Get("SVC_USER"))
	}
}

// A site template that fails to render stops sync before anything is
// written: the tree stays exactly as it was.
func TestSyncWithBrokenTemplateChangesNothing(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, g.Layout.Root)
	os.MkdirAll(filepath.Join(g.Layout.OptDir, "templates"), 0o755)
	os.WriteFile(filepath.Join(g.Layout.OptDir, "templates", "finish"), []byte("#!/bin/sh\nexec {{.Nope}}\n"), 0o644)
	os.WriteFile(filepath.Join(g.Layout.SvDir, "a", "OPTIONS"), []byte("SVC_CMD=/bin/sleep\nSVC_RESTART=never\n"), 0o644)
	_, err := g.Sync(nil)
	if err == nil || !strings.Contains(err.Error(), "templates/finish") || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("want an error naming the template and line, got %v", err)
	}
	after := snapshot(t, g.Layout.Root)
	delete(after, "etc/sv/.opt/templates")
	delete(after, "etc/sv/.opt/templates/finish")
	delete(after, "etc/sv/a/OPTIONS")
	delete(before, "etc/sv/a/OPTIONS")
	if d := diff(before, after); d != "" {
		t.Errorf("a failed sync changed the tree:\n%s", d)
	}
}

// snapshot maps every path under root to its content or link target.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			out[rel] = "-> " + tgt
		case fi.IsDir():
			out[rel] = "dir"
		default:
			data, _ := os.ReadFile(p)
			out[rel] = fi.Mode().String() + " " + string(data)
		}
		return nil
	})
	return out
}

func diff(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, "changed or removed: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added: "+k)
		}
	}
	return strings.Join(d, "\n")
}

// Sync leaves the user's own files alone: a hand-written run, or a finish
// script of their own, stays.
func TestSyncKeepsUserFiles(t *testing.T) {
	g := newTestGen(t)
	if _, err := g.Add(AddRequest{Name: "a", Command: []string{"/bin/sleep", "1"}}); err != nil {
		t.Fatal(err)
	}
	dir := g.Layout.ServiceDir("a")
	os.Remove(filepath.Join(dir, "finish"))
	os.WriteFile(filepath.Join(dir, "finish"), []byte("#!/bin/sh\necho mine\n"), 0o755)
	os.Remove(filepath.Join(dir, "control", "t"))
	os.Symlink("/usr/local/bin/my-stop", filepath.Join(dir, "control", "t"))
	if _, err := g.Sync(nil); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "finish")); string(data) != "#!/bin/sh\necho mine\n" {
		t.Errorf("finish replaced: %q", data)
	}
	if tgt, _ := os.Readlink(filepath.Join(dir, "control", "t")); tgt != "/usr/local/bin/my-stop" {
		t.Errorf("control/t replaced: %q", tgt)
	}
}
