// Package vmtest boots a real Linux kernel in qemu with an initramfs built
// by the test, so a test can prove that the suite's PID 1 boots a machine
// rather than trust a container or a PID namespace to stand in for one.
//
// An Archive is the initramfs (a newc cpio archive, gzipped); FindKernel
// and FindBusybox locate the host's kernel, its modules and a static
// busybox to put in it; Boot starts qemu and gives the serial console as
// a transcript to Expect on. Require skips a test on a machine that lacks
// any of them. Kernel.Vmlinux halves a boot under TCG, where the kernel
// decompressing itself is slow.
package vmtest

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// File type bits of a cpio c_mode, as in <sys/stat.h>.
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// newc stores sizes and numbers as 8 hex digits.
const maxNewcField = 1<<32 - 1

// Archive is an initramfs under construction: entries by name, written by
// WriteTo as a newc ("070701") cpio archive in sorted order, every entry
// owned by root and dated 0, so the same input gives the same bytes.
// Adding a name again replaces the earlier entry: add busybox, then put
// the init under test over its /sbin/init.
type Archive struct {
	entries map[string]entry
}

type entry struct {
	mode         uint32 // file type and permission bits, as c_mode
	data         []byte // a file's contents, a symlink's target
	major, minor uint32 // a device node's number
}

// NewArchive returns an empty archive.
func NewArchive() *Archive {
	return &Archive{entries: map[string]entry{}}
}

// Dir adds a directory. Parents of every entry are added as 0755
// directories when the archive is written, so Dir is needed only for an
// empty directory or another mode.
func (a *Archive) Dir(name string, perm fs.FileMode) {
	a.add(name, entry{mode: modeDir | permBits(perm)})
}

// File adds a regular file holding data.
func (a *Archive) File(name string, data []byte, perm fs.FileMode) {
	a.add(name, entry{mode: modeRegular | permBits(perm), data: data})
}

// CopyFile adds a regular file with the contents of the host file src,
// read now.
func (a *Archive) CopyFile(name, src string, perm fs.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	a.File(name, data, perm)
	return nil
}

// Symlink adds a symbolic link to target, which is kept as given.
func (a *Archive) Symlink(name, target string) {
	a.add(name, entry{mode: modeSymlink | 0o777, data: []byte(target)})
}

// CharDev adds a character device node, such as /dev/console (5, 1): the
// kernel opens it for init before anything can mount devtmpfs.
func (a *Archive) CharDev(name string, perm fs.FileMode, major, minor uint32) {
	a.add(name, entry{mode: modeCharDev | permBits(perm), major: major, minor: minor})
}

// AddTree adds the host directory tree src under name (which may be "/"),
// with the host's permission bits but owned by root: the output of `make
// install DESTDIR=src`, say. Symlinks are kept as symlinks; hard links
// become separate files; any other kind of file is an error.
func (a *Archive) AddTree(name, src string) error {
	return filepath.WalkDir(src, func(hostPath string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, hostPath)
		if err != nil {
			return err
		}
		return a.addHostFile(path.Join(name, filepath.ToSlash(rel)), hostPath, d)
	})
}

func (a *Archive) addHostFile(name, hostPath string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	switch mode := info.Mode(); {
	case mode.IsDir():
		if cleanName(name) != "" { // the root of the archive is implicit
			a.Dir(name, mode)
		}
		return nil
	case mode.IsRegular():
		return a.CopyFile(name, hostPath, mode)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(hostPath)
		if err != nil {
			return err
		}
		a.Symlink(name, target)
		return nil
	default:
		return fmt.Errorf("%s: %v: only directories, regular files and symlinks are copied", hostPath, mode.Type())
	}
}

func (a *Archive) add(name string, e entry) {
	a.entries[cleanName(name)] = e
}

// cleanName gives the form the kernel's unpacker and cpio agree on:
// relative to the root, no "." or ".." parts.
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// permBits converts Go's permission and special bits into c_mode's.
func permBits(m fs.FileMode) uint32 {
	bits := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}

// WriteTo writes the archive as newc cpio, the trailer included. Names
// sort parents first, which the kernel needs: it does not create a
// missing parent directory.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	entries, err := a.withParents()
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	cw := &countingWriter{w: w}
	for i, name := range names {
		// Inode numbers only need to differ: cpio and the kernel treat
		// entries with the same one and nlink > 1 as hard links.
		if err := writeEntry(cw, uint32(i+1), name, entries[name]); err != nil {
			return cw.n, fmt.Errorf("cpio: %s: %w", name, err)
		}
	}
	err = writeEntry(cw, 0, "TRAILER!!!", entry{})
	return cw.n, err
}

// withParents returns the entries plus a 0755 directory for every
// missing parent, failing if a parent was added as something else.
func (a *Archive) withParents() (map[string]entry, error) {
	all := make(map[string]entry, len(a.entries))
	for name, e := range a.entries {
		all[name] = e
	}
	for name := range a.entries {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			parent, ok := all[dir]
			if !ok {
				all[dir] = entry{mode: modeDir | 0o755}
				continue
			}
			if parent.mode&0o170000 != modeDir {
				return nil, fmt.Errorf("cpio: %s: parent %s is not a directory", name, dir)
			}
		}
	}
	return all, nil
}

func writeEntry(w io.Writer, ino uint32, name string, e entry) error {
	if len(e.data) > maxNewcField {
		return fmt.Errorf("%d bytes is too large for newc", len(e.data))
	}
	nlink := 1
	if e.mode&0o170000 == modeDir {
		nlink = 2
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize (with its NUL), check.
	header := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.major, e.minor, len(name)+1, 0)
	// The header and name, then the data, each end on a 4-byte boundary.
	nameAndPad := name + "\x00" + strings.Repeat("\x00", pad4(len(header)+len(name)+1))
	if _, err := io.WriteString(w, header+nameAndPad); err != nil {
		return err
	}
	if _, err := w.Write(e.data); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad4(len(e.data))))
	return err
}

// pad4 is how many bytes bring n to a multiple of 4.
func pad4(n int) int {
	return (4 - n%4) % 4
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteGzip writes the archive, gzipped (the kernel's CONFIG_RD_GZIP), to
// the file path, for qemu's -initrd.
func (a *Archive) WriteGzip(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// BestSpeed: for busybox and a few modules it takes a third of the
	// default level's time (80 ms, not 220) for a tenth more bytes,
	// and the guest inflates the same archive either way.
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		f.Close()
		return err
	}
	_, err = a.WriteTo(zw)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
