package options

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// SysrootHost answers for the image a tree is written into (sv-gen
// --sysroot; Layout.Sysroot): its users and groups are those of its
// /etc/passwd and /etc/group, and its files are its own, links resolved
// as the booted image will resolve them. This machine's play no part:
// the image boots elsewhere.
type SysrootHost struct{ Layout layout.Layout }

func (h SysrootHost) LookupUser(name string) error {
	return h.lookup("/etc/passwd", "user", name)
}

func (h SysrootHost) LookupGroup(name string) error {
	return h.lookup("/etc/group", "group", name)
}

func (h SysrootHost) Stat(path string) error {
	fi, err := h.stat(path)
	if err != nil {
		return err
	}
	return safefile.Check(path, fi, safefile.EnvLimit)
}

func (h SysrootHost) Executable(path string) error {
	fi, err := h.stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case err != nil:
		return err
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

func (h SysrootHost) Where() string { return "in the image at " + h.Layout.Sysroot }

// stat is os.Stat of path inside the image. A path that is already this
// machine's name for a file of the image (a service dir, to which a
// relative SVC_CMD is joined) is taken as that file.
func (h SysrootHost) stat(path string) (fs.FileInfo, error) {
	real, err := h.Layout.Resolve(h.Layout.Inside(path))
	if err != nil {
		return nil, err
	}
	return os.Stat(real)
}

// lookup finds name in the colon-separated database file of the image.
func (h SysrootHost) lookup(file, what, name string) error {
	if isNumeric(name) {
		return nil
	}
	path, err := h.Layout.Resolve(file)
	if err != nil {
		return err
	}
	data, err := safefile.ReadFile(path, safefile.ConfigLimit)
	if err != nil {
		return err
	}
	if !HasDBEntry(data, name) {
		return fmt.Errorf("no %s %q in %s", what, name, path)
	}
	return nil
}

// HasDBEntry reports whether a passwd(5) or group(5) file has an entry
// named name: a line whose first colon-separated field is name. Comments
// and NIS lines (+, -) are not entries.
func HasDBEntry(data []byte, name string) bool {
	if name == "" {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) > 0 && bytes.IndexByte([]byte("#+-"), line[0]) >= 0 {
			continue
		}
		field, _, ok := bytes.Cut(line, []byte(":"))
		if ok && string(field) == name {
			return true
		}
	}
	return false
}
