// Package syncstamp records what a service dir was last synced from and
// into, as lstat saw each path just after the sync, and tells whether that
// still holds. A start whose stamp holds skips the sync (sv-rc), and
// sv-scan may start such a service on the init script's request before
// sv-rc has even begun (see internal/startreq).
//
// A stamp is a change detector over the files themselves: identity (inode),
// size and both times of every path the sync read or wrote (and a checksum
// of the content of those that had changed just before), the absence of
// those it found absent, and the directories in which a file that would
// change the result can appear. What the paths cannot show (the program
// that synced, the tree, the profile) is the Key, which only the caller
// can compare.
package syncstamp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/atomicfile"
)

// RacyWindow: a path changed this little before the stamp was taken may
// change again without its times moving (file times come from a coarse
// clock, and some filesystems keep whole seconds), so its identity and
// times prove nothing: the stamp keeps a checksum of its content as well
// (git's racily clean entries), which a check compares.
const RacyWindow = time.Second

// Stamp is what one sync of one service read and wrote.
type Stamp struct {
	Key   string    // what else the sync depended on, as the caller hashes it
	At    time.Time // when the paths were looked at
	Paths []Path
}

// Kind is what a Path records of its file.
type Kind byte

const (
	Same   Kind = 'f' // it exists, with this identity and these times
	Racy   Kind = 'r' // the same, changed just before the stamp: and this content
	Absent Kind = '-' // it does not exist
	IsDir  Kind = 'd' // it is a directory (its contents are not compared)
)

// Path is one path of a stamp and what was seen of it.
type Path struct {
	Kind         Kind
	Name         string
	Ino, Size    uint64
	Mtime, Ctime int64  // ns since the epoch
	Sum          string // Racy: a checksum of its content (see content)
}

// header starts every stamp file, with its format's version.
const header = "sv-sync-stamp 1"

