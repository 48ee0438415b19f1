package httpd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// fakeService makes a service dir as sv-scan keeps one: supervise/ok with
// a reader (supervised), a status and a state.json, linked into scan.
func fakeService(t testing.TB, base, scan, name string) string {
	t.Helper()
	dir := filepath.Join(base, "sv", name)
	sup := filepath.Join(dir, "supervise")
	if err := os.MkdirAll(sup, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(sup, "ok"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(filepath.Join(sup, "ok"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	writeState(t, sup, "up", 42)
	if err := os.Symlink(dir, filepath.Join(scan, name)); err != nil {
		t.Fatal(err)
	}
	return sup
}

// writeState replaces status and state.json as sv-scan does: renamed
// into place, state.json first.
func writeState(t testing.TB, sup, phase string, pid int) {
	t.Helper()
	now := time.Now()
	st := svdir.State{Service: filepath.Base(filepath.Dir(sup)), Supervisor: "sv-scan", SupervisorPid: os.Getpid(), Phase: phase, Want: "up", Pid: pid, Since: now}
	data, _ := json.Marshal(st)
	state := 0
	if pid != 0 {
		state = 1
	}
	status := svdir.Status{Since: now, Pid: pid, WantUp: true, State: state}.Encode()
	for _, f := range []struct {
		name string
		data []byte
	}{{svdir.StateFile, data}, {"status", status}} {
		tmp := filepath.Join(sup, "."+f.name+".tmp")
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(sup, f.name)); err != nil {
			t.Fatal(err)
		}
	}
}

func states(t *testing.T, m *model) map[string]string {
	t.Helper()
	_, infos, errs, err := m.all()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, info := range infos {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		out[info.Name] = info.State
	}
	return out
}

// TestModelFresh: what the model holds is never older than the request:
// a state written, a service linked or removed, each shows in the next
// answer, with no wait.
func TestModelFresh(t *testing.T) {
	base := t.TempDir()
	scan := filepath.Join(base, "scan")
	os.MkdirAll(scan, 0o755)
	web := fakeService(t, base, scan, "web")
	m := newModel(svctl.Resolver{ScanDir: scan})
	if m.fd < 0 {
		t.Skip("no inotify")
	}
	if got := states(t, m); got["web"] != "up" || len(got) != 1 {
		t.Fatalf("first answer %v", got)
	}
	// Held: reading a state (which opens supervise/ok) is no change.
	for range 3 {
		states(t, m)
	}
	if m.reads != 1 {
		t.Fatalf("4 answers read web's files %d times, want once", m.reads)
	}
	for i := range 20 {
		phase := []string{"down", "up"}[i%2]
		writeState(t, web, phase, 42*(i%2))
		if got := states(t, m); got["web"] != phase {
			t.Fatalf("after web's state became %s, the answer says %s", phase, got["web"])
		}
	}
	fakeService(t, base, scan, "db")
	if got := states(t, m); got["db"] != "up" || len(got) != 2 {
		t.Fatalf("after db was linked: %v", got)
	}
	os.Remove(filepath.Join(scan, "web"))
	if got := states(t, m); len(got) != 1 || got["db"] != "up" {
		t.Fatalf("after web was unlinked: %v", got)
	}
}
