package options

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/safefile"
)

type mapCatalog map[string]string

func (m mapCatalog) Read(name string) ([]byte, error) {
	s, ok := m[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s), nil
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLayering(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".opt/SVC_OPTIONS":   "SVC_STOP_TIMEOUT=20\nSVC_OPTS=-site\n",
		"getty/OPTIONS":      "SVC_CATALOG=getty\nSVC_OPTS=\"$SVC_OPTS -svc\"\nSVC_NICE=5\n",
		"getty/OPTIONS.prod": "SVC_NICE=-5\nSVC_OPTS=\"$SVC_OPTS -prod\"\n",
		"getty/OPTIONS.tty2": "SVC_OPTS=\"$SVC_OPTS -inst\"\nSVC_READY=path:/run/$SVC_INSTANCE\n",
	})
	l := &Loader{SvDir: dir, Profile: "prod", Catalog: mapCatalog{
		"getty": "SVC_CMD=agetty\nSVC_OPTS=\"$SVC_OPTS -cat\"\nSVC_STOP_TIMEOUT=30\n",
	}}
	svc, err := l.Load("getty@tty2")
	if err != nil {
		t.Fatal(err)
	}
	s := svc.Set
	if got := s.Get("SVC_OPTS"); got != "-site -cat -svc -prod -inst" {
		t.Errorf("SVC_OPTS = %q: layers applied out of order", got)
	}
	if got := s.Get("SVC_STOP_TIMEOUT"); got != "30" {
		t.Errorf("catalog should win over site: %q", got)
	}
	if v, _ := s.Lookup("SVC_STOP_TIMEOUT"); v.Source.Path != "catalog:getty" || v.Source.Layer != LayerCatalog {
		t.Errorf("source %+v", v.Source)
	}
	if v, _ := s.Lookup("SVC_NICE"); v.Text != "-5" || v.Source.Layer != LayerProfile || v.Source.Line != 1 {
		t.Errorf("SVC_NICE %+v", v)
	}
	if got := s.Get("SVC_READY"); got != "path:/run/tty2" {
		t.Errorf("SVC_READY = %q", got)
	}
	if v, _ := s.Lookup("SVC_UMASK"); v.Source.Layer != LayerDefault {
		t.Errorf("SVC_UMASK source %+v", v.Source)
	}
	if svc.Catalog != "getty" || svc.Profile != "prod" || len(svc.Files) != 5 {
		t.Errorf("catalog %q profile %q files %v", svc.Catalog, svc.Profile, svc.Files)
	}
}

func TestProfileFromFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".opt/SVC_OPTIONS": "SV_PROFILE=dev\n",
		"a/OPTIONS":        "SVC_CMD=true\n",
		"a/OPTIONS.dev":    "SVC_NICE=3\n",
		"a/OPTIONS.prod":   "SVC_NICE=-3\n",
	})
	svc, err := (&Loader{SvDir: dir}).Load("a")
	if err != nil || svc.Set.Get("SVC_NICE") != "3" {
		t.Fatalf("site profile: %v %q", err, svc.Set.Get("SVC_NICE"))
	}
	svc, err = (&Loader{SvDir: dir, Profile: "prod"}).Load("a")
	if err != nil || svc.Set.Get("SVC_NICE") != "-3" {
		t.Fatalf("environment profile must win: %v %q", err, svc.Set.Get("SVC_NICE"))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a/OPTIONS":        "SVC_CATALOG=$X\n",
		"b/OPTIONS":        "SVC_CMD=x\n\nSVC_CATALOG=nope\n",
		"c/OPTIONS":        "SVC_CMD=x\n",
		"c@1/OPTIONS":      "SVC_NICE=1\n",
		"d/OPTIONS":        "SVC_CMD=x\nSVC_NICE=99\nSVC_STOP_SIGNAL=NOPE\n",
		".opt/SVC_OPTIONS": "",
	})
	l := &Loader{SvDir: dir, Catalog: mapCatalog{}}
	tests := map[string][]string{
		"a":    {"a/OPTIONS:1: SVC_CATALOG must be a plain name"},
		"b":    {"b/OPTIONS:3: SVC_CATALOG: no catalog entry named \"nope\""},
		"c@1":  {"c@1/OPTIONS: an instance has no OPTIONS of its own: move these settings to " + filepath.Join(dir, "c/OPTIONS.1")},
		"d":    {"d/OPTIONS:2: SVC_NICE: \"99\" is not a whole number from -20 to 19", "d/OPTIONS:3: SVC_STOP_SIGNAL"},
		"e":    {"e/OPTIONS: no such file"},
		"../x": {"is not a service name"},
	}
	for name, wants := range tests {
		_, err := l.Load(name)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(wants) {
			t.Errorf("%s: got %q, want %d lines", name, err, len(wants))
			continue
		}
		for i, w := range wants {
			if !strings.Contains(lines[i], w) {
				t.Errorf("%s: line %q does not contain %q", name, lines[i], w)
			}
		}
	}
}

