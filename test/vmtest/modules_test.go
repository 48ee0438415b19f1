package vmtest

import (
	"bytes"
	"compress/gzip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeModules makes a modules directory: a needs b (gzipped) and c
// (xz, if the host has xz), wants an alias of d (zstd, if the host has
// zstd) by softdep, and e is built in.
func fakeModules(t *testing.T) (Kernel, map[string]string) {
	dir := t.TempDir()
	contents := map[string]string{}
	module := func(file, data string) {
		mustWrite(t, filepath.Join(dir, file), data, 0o644)
		contents[stripCompression(file)] = data
	}
	module("kernel/fs/a.ko", "module a")
	mustWrite(t, filepath.Join(dir, "kernel/lib/b.ko.gz"), gzipString(t, "module b"), 0o644)
	contents["kernel/lib/b.ko"] = "module b"
	cFile, dFile := "kernel/lib/c.ko", "kernel/drivers/d-x.ko"
	module(cFile, "module c")
	module(dFile, "module d")
	if compressWith(t, "xz", filepath.Join(dir, cFile)) {
		cFile += ".xz"
	}
	if compressWith(t, "zstd", filepath.Join(dir, dFile)) {
		dFile += ".zst"
	}
	dep := "kernel/fs/a.ko: kernel/lib/b.ko.gz " + cFile + "\n" +
		"kernel/lib/b.ko.gz:\n" + cFile + ":\n" + dFile + ":\n" +
		"kernel/fs/unrelated.ko: kernel/lib/b.ko.gz\n"
	mustWrite(t, filepath.Join(dir, "modules.dep"), dep, 0o644)
	mustWrite(t, filepath.Join(dir, "modules.softdep"), "# comment\nsoftdep a pre: crypto-dee post: missing\n", 0o644)
	mustWrite(t, filepath.Join(dir, "modules.alias"),
		"alias crypto-dee d_x\nalias dee d_x\nalias pci:v*d* unrelated\n", 0o644)
	mustWrite(t, filepath.Join(dir, "modules.builtin"), "kernel/drivers/e.ko\n", 0o644)
	return Kernel{Release: "9.9.9-test", Modules: dir}, contents
}

func gzipString(t *testing.T, s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// compressWith compresses file in place with tool (xz: file.xz) if the
// host has it, and says whether it did.
func compressWith(t *testing.T, tool, file string) bool {
	if _, err := exec.LookPath(tool); err != nil {
		t.Logf("%s is not installed: its modules are not tested", tool)
		return false
	}
	args := []string{"-q", file} // xz removes file
	if tool == "zstd" {
		args = []string{"-q", "--rm", file}
	}
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, file, err, out)
	}
	return true
}

func TestAddModules(t *testing.T) {
	k, contents := fakeModules(t)
	a := NewArchive()
	if err := k.AddModules(a, "a", "e"); err != nil {
		t.Fatal(err)
	}
	entries, err := readNewc(archiveBytes(t, a))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if e.Mode&0o170000 == modeRegular {
			files[strings.TrimPrefix(e.Name, "lib/modules/9.9.9-test/")] = e.Data
		}
	}
	for file, data := range contents {
		if files[file] != data {
			t.Errorf("%s: %q, want %q", file, files[file], data)
		}
	}
	wantDep := "kernel/fs/a.ko: kernel/lib/b.ko kernel/lib/c.ko\n" +
		"kernel/lib/b.ko:\nkernel/lib/c.ko:\nkernel/drivers/d-x.ko:\n"
	if files["modules.dep"] != wantDep {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", files["modules.dep"], wantDep)
	}
	if want := "alias crypto-dee d_x\nalias dee d_x\n"; files["modules.alias"] != want {
		t.Errorf("modules.alias:\n%s\nwant:\n%s", files["modules.alias"], want)
	}
	if want := "kernel/drivers/e.ko\n"; files["modules.builtin"] != want {
		t.Errorf("modules.builtin: %q, want %q", files["modules.builtin"], want)
	}
	if len(files) != len(contents)+3 {
		t.Errorf("archive has %d files, want %d modules and 3 indexes", len(files), len(contents))
	}
}

// A second call adds to the first's modules rather than leaving them
// out of modules.dep.
func TestAddModulesTwice(t *testing.T) {
	k, _ := fakeModules(t)
	a := NewArchive()
	if err := k.AddModules(a, "b"); err != nil {
		t.Fatal(err)
	}
	if err := k.AddModules(a, "c"); err != nil {
		t.Fatal(err)
	}
	entries, err := readNewc(archiveBytes(t, a))
	if err != nil {
		t.Fatal(err)
	}
	var dep string
	if i := slices.IndexFunc(entries, func(e cpioEntry) bool { return e.Name == "lib/modules/9.9.9-test/modules.dep" }); i >= 0 {
		dep = entries[i].Data
	}
	if want := "kernel/lib/b.ko:\nkernel/lib/c.ko:\n"; dep != want {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", dep, want)
	}
}

func TestAddModulesUnknown(t *testing.T) {
	k, _ := fakeModules(t)
	err := k.AddModules(NewArchive(), "a", "nosuch")
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("AddModules(nosuch): %v, want an error naming it", err)
	}
	if err := (Kernel{Release: "1"}).AddModules(NewArchive(), "a"); err == nil {
		t.Error("AddModules without a modules directory did not fail")
	}
}

// With the host's kernel, what a disk boot needs resolves: virtio_blk
// needs virtio and virtio_ring, ext4 needs jbd2, mbcache and crc16, and
// wants crc32c by softdep.
func TestAddModulesHostKernel(t *testing.T) {
	k, err := FindKernel()
	if err != nil || k.Modules == "" {
		t.Skipf("no kernel modules here (%v)", err)
	}
	idx, err := readModuleIndex(k.Modules)
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.closure([]string{"virtio_pci", "virtio_blk", "ext4"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v", k.Release, got)
	for _, name := range []string{"virtio_blk", "virtio_pci", "virtio", "virtio_ring", "ext4", "jbd2", "mbcache", "crc16", "crc32c_generic"} {
		if !slices.Contains(got, name) && !idx.builtin[name] {
			t.Errorf("%s is neither added nor built in", name)
		}
	}
}
