// Package syncstamp records what a service dir was last synced from and
// into, as lstat saw each path just after the sync (the stamp's time is
// when the sync began), and tells whether that still holds. A start whose stamp holds skips the sync (sv-rc), and
// sv-scan may start such a service on the init script's request before
// sv-rc has even begun (see internal/startreq). sv-scan's cache of each
// service's config keeps the same kind of stamp in memory.
//
// A stamp is a change detector over the files themselves: identity (inode),
// size and both times of every path the sync read or wrote, the absence of
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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// RacyWindow: a path changed this little before the stamp was taken may
// change again without its times moving (file times come from a coarse
// clock, and some filesystems keep whole seconds), so a stamp with one is
// never trusted; the next sync takes a new one (git's racily clean entries).
const RacyWindow = time.Second

// Stamp is what one sync of one service read and wrote.
type Stamp struct {
	Key   string    // what else the sync depended on, as the caller hashes it
	At    time.Time // when the reading it stands for began (Begin)
	Paths []Path
}

// Kind is what a Path records of its file.
type Kind byte

const (
	Same   Kind = 'f' // it exists, with this identity and these times
	Absent Kind = '-' // it does not exist
	IsDir  Kind = 'd' // it is a directory (its contents are not compared)
)

// Path is one path of a stamp and what was seen of it.
type Path struct {
	Kind         Kind
	Name         string
	Ino, Size    uint64
	Mtime, Ctime int64 // ns since the epoch
}

// header starts every stamp file, with its format's version.
const header = "sv-sync-stamp 1"

// Begin starts a stamp: call it before reading anything the stamp is to
// cover, then Add what was read and written. A path that changes after
// Begin has times within RacyWindow of At, so Stale never trusts it: the
// stamp cannot vouch for what it saw after the reading (the sync's or the
// load's) was done.
func Begin(key string) *Stamp { return &Stamp{Key: key, At: time.Now()} }

// Add stamps paths as they are now (Same or Absent). A path that cannot be
// written on one line cannot be stamped.
func (s *Stamp) Add(paths ...string) error {
	for _, name := range paths {
		if err := s.add(look(name)); err != nil {
			return err
		}
	}
	return nil
}

// AddDirs stamps dirs as directories (IsDir).
func (s *Stamp) AddDirs(dirs ...string) error {
	for _, name := range dirs {
		if err := s.add(Path{Kind: IsDir, Name: name}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stamp) add(p Path) error {
	if p.Name == "" || strings.ContainsAny(p.Name, "\n\r") {
		return fmt.Errorf("sync stamp: path %q cannot be stamped", p.Name)
	}
	for _, q := range s.Paths {
		if q.Kind == p.Kind && q.Name == p.Name {
			return nil
		}
	}
	s.Paths = append(s.Paths, p)
	return nil
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

// Stale says why the stamp no longer holds, or "" when every path is as it
// was and none had changed within RacyWindow before the stamp was taken.
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
		case Same:
			if p.Mtime >= racy || p.Ctime >= racy {
				return p.Name + " had just changed when stamped"
			}
			if now := look(p.Name); now != p {
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
		if p.Kind == Same {
			fmt.Fprintf(&b, "f %d %d %d %d %s\n", p.Ino, p.Size, p.Mtime, p.Ctime, p.Name)
		} else {
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
	case Same:
		f := strings.SplitN(rest, " ", 5)
		if len(f) != 5 || f[4] == "" {
			return Path{}, errors.New("want inode, size, mtime, ctime and path")
		}
		p := Path{Kind: Same, Name: f[4]}
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
	if strings.ContainsAny(s.Key, " \n\r") || s.Key == "" {
		return fmt.Errorf("sync stamp: key %q is not one word", s.Key)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return safefile.Write(file, s.Encode(), 0o644)
}

// Read is the stamp in file, or an error (no stamp yet: fs.ErrNotExist).
// A file that is not a regular one of at most safefile.ConfigLimit is an
// error too: a stamp is read at every start.
func Read(file string) (*Stamp, error) {
	data, err := safefile.ReadFile(file, safefile.ConfigLimit)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}