type fakeHost struct{ users, groups, files map[string]bool }

func (h fakeHost) LookupUser(n string) error  { return boolErr(h.users[n]) }
func (h fakeHost) LookupGroup(n string) error { return boolErr(h.groups[n]) }
func (h fakeHost) Stat(p string) error        { return boolErr(h.files[p]) }
func (h fakeHost) Executable(p string) error  { return executable(p) }
func (h fakeHost) Where() string              { return "on this system" }

func boolErr(ok bool) error {
	if ok {
		return nil
	}
	return os.ErrNotExist
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"mine/OPTIONS": "SVC_CMD=sh\nSVC_USER=nobdy\nSVC_ENV_FILE=/etc/missing\nLOG=custom\n",
		"pkg/OPTIONS":  "SVC_CATALOG=pg\n",
		"none/OPTIONS": "SVC_OPTS=-x\n",
	})
	l := &Loader{SvDir: dir, Catalog: mapCatalog{"pg": "SVC_CMD=no-such-daemon-xyz\nSVC_USER=postgres\n"}}
	host := fakeHost{users: map[string]bool{"root": true}}

	svc, err := l.Load("mine")
	if err != nil {
		t.Fatal(err)
	}
	errs, warns := svc.Check(host)
	if len(errs) != 3 || len(warns) != 0 {
		t.Fatalf("mine: errors %v warnings %v", errs, warns)
	}
	for i, want := range []string{"OPTIONS:4: LOG=custom needs LOG_CMD", "OPTIONS:2: SVC_USER: no user \"nobdy\"", "OPTIONS:3: SVC_ENV_FILE"} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %q, want %q", i, errs[i], want)
		}
	}

	// From the catalog, a missing user or program is a warning: the package
	// that brings the daemon brings them.
	svc, err = l.Load("pkg")
	if err != nil {
		t.Fatal(err)
	}
	errs, warns = svc.Check(host)
	if len(errs) != 0 || len(warns) != 2 {
		t.Fatalf("pkg: errors %v warnings %v", errs, warns)
	}
	if !strings.HasPrefix(warns[0].Error(), "catalog:pg:1: SVC_CMD no-such-daemon-xyz: not found in SVC_PATH") {
		t.Errorf("warning %q", warns[0])
	}

	svc, _ = l.Load("none")
	errs, _ = svc.Check(host)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "SVC_CMD is not set") {
		t.Errorf("none: %v", errs)
	}
}

func TestResolveCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	writeFiles(t, dir, map[string]string{"bin/alt": "#!/bin/sh\n", "svc/local": "#!/bin/sh\n", "bin/noexec": ""})
	os.Chmod(filepath.Join(bin, "alt"), 0o755)
	os.Chmod(filepath.Join(dir, "svc/local"), 0o755)
	set := func(kv ...string) *Service {
		s := NewSet(nil)
		f, err := Parse("t", []byte(strings.Join(kv, "\n")+"\nSVC_PATH="+bin))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(f, LayerService); err != nil {
			t.Fatal(err)
		}
		cfg, err := Decode(s)
		if err != nil {
			t.Fatal(err)
		}
		return &Service{Dir: filepath.Join(dir, "svc"), Set: s, Config: cfg}
	}
	c, err := set("SVC_CMD=missing", "SVC_OPTS='-a b'", "SVC_ALT_CMD='alt sub'", "SVC_ALT_OPTS=-f").ResolveCommand()
	if err != nil || !c.Alt || c.Path != filepath.Join(bin, "alt") || JoinWords(c.Argv) != "alt sub -f" {
		t.Errorf("alt: %+v %v", c, err)
	}
	c, err = set("SVC_CMD=./local", "SVC_OPTS='x y'").ResolveCommand()
	if err != nil || c.Path != filepath.Join(dir, "svc/local") || len(c.Argv) != 3 {
		t.Errorf("relative: %+v %v", c, err)
	}
	_, err = set("SVC_CMD=noexec").ResolveCommand()
	if err == nil || !strings.Contains(err.Error(), "not found in SVC_PATH") {
		t.Errorf("noexec: %v", err)
	}
	_, err = set("SVC_CMD=missing", "SVC_ALT_CMD=gone").ResolveCommand()
	if err == nil || !strings.Contains(err.Error(), "and SVC_ALT_CMD gone") {
		t.Errorf("both missing: %v", err)
	}
	if !errors.Is(ErrNotFound, ErrNotFound) {
		t.Fatal()
	}
}

