package syncstamp

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// take is Begin, then Add and AddDirs.
func take(t *testing.T, key string, paths, dirs []string) *Stamp {
	t.Helper()
	s := Begin(key)
	if err := s.Add(paths...); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDirs(dirs...); err != nil {
		t.Fatal(err)
	}
	return s
}

// aged sets a stamp's time a RacyWindow after now, as if the paths had
// been stamped long after they last changed (no test waits a second).
func aged(s *Stamp) *Stamp {
	s.At = time.Now().Add(2 * RacyWindow)
	return s
}

func TestTakeAndStale(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "OPTIONS")
	gone := filepath.Join(dir, "OPTIONS.prod")
	if err := os.WriteFile(file, []byte("CMD=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := take(t, "k1", []string{file, gone, file}, []string{dir})
	if len(s.Paths) != 3 || s.Paths[0].Kind != Same || s.Paths[1].Kind != Absent || s.Paths[2].Kind != IsDir {
		t.Fatalf("paths %+v: want the file, the absent one, the dir (each once)", s.Paths)
	}
	if why := s.Stale(); !strings.Contains(why, "just changed") {
		t.Fatalf("fresh stamp of a file written now: %q, want racy", why)
	}
	aged(s)
	if why := s.Stale(); why != "" {
		t.Fatalf("aged stamp: %q, want it to hold", why)
	}

	cases := []struct {
		name   string
		change func() error
		want   string
	}{
		{"rewritten", func() error { return os.WriteFile(file, []byte("CMD=y\n"), 0o644) }, file + " changed"},
		{"renamed over", func() error {
			tmp := file + ".tmp"
			if err := os.WriteFile(tmp, []byte("CMD=x\n"), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, file)
		}, file + " changed"},
		{"touched", func() error { return os.Chtimes(file, time.Now(), time.Now()) }, file + " changed"},
		{"removed", func() error { return os.Remove(file) }, file + " changed"},
		{"appeared", func() error { return os.WriteFile(gone, nil, 0o644) }, gone + " appeared"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(gone)
			if err := os.WriteFile(file, []byte("CMD=x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s := take(t, "k1", []string{file, gone}, []string{dir})
			aged(s)
			if why := s.Stale(); why != "" {
				t.Fatalf("before the change: %q", why)
			}
			if err := c.change(); err != nil {
				t.Fatal(err)
			}
			if why := s.Stale(); why != c.want {
				t.Fatalf("after: %q, want %q", why, c.want)
			}
		})
	}

	s = take(t, "k1", nil, []string{filepath.Join(dir, "sub")})
	if why := s.Stale(); !strings.Contains(why, "not a directory") {
		t.Fatalf("missing dir: %q", why)
	}
}

func TestRefuses(t *testing.T) {
	for _, path := range []string{"a\nb", ""} {
		if err := Begin("k").Add(path); err == nil {
			t.Errorf("Add(%q): no error", path)
		}
	}
	// A path changed after Begin (after the reading it stands for) is
	// never trusted: the stamp cannot vouch for what it saw then.
	file := filepath.Join(t.TempDir(), "OPTIONS")
	s := Begin("k")
	if err := os.WriteFile(file, []byte("CMD=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(file); err != nil {
		t.Fatal(err)
	}
	if why := s.Stale(); !strings.Contains(why, "just changed") {
		t.Fatalf("changed after Begin: %q, want it refused", why)
	}
	dir := t.TempDir()
	for _, key := range []string{"", "two words"} {
		if err := Write(filepath.Join(dir, "x"), &Stamp{Key: key}); err == nil {
			t.Errorf("Write with key %q: no error", key)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	s := &Stamp{Key: "abc", At: time.Unix(0, 1700000000123456789), Paths: []Path{
		{Kind: Same, Name: "/etc/sv/a b/OPTIONS", Ino: 12, Size: 34, Mtime: -5, Ctime: 1700000000000000000},
		{Kind: Absent, Name: "/etc/sv/a b/OPTIONS.x"},
		{Kind: IsDir, Name: "/run/sv"},
	}}
	got, err := Decode(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(s.At) || got.Key != s.Key || !reflect.DeepEqual(got.Paths, s.Paths) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "sync", "a")
	if err := Write(file, s); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(file); err != nil || got.Key != "abc" {
		t.Fatalf("Read after Write: %+v, %v", got, err)
	}
	if _, err := Read(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no stamp: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"sv-sync-stamp 2 k 1\n",
		"sv-sync-stamp 1 k\n",
		"sv-sync-stamp 1  1\n",
		"sv-sync-stamp 1 k x\n",
		"sv-sync-stamp 1 k 1\nf 1 2 3 /p\n",
		"sv-sync-stamp 1 k 1\nf 1 2 3 x /p\n",
		"sv-sync-stamp 1 k 1\nf -1 2 3 4 /p\n",
		"sv-sync-stamp 1 k 1\nx /p\n",
		"sv-sync-stamp 1 k 1\n-- /p\n",
		"sv-sync-stamp 1 k 1\n-\n",
		"sv-sync-stamp 1 k 1\nd \n",
	} {
		if s, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", in, s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("sv-sync-stamp 1 k 1\nf 1 2 3 4 /p q\n- /a\nd /d\n"))
	f.Add([]byte("sv-sync-stamp 1 k -1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			return
		}
		// What decodes encodes back to something that decodes the same.
		again, err := Decode(s.Encode())
		if err != nil {
			t.Fatalf("re-decoding %q: %v", s.Encode(), err)
		}
		if again.Key != s.Key || !again.At.Equal(s.At) || !reflect.DeepEqual(again.Paths, s.Paths) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", data, again, s)
		}
	})
}

// A stamp file that is a FIFO or a device is refused at once: stamps are
// read at every start, by sv-rc and by sv-scan.
func TestReadNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "stamp")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, file := range []string{fifo, "/dev/zero"} {
			if _, err := Read(file); !errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("Read(%s) = %v, want a refusal", file, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Read of a FIFO did not return within 10s")
	}
}
