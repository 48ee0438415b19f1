package vmtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testArchive holds one of each kind of entry, a file in a directory
// that is never added (its parent must appear anyway), and sizes that
// need each amount of padding.
func testArchive() *Archive {
	a := NewArchive()
	a.Dir("/etc", 0o755)
	a.Dir("tmp", 0o777|os.ModeSticky)
	a.File("/init", []byte("#!/bin/sh\necho hi\n"), 0o755)
	a.File("etc/one", []byte("1"), 0o644)
	a.File("etc/two", []byte("22"), 0o600)
	a.File("etc/three", []byte("333"), 0o640)
	a.File("etc/four", []byte("4444"), 0o644)
	a.File("etc/empty", nil, 0o644)
	a.File("usr/lib/deep/file", []byte("deep\n"), 0o644)
	a.Symlink("bin/sh", "/bin/busybox")
	a.Symlink("etc/rel", "../usr/lib/deep/file")
	return a
}

func withDevices(a *Archive) *Archive {
	a.CharDev("dev/console", 0o600, 5, 1)
	a.CharDev("dev/null", 0o666, 1, 3)
	return a
}

func archiveBytes(t *testing.T, a *Archive) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := a.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo says %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// Debian's cpio lists what we wrote: names in order, root's, with the
// modes, sizes, device numbers and link targets we gave.
func TestCpioListsArchive(t *testing.T) {
	requireCpio(t)
	cmd := exec.Command("cpio", "-itv", "--numeric-uid-gid", "--quiet")
	cmd.Stdin = bytes.NewReader(archiveBytes(t, withDevices(testArchive())))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -itv: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		got = append(got, summarizeListing(t, line))
	}
	want := []string{
		"drwxr-xr-x 0 0 0 bin",
		"lrwxrwxrwx 0 0 12 bin/sh -> /bin/busybox",
		"drwxr-xr-x 0 0 0 dev",
		"crw------- 0 0 5,1 dev/console",
		"crw-rw-rw- 0 0 1,3 dev/null",
		"drwxr-xr-x 0 0 0 etc",
		"-rw-r--r-- 0 0 0 etc/empty",
		"-rw-r--r-- 0 0 4 etc/four",
		"-rw-r--r-- 0 0 1 etc/one",
		"lrwxrwxrwx 0 0 20 etc/rel -> ../usr/lib/deep/file",
		"-rw-r----- 0 0 3 etc/three",
		"-rw------- 0 0 2 etc/two",
		"-rwxr-xr-x 0 0 18 init",
		"drwxrwxrwt 0 0 0 tmp",
		"drwxr-xr-x 0 0 0 usr",
		"drwxr-xr-x 0 0 0 usr/lib",
		"drwxr-xr-x 0 0 0 usr/lib/deep",
		"-rw-r--r-- 0 0 5 usr/lib/deep/file",
	}
	if !slices.Equal(got, want) {
		t.Errorf("cpio -itv:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// summarizeListing keeps, of a line of cpio -itv --numeric-uid-gid, the
// mode, owner, group, size (or major,minor), and name: not the date.
func summarizeListing(t *testing.T, line string) string {
	t.Helper()
	f := strings.Fields(line)
	device := strings.HasPrefix(line, "c") // its size is "5,   1"
	if len(f) < 9 || device && len(f) < 10 {
		t.Fatalf("cannot parse cpio's %q", line)
	}
	size, rest := f[4], f[8:]
	if device {
		size, rest = size+f[5], f[9:]
	}
	return strings.Join(append([]string{f[0], f[2], f[3], size}, rest...), " ")
}

// Debian's cpio extracts it to the same tree: contents and link targets.
func TestCpioExtractsArchive(t *testing.T) {
	requireCpio(t)
	dir := t.TempDir()
	cmd := exec.Command("cpio", "-idm", "--quiet", "--no-absolute-filenames")
	cmd.Dir = dir
	// No device nodes: making them needs root.
	cmd.Stdin = bytes.NewReader(archiveBytes(t, testArchive()))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -idm: %v\n%s", err, out)
	}
	for name, want := range map[string]string{
		"init":              "#!/bin/sh\necho hi\n",
		"etc/two":           "22",
		"etc/empty":         "",
		"usr/lib/deep/file": "deep\n",
		"etc/rel":           "deep\n", // through the relative link
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v; want /bin/busybox", target, err)
	}
	if info, err := os.Stat(filepath.Join(dir, "etc/two")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("etc/two: %v, %v; want mode 0600", info.Mode(), err)
	}
}

func requireCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		missingPeer(t, "cpio is not installed")
	}
}

// cpioEntry is an entry as readNewc found it.
type cpioEntry struct {
	Name         string
	Ino, Mode    uint32
	UID, GID     uint32
	Nlink, Mtime uint32
	Major, Minor uint32 // rdev
	Data         string
}