// No layer can hang or exhaust the load: a FIFO (with no writer), a
// device or an oversized file is refused at once, in one line each.
func TestLoadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"fifo/OPTIONS":     "",
		"zero/OPTIONS":     "",
		"big/OPTIONS":      "SVC_CMD=x\n# " + strings.Repeat("x", 1<<20) + "\n",
		"prof/OPTIONS":     "SVC_CMD=x\n",
		"site/OPTIONS":     "SVC_CMD=x\nSVC_CATALOG=fifo\n",
		".opt/SVC_OPTIONS": "",
	})
	mkfifo := func(rel string) {
		p := filepath.Join(dir, rel)
		os.Remove(p)
		if err := unix.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mkfifo("fifo/OPTIONS")
	mkfifo("prof/OPTIONS.prod")
	os.Remove(filepath.Join(dir, "zero/OPTIONS"))
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero/OPTIONS")); err != nil {
		t.Fatal(err)
	}
	l := &Loader{SvDir: dir, Catalog: fifoCatalog{dir}}
	tests := map[string]string{
		"fifo": filepath.Join(dir, "fifo/OPTIONS") + ": not a regular file (a FIFO)",
		"zero": filepath.Join(dir, "zero/OPTIONS") + ": not a regular file (a character device)",
		"big":  filepath.Join(dir, "big/OPTIONS") + ": larger than 1 MiB",
		"prof": filepath.Join(dir, "prof/OPTIONS.prod") + ": not a regular file (a FIFO)",
		"site": filepath.Join(dir, ".opt/catalog/fifo") + ": not a regular file (a FIFO)",
	}
	for name, want := range tests {
		done := make(chan error, 1)
		go func() {
			l := *l
			if name == "prof" {
				l.Profile = "prod"
			}
			_, err := l.Load(name)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != want {
				t.Errorf("%s: got %v, want %q", name, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Load did not return within 10s", name)
		}
	}
	mkfifo(".opt/SVC_OPTIONS")
	if _, err := l.Load("prof"); err == nil || !strings.Contains(err.Error(), ".opt/SVC_OPTIONS: not a regular file (a FIFO)") {
		t.Errorf("site defaults a FIFO: %v", err)
	}
}

// fifoCatalog reads entries as the site catalog does, from SvDir/.opt/catalog.
type fifoCatalog struct{ dir string }

func (c fifoCatalog) Read(name string) ([]byte, error) {
	p := filepath.Join(c.dir, ".opt/catalog", name)
	if name == "fifo" {
		os.MkdirAll(filepath.Dir(p), 0o755)
		unix.Mkfifo(p, 0o600)
	}
	return safefile.ReadFile(p, safefile.ConfigLimit)
}

// The cap on problems shown holds per file across parsing and
// evaluation: one line for the rest, after the first MaxFileErrors.
func TestLoadCapsErrorsPerFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"many/OPTIONS":     "SVC_CMD=x\n" + strings.Repeat("SVC_NICE=99\necho\n", 20),
		".opt/SVC_OPTIONS": strings.Repeat("SVC_STOP_SIGNAL=NOPE\n", 12) + strings.Repeat("NO_SUCH_KEY=1\n", 15),
	})
	l := &Loader{SvDir: dir}
	svc, err := l.Load("many")
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		filepath.Join(dir, ".opt/SVC_OPTIONS") + ": 2 more errors not shown",
		filepath.Join(dir, "many/OPTIONS") + ": 30 more errors not shown",
	}
	if len(lines) != 2*(MaxFileErrors+1) || lines[MaxFileErrors] != want[0] || lines[len(lines)-1] != want[1] {
		t.Errorf("got %d lines:\n%s", len(lines), err)
	}
	if es.Count() != 12+40 {
		t.Errorf("Count() = %d, want 52", es.Count())
	}
	if n := len(svc.Set.Warnings); n != MaxFileErrors+1 || svc.Set.Warnings[n-1].Msg != "5 more warnings not shown" {
		t.Errorf("warnings: %v", svc.Set.Warnings)
	}
}

func TestServiceNameLength(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, name := range []string{long, "getty@" + long} {
		err := CheckServiceName(name)
		if err == nil || !strings.Contains(err.Error(), "it is 300 characters long, and a name, like an instance, has at most 100") {
			t.Errorf("%d-byte name: %v", len(name), err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("the name is quoted whole: %q", err)
		}
	}
	if err := CheckServiceName(strings.Repeat("a", 100) + "@" + strings.Repeat("b", 100)); err != nil {
		t.Errorf("100 and 100: %v", err)
	}
	if err := CheckServiceName("a b"); err == nil || !strings.Contains(err.Error(), "(letters, digits") {
		t.Errorf("a bad character: %v", err)
	}
}
