package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readWithin is ReadFile, failing the test when it takes longer than a
// generous bound: a refusal must come at once, and a hang must not hang
// the test.
func readWithin(t *testing.T, path string) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := ReadFile(path, ConfigLimit)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("ReadFile(%s) did not return within 10s", path)
		return nil, nil
	}
}

func TestFIFOWithoutWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "OPTIONS")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readWithin(t, path)
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("err = %v, want ErrNotRegular", err)
	}
	if want := "read " + path + ": not a regular file (a FIFO)"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if got := Why(err).Error(); got != "not a regular file (a FIFO)" {
		t.Errorf("Why = %q", got)
	}
	if short := Short(err); short.Error() != path+": not a regular file (a FIFO)" || !errors.Is(short, ErrNotRegular) {
		t.Errorf("Short = %q", short)
	}
}

func TestDevZero(t *testing.T) {
	_, err := readWithin(t, "/dev/zero")
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "(a character device)") {
		t.Fatalf("err = %v, want a refused character device", err)
	}
}

func TestDirectory(t *testing.T) {
	_, err := readWithin(t, t.TempDir())
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "(a directory)") {
		t.Fatalf("err = %v, want a refused directory", err)
	}
}

func TestOverLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, bytes.Repeat([]byte("A=1\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, 1024)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if got := Why(err).Error(); got != "larger than 1 KiB" {
		t.Errorf("Why = %q", got)
	}
	// Exactly at the limit is fine.
	data, err := ReadFile(path, 4000)
	if err != nil || len(data) != 4000 {
		t.Fatalf("at the limit: %d bytes, %v", len(data), err)
	}
}

// A file whose size stat does not tell (/proc) is still bounded by what
// is read.
func TestProcFile(t *testing.T) {
	data, err := ReadFile("/proc/self/status", ConfigLimit)
	if err != nil || !bytes.Contains(data, []byte("Pid:")) {
		t.Fatalf("read /proc/self/status: %v (%q)", err, data)
	}
	if _, err := ReadFile("/proc/self/status", 16); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("16-byte limit on /proc/self/status: err = %v, want ErrTooLarge", err)
	}
}

func TestRegularWhole(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 70000} {
		path := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte{'x'}, size)
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path, ConfigLimit)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
}

func TestMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none"), ConfigLimit)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int]string{1 << 20: "1 MiB", 64 << 10: "64 KiB", 100: "100 bytes", 1536: "1536 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	fifo, small := filepath.Join(dir, "fifo"), filepath.Join(dir, "small")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(small, []byte("A=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{fifo: ErrNotRegular, "/dev/zero": ErrNotRegular, small: nil} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(path, fi, ConfigLimit); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Check(%s) = %v, want %v", path, err, want)
		}
	}
	fi, _ := os.Stat(small)
	if err := Check(small, fi, 2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Check over the limit = %v, want ErrTooLarge", err)
	}
}

// A device is refused without being opened: opening one can do something
// (a watchdog starts counting). inotify sees every open of the node.
func TestDeviceNotOpened(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dev := filepath.Join(t.TempDir(), "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v", err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dev, unix.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	if _, err := readWithin(t, dev); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("a device: %v", err)
	}
	buf := make([]byte, 4096)
	if n, _ := unix.Read(fd, buf); n > 0 {
		t.Fatal("ReadFile opened the device")
	}
	// the watch works: an open is seen
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if n, _ := unix.Read(fd, buf); n <= 0 {
		t.Fatal("inotify saw no open of the device at all")
	}
}
