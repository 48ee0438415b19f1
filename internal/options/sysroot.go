package options

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// SysrootHost answers for the image at Dir (sv-gen --sysroot): its users
// and groups are those of Dir/etc/passwd and Dir/etc/group, and its files
// are under Dir, links resolved as the booted image will resolve them.
// This machine's play no part: the image boots elsewhere.
type SysrootHost struct{ Dir string }

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

func (h SysrootHost) Where() string { return "in the image at " + h.Dir }

// stat is os.Stat of path inside the image. A path that is already this
// machine's name for a file of the image (a service dir, to which a
// relative SVC_CMD is joined) is taken as that file.
func (h SysrootHost) stat(path string) (fs.FileInfo, error) {
	inside, ok := strings.CutPrefix(path, h.Dir+"/")
	if !ok {
		inside = path
	}
	real, err := ResolveIn(h.Dir, inside)
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
	path, err := ResolveIn(h.Dir, file)
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

// maxLinks bounds the links ResolveIn follows, as the kernel's ELOOP does.
const maxLinks = 40

// ResolveIn is this machine's path of the file that path names inside
// the image at root, with every symbolic link on the way resolved as the
// booted image resolves it: an absolute target from the image's root, a
// relative one from the link's directory, and ".." never above the root.
// The last component need not exist.
func ResolveIn(root, path string) (string, error) {
	rest := strings.Split(filepath.Clean("/"+path), "/")[1:]
	resolved := "/" // inside the image
	for links := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		if part == "" {
			continue
		}
		next := filepath.Join(resolved, part) // Join cleans "..": never above "/"
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: filepath.Join(root, path), Err: errors.New("too many levels of symbolic links")}
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(root, resolved), nil
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