// readNewc parses a newc archive strictly: magic, padding, and that the
// trailer ends it.
func readNewc(data []byte) ([]cpioEntry, error) {
	var entries []cpioEntry
	for off := 0; ; {
		if len(data)-off < 110 || string(data[off:off+6]) != "070701" {
			return nil, fmt.Errorf("offset %d: no newc header", off)
		}
		var field [13]uint32
		for i := range field {
			v, err := strconv.ParseUint(string(data[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("offset %d: field %d: %v", off, i, err)
			}
			field[i] = uint32(v)
		}
		size, nameSize := int(field[6]), int(field[11])
		nameEnd := off + 110 + nameSize
		dataStart := nameEnd + pad4(nameEnd)
		dataEnd := dataStart + size
		if dataEnd > len(data) || data[nameEnd-1] != 0 {
			return nil, fmt.Errorf("offset %d: entry runs past the end", off)
		}
		e := cpioEntry{
			Name: string(data[off+110 : nameEnd-1]), Ino: field[0], Mode: field[1],
			UID: field[2], GID: field[3], Nlink: field[4], Mtime: field[5],
			Major: field[9], Minor: field[10], Data: string(data[dataStart:dataEnd]),
		}
		off = dataEnd + pad4(dataEnd)
		if e.Name == "TRAILER!!!" {
			if off != len(data) {
				return nil, fmt.Errorf("%d bytes after the trailer", len(data)-off)
			}
			return entries, nil
		}
		entries = append(entries, e)
	}
}

// The archive reads back entry for entry, in sorted order, and writing
// it again gives the same bytes.
func TestArchiveReadsBack(t *testing.T) {
	data := archiveBytes(t, withDevices(testArchive()))
	if len(data)%4 != 0 {
		t.Errorf("archive is %d bytes, not a multiple of 4", len(data))
	}
	entries, err := readNewc(data)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cpioEntry{}
	var names []string
	inodes := map[uint32]bool{}
	for _, e := range entries {
		byName[e.Name] = e
		names = append(names, e.Name)
		if e.UID != 0 || e.GID != 0 || e.Mtime != 0 || inodes[e.Ino] {
			t.Errorf("%s: uid %d gid %d mtime %d ino %d (seen: %v)", e.Name, e.UID, e.GID, e.Mtime, e.Ino, inodes[e.Ino])
		}
		inodes[e.Ino] = true
	}
	if !slices.IsSorted(names) {
		t.Errorf("names not sorted: %q", names)
	}
	for name, want := range map[string]cpioEntry{
		"dev/console": {Mode: 0o020600, Major: 5, Minor: 1, Nlink: 1},
		"tmp":         {Mode: 0o041777, Nlink: 2},
		"usr/lib":     {Mode: 0o040755, Nlink: 2},
		"etc/three":   {Mode: 0o100640, Nlink: 1, Data: "333"},
		"bin/sh":      {Mode: 0o120777, Nlink: 1, Data: "/bin/busybox"},
	} {
		got := byName[name]
		got.Name, got.Ino = "", 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if again := archiveBytes(t, withDevices(testArchive())); !bytes.Equal(again, data) {
		t.Error("the same archive written twice differs")
	}
}

func TestArchiveLaterEntryReplaces(t *testing.T) {
	a := NewArchive()
	a.Symlink("sbin/init", "/bin/busybox")
	a.File("/sbin/init", []byte("sv-init"), 0o755)
	entries, err := readNewc(archiveBytes(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1].Name != "sbin/init" || entries[1].Data != "sv-init" {
		t.Errorf("entries: %+v", entries)
	}
}

func TestArchiveRefusesFileAsParent(t *testing.T) {
	a := NewArchive()
	a.File("etc", []byte("x"), 0o644)
	a.File("etc/passwd", []byte("root"), 0o644)
	if _, err := a.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("WriteTo: %v, want a parent that is not a directory", err)
	}
}

// AddTree copies a DESTDIR-like tree under a name: modes kept, symlinks
// kept as symlinks, everything root's.
func TestAddTree(t *testing.T) {
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "usr/bin/supervision"), "binary", 0o755)
	mustWrite(t, filepath.Join(src, "etc/sv/conf"), "conf", 0o600)
	if err := os.Symlink("supervision", filepath.Join(src, "usr/bin/sv-init")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "etc/sv"), 0o700); err != nil {
		t.Fatal(err)
	}
	a := NewArchive()
	if err := a.AddTree("/", src); err != nil {
		t.Fatal(err)
	}
	if err := a.AddTree("/opt/copy", filepath.Join(src, "etc")); err != nil {
		t.Fatal(err)
	}
	entries, err := readNewc(archiveBytes(t, a))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %o %q", e.Name, e.Mode, e.Data))
	}
	want := []string{
		`etc 40755 ""`,
		`etc/sv 40700 ""`,
		`etc/sv/conf 100600 "conf"`,
		`opt 40755 ""`,
		`opt/copy 40755 ""`,
		`opt/copy/sv 40700 ""`,
		`opt/copy/sv/conf 100600 "conf"`,
		`usr 40755 ""`,
		`usr/bin 40755 ""`,
		`usr/bin/supervision 100755 "binary"`,
		`usr/bin/sv-init 120777 "supervision"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func mustWrite(t *testing.T, file, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is subject to the umask.
	if err := os.Chmod(file, perm); err != nil {
		t.Fatal(err)
	}
}

func TestWriteGzip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "initrd.gz")
	if err := testArchive().WriteGzip(file); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, archiveBytes(t, testArchive())) {
		t.Error("the gzipped archive differs from WriteTo's")
	}
}