// Take stamps paths (each as it is now: Same or Absent) and dirs (IsDir)
// under key. A path that cannot be written on one line cannot be stamped.
func Take(key string, paths, dirs []string) (*Stamp, error) {
	if strings.ContainsAny(key, " \n") || key == "" {
		return nil, fmt.Errorf("sync stamp: key %q is not one word", key)
	}
	s := &Stamp{Key: key, At: time.Now()}
	seen := map[string]bool{}
	add := func(p Path) error {
		if p.Name == "" || strings.ContainsAny(p.Name, "\n\r") {
			return fmt.Errorf("sync stamp: path %q cannot be stamped", p.Name)
		}
		if !seen[string(p.Kind)+p.Name] {
			seen[string(p.Kind)+p.Name] = true
			s.Paths = append(s.Paths, p)
		}
		return nil
	}
	racy := s.At.Add(-RacyWindow).UnixNano()
	for _, name := range paths {
		p := look(name)
		if p.Kind == Same && (p.Mtime >= racy || p.Ctime >= racy) {
			if sum := content(name); sum != "" {
				p.Kind, p.Sum = Racy, sum
			} // else a Same that Stale finds racy
		}
		if err := add(p); err != nil {
			return nil, err
		}
	}
	for _, name := range dirs {
		if err := add(Path{Kind: IsDir, Name: name}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// look is path as lstat sees it now.
func look(name string) Path {
	var st syscall.Stat_t
	if err := syscall.Lstat(name, &st); err != nil {
		return Path{Kind: Absent, Name: name}
	}
	return Path{Kind: Same, Name: name, Ino: st.Ino, Size: uint64(st.Size),
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// content is a checksum of what path holds: a file's bytes, a symlink's
// target, a directory's names; "" for what it cannot read.
func content(path string) string {
	var data []byte
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return ""
	case fi.Mode().IsRegular():
		data, err = os.ReadFile(path)
	case fi.Mode()&os.ModeSymlink != 0:
		var t string
		t, err = os.Readlink(path)
		data = []byte(t)
	case fi.IsDir():
		var names []string
		names, err = readNames(path)
		data = []byte(strings.Join(names, "\x00"))
	default:
		return ""
	}
	if err != nil {
		return ""
	}
	h := fnv.New64a()
	h.Write(data)
	return fmt.Sprintf("%016x", h.Sum64())
}

// readNames is a directory's entry names, sorted.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// Stale says why the stamp no longer holds, or "" when every path is as it
// was (a path changed within RacyWindow before the stamp was taken: and
// holds the same content).
func (s *Stamp) Stale() string {
	racy := s.At.Add(-RacyWindow).UnixNano()
	for _, p := range s.Paths {
		switch p.Kind {
		case IsDir:
			if fi, err := os.Stat(p.Name); err != nil || !fi.IsDir() {
				return p.Name + " is not a directory"
			}
		case Absent:
			if look(p.Name).Kind != Absent {
				return p.Name + " appeared"
			}
		case Same, Racy:
			if p.Kind == Same && (p.Mtime >= racy || p.Ctime >= racy) {
				return p.Name + " had just changed when stamped"
			}
			now := look(p.Name)
			now.Kind, now.Sum = p.Kind, p.Sum
			if now != p {
				return p.Name + " changed"
			}
			if p.Kind == Racy && content(p.Name) != p.Sum {
				return p.Name + " changed"
			}
		}
	}
	return ""
}

// Encode is the stamp as its file holds it: the header, the key and the
// time on the first line, then one path per line.
func (s *Stamp) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %d\n", header, s.Key, s.At.UnixNano())
	for _, p := range s.Paths {
		switch p.Kind {
		case Same:
			fmt.Fprintf(&b, "f %d %d %d %d %s\n", p.Ino, p.Size, p.Mtime, p.Ctime, p.Name)
		case Racy:
			fmt.Fprintf(&b, "r %d %d %d %d %s %s\n", p.Ino, p.Size, p.Mtime, p.Ctime, p.Sum, p.Name)
		default:
			fmt.Fprintf(&b, "%c %s\n", p.Kind, p.Name)
		}
	}
	return b.Bytes()
}

// ErrFormat: the file is not a stamp this version writes.
var ErrFormat = errors.New("not a sync stamp")

// Decode reads what Encode wrote.
func Decode(data []byte) (*Stamp, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	if !sc.Scan() {
		return nil, ErrFormat
	}
	rest, ok := strings.CutPrefix(sc.Text(), header+" ")
	key, at, ok2 := strings.Cut(rest, " ")
	ns, err := strconv.ParseInt(at, 10, 64)
	if !ok || !ok2 || key == "" || err != nil {
		return nil, ErrFormat
	}
	s := &Stamp{Key: key, At: time.Unix(0, ns)}
	for n := 2; sc.Scan(); n++ {
		p, err := decodePath(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrFormat, n, err)
		}
		s.Paths = append(s.Paths, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return s, nil
}

func decodePath(line string) (Path, error) {
	kind, rest, ok := strings.Cut(line, " ")
	if !ok || rest == "" {
		return Path{}, errors.New("no path")
	}
	if len(kind) != 1 {
		return Path{}, fmt.Errorf("unknown kind %q", kind)
	}
	switch Kind(kind[0]) {
	case Absent, IsDir:
		return Path{Kind: Kind(kind[0]), Name: rest}, nil
	case Same, Racy:
		n := 5 // inode, size, mtime, ctime (and Racy's checksum), path
		if Kind(kind[0]) == Racy {
			n = 6
		}
		f := strings.SplitN(rest, " ", n)
		if len(f) != n || f[n-1] == "" || f[n-2] == "" {
			return Path{}, errors.New("want inode, size, mtime, ctime, a checksum if racy, and path")
		}
		p := Path{Kind: Kind(kind[0]), Name: f[n-1]}
		if n == 6 {
			p.Sum = f[4]
		}
		var errs [4]error
		p.Ino, errs[0] = strconv.ParseUint(f[0], 10, 64)
		p.Size, errs[1] = strconv.ParseUint(f[1], 10, 64)
		p.Mtime, errs[2] = strconv.ParseInt(f[2], 10, 64)
		p.Ctime, errs[3] = strconv.ParseInt(f[3], 10, 64)
		if err := errors.Join(errs[:]...); err != nil {
			return Path{}, err
		}
		return p, nil
	}
	return Path{}, fmt.Errorf("unknown kind %q", kind)
}

// Write puts the stamp in file, atomically, making its directory.
func Write(file string, s *Stamp) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(file, s.Encode(), 0o644)
}

// Read is the stamp in file, or an error (no stamp yet: fs.ErrNotExist).
func Read(file string) (*Stamp, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}
