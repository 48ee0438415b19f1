package vmtest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBzImage is a setup header of boot protocol 2.15 with one setup
// sector, and payload where the header says.
func fakeBzImage(payload []byte) []byte {
	const payloadOffset = 16
	image := make([]byte, 2*512+payloadOffset)
	image[setupSectsOffset] = 1
	copy(image[headerMagicOffset:], "HdrS")
	binary.LittleEndian.PutUint16(image[protocolOffset:], 0x20f)
	binary.LittleEndian.PutUint32(image[payloadOffsetOffset:], payloadOffset)
	binary.LittleEndian.PutUint32(image[payloadLengthOffset:], uint32(len(payload)))
	return append(image, append(payload, "trailing"...)...)
}

func TestBzImagePayload(t *testing.T) {
	gz := gzipString(t, "not an ELF")
	xz := "\xfd7zXZ\x00stream" + "\x10\x00\x00\x00" // and the size the build appends
	for _, c := range []struct {
		payload, want, format string
	}{
		{gz, gz, "gz"},
		{xz, "\xfd7zXZ\x00stream", "xz"},
	} {
		got, format, err := bzImagePayload(fakeBzImage([]byte(c.payload)))
		if err != nil || string(got) != c.want || format != c.format {
			t.Errorf("bzImagePayload = %q, %s, %v; want %q, %s", got, format, err, c.want, c.format)
		}
	}
	if _, _, err := bzImagePayload(fakeBzImage([]byte("BZh91AY"))); err == nil || !strings.Contains(err.Error(), "42 5a 68") {
		t.Errorf("bzip2 payload: %v, want an error showing its first bytes", err)
	}
	if _, _, err := bzImagePayload([]byte("#!/bin/sh\n")); err == nil {
		t.Error("a shell script passed for a bzImage")
	}
}

// A payload that is no ELF kernel is refused, and leaves nothing that a
// later call would take for a kernel.
func TestVmlinuxRefusesNonELF(t *testing.T) {
	dir := t.TempDir()
	image := filepath.Join(dir, "vmlinuz-1.0-test")
	mustWrite(t, image, string(fakeBzImage([]byte(gzipString(t, "not an ELF")))), 0o644)
	k := Kernel{Image: image, Release: "1.0-test"}
	if _, err := k.Vmlinux(dir); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("Vmlinux: %v, want not an ELF", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Vmlinux left %v", entries)
	}
}

func TestHasNote(t *testing.T) {
	note := func(name string, typ uint32, desc string) []byte {
		var b bytes.Buffer
		nameZ := name + "\x00"
		binary.Write(&b, binary.LittleEndian, []uint32{uint32(len(nameZ)), uint32(len(desc)), typ})
		b.WriteString(nameZ + strings.Repeat("\x00", pad4(len(nameZ))))
		b.WriteString(desc + strings.Repeat("\x00", pad4(len(desc))))
		return b.Bytes()
	}
	notes := append(note("GNU", 3, "build-id-20-bytes..."), note("Xen", xenElfnotePhys32Entry, "\x00\x10\x00\x01")...)
	if !hasNote(notes, "Xen", xenElfnotePhys32Entry) {
		t.Error("the Xen PHYS32_ENTRY note, second, not found")
	}
	if hasNote(notes[:len(notes)-4], "Xen", xenElfnotePhys32Entry) {
		t.Error("a truncated note found")
	}
	if hasNote(note("Linux", xenElfnotePhys32Entry, "x"), "Xen", xenElfnotePhys32Entry) {
		t.Error("a note of another owner found")
	}
}

// The host's kernel yields an ELF with a PVH entry (checkPVH), once per
// directory: the one the boot tests share.
func TestVmlinuxHostKernel(t *testing.T) {
	k, _ := Require(t)
	dir := vmlinuxDir
	start := time.Now()
	vmlinux, err := k.Vmlinux(dir)
	if errors.Is(err, exec.ErrNotFound) {
		missingPeer(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v (extracted, unless a boot test did)", vmlinux, time.Since(start).Round(time.Millisecond))
	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if again, err := k.Vmlinux(dir); again != vmlinux || err != nil {
		t.Errorf("second Vmlinux = %s, %v; want %s again", again, err, vmlinux)
	}
}
