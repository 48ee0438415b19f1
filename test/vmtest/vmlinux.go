package vmtest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Vmlinux writes the uncompressed kernel inside the bzImage k.Image to
// dir, unless an earlier call did, and returns its path, for Config's
// Kernel. qemu starts it at its PVH entry point (CONFIG_PVH, which
// Debian's kernels have), skipping the kernel's decompression of itself:
// under TCG that was 4.5 s of an 8 s boot here. Extracting takes about
// 1.5 s and 65 MB, so share dir between boots.
func (k Kernel) Vmlinux(dir string) (string, error) {
	out := filepath.Join(dir, "vmlinux-"+k.Release)
	if fileExists(out) {
		return out, nil
	}
	image, err := os.ReadFile(k.Image)
	if err != nil {
		return "", err
	}
	payload, format, err := bzImagePayload(image)
	if err != nil {
		return "", fmt.Errorf("%s: %w", k.Image, err)
	}
	if err := writeVmlinux(out, payload, format); err != nil {
		return "", fmt.Errorf("%s: %w", k.Image, err)
	}
	return out, nil
}

// Offsets in the x86 boot protocol's setup header
// (Documentation/arch/x86/boot.rst); the payload fields need version
// 2.08.
const (
	setupSectsOffset    = 0x1f1
	headerMagicOffset   = 0x202
	protocolOffset      = 0x206
	payloadOffsetOffset = 0x248
	payloadLengthOffset = 0x24c
)

// bzImagePayload finds the compressed vmlinux in a bzImage, and says how
// it is compressed.
func bzImagePayload(image []byte) ([]byte, string, error) {
	if len(image) < payloadLengthOffset+4 || string(image[headerMagicOffset:headerMagicOffset+4]) != "HdrS" ||
		binary.LittleEndian.Uint16(image[protocolOffset:]) < 0x208 {
		return nil, "", errors.New("not a bzImage of boot protocol 2.08 or later")
	}
	setupSects := int(image[setupSectsOffset])
	if setupSects == 0 {
		setupSects = 4 // what 0 meant to old loaders
	}
	start := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(image[payloadOffsetOffset:]))
	end := start + int(binary.LittleEndian.Uint32(image[payloadLengthOffset:]))
	if end > len(image) || start >= end {
		return nil, "", errors.New("the payload lies outside the file")
	}
	payload := image[start:end]
	switch {
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		return payload, "gz", nil
	// The kernel's build appends the uncompressed size to an xz or zstd
	// payload; the tools would take those 4 bytes for a corrupt stream.
	case bytes.HasPrefix(payload, []byte("\xfd7zXZ\x00")):
		return payload[:len(payload)-4], "xz", nil
	case bytes.HasPrefix(payload, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return payload[:len(payload)-4], "zst", nil
	}
	return nil, "", fmt.Errorf("payload compressed with neither gzip, xz nor zstd (it starts % x)", payload[:min(6, len(payload))])
}

// writeVmlinux decompresses payload to out, through a temporary file so
// that a later call never takes a partial one for done.
func writeVmlinux(out string, payload []byte, format string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".vmlinux-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	err = decompress(format, bytes.NewReader(payload), tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkPVH(tmp.Name())
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// xenElfnotePhys32Entry is the ELF note (owner "Xen") giving the 32-bit
// PVH entry point, which qemu needs to boot an uncompressed kernel.
const xenElfnotePhys32Entry = 18

func checkPVH(vmlinux string) error {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return fmt.Errorf("the payload is not an ELF kernel: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(p.Open())
		if err != nil {
			return err
		}
		if hasNote(notes, "Xen", xenElfnotePhys32Entry) {
			return nil
		}
	}
	return errors.New("the kernel has no PVH entry point (CONFIG_PVH): boot its bzImage instead")
}

// hasNote says whether an ELF note segment holds a note of owner name
// and type typ. Each note is namesz, descsz and type (4 bytes each),
// then the name and the descriptor, each padded to 4 bytes.
func hasNote(notes []byte, name string, typ uint32) bool {
	for len(notes) >= 12 {
		nameSize := int(binary.LittleEndian.Uint32(notes))
		descSize := int(binary.LittleEndian.Uint32(notes[4:]))
		noteType := binary.LittleEndian.Uint32(notes[8:])
		nameEnd := 12 + nameSize
		next := nameEnd + pad4(nameSize) + descSize + pad4(descSize)
		if next > len(notes) {
			return false
		}
		if noteType == typ && string(bytes.TrimRight(notes[12:nameEnd], "\x00")) == name {
			return true
		}
		notes = notes[next:]
	}
	return false
}
