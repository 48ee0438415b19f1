// Package cgroup puts each service in a cgroup v2 of its own, so that a stop
// reaches everything the daemon forked, however it detached (cgroup.kill),
// and emptiness is known without polling (cgroup.events).
//
// It finds the unified hierarchy wherever it is mounted (/sys/fs/cgroup on a
// pure v2 system, /sys/fs/cgroup/unified on a hybrid one) and works below
// the cgroup this process is in. When there is none, or it cannot be
// written (an unprivileged user without delegation), Open says so and the
// caller goes on without cgroups.
package cgroup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
)

// ErrNoHierarchy means no cgroup v2 hierarchy is mounted.
var ErrNoHierarchy = errors.New("no cgroup v2 hierarchy mounted")

// Unified returns where the cgroup v2 hierarchy is mounted and the path of
// this process's cgroup within it.
func Unified() (mount, self string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ... mountpoint(5) ... - fstype source options
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				mount = fields[4]
			}
		}
	}
	if mount == "" {
		return "", "", ErrNoHierarchy
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return mount, rest, nil
		}
	}
	return "", "", fmt.Errorf("no cgroup v2 entry in /proc/self/cgroup")
}

// Tree is the cgroup under which one scanner's services get theirs.
type Tree struct {
	Path string
}

// Open makes (or reuses) the tree for the scan dir key: the same key gives
// the same tree, so a restarted scanner finds its services' cgroups again.
func Open(key string) (*Tree, error) {
	dir, err := TreePath(key)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	// A tree we cannot move processes into is no use: check now.
	if err := unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK); err != nil {
		return nil, fmt.Errorf("%s: cannot write cgroup.procs: %w", dir, err)
	}
	return &Tree{Path: dir}, nil
}

// TreePath is where Open makes the tree for key, beside this process's own
// cgroup.
func TreePath(key string) (string, error) {
	mount, self, err := Unified()
	if err != nil {
		return "", err
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return filepath.Join(mount, self, fmt.Sprintf("supervision-%016x", h.Sum64())), nil
}

// Remove removes the tree, with the services' cgroups left in it that are
// empty (one let go while its last process was still being reaped). A
// cgroup with a process in it stays, and so does the tree then.
func (t *Tree) Remove() error {
	ents, err := os.ReadDir(t.Path)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			os.Remove(filepath.Join(t.Path, e.Name())) // EBUSY when in use
		}
	}
	return os.Remove(t.Path)
}

// Group is one service's cgroup.
type Group struct {
	Path   string
	fd     int
	killed bool
}

// Group opens (creating if needed) the cgroup for a service. Service names
// are prefixed so that none can collide with the cgroup's own files.
func (t *Tree) Group(name string) (*Group, error) {
	g := &Group{Path: filepath.Join(t.Path, "sv."+name)}
	return g, g.open()
}

func (g *Group) open() error {
	if err := os.Mkdir(g.Path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fd, err := unix.Open(g.Path, unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	g.fd = fd
	return nil
}

// Fresh makes the cgroup usable again for starting children into it after
// a Kill. On Linux 6.18 (at least), a child cloned with CLONE_INTO_CGROUP
// into a cgroup once killed through cgroup.kill is itself killed at birth;
// a new cgroup of the same name has no such past. It must be empty.
func (g *Group) Fresh() error {
	if !g.killed {
		return nil
	}
	unix.Close(g.fd)
	if err := os.Remove(g.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.open()
		return err
	}
	g.killed = false
	return g.open()
}

// FD is the directory's descriptor, for starting a child straight into it.
func (g *Group) FD() int { return g.fd }

// Procs lists the pids in the cgroup.
func (g *Group) Procs() ([]int, error) {
	data, err := os.ReadFile(filepath.Join(g.Path, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// Signal sends sig to every process in the cgroup.
func (g *Group) Signal(sig syscall.Signal) error {
	pids, err := g.Procs()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return nil
}

// Kill kills everything in the cgroup at once (cgroup.kill, Linux 5.14);
// on older kernels it sends KILL to each process.
func (g *Group) Kill() error {
	g.killed = true
	err := os.WriteFile(filepath.Join(g.Path, "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, os.ErrNotExist) {
		return g.Signal(syscall.SIGKILL)
	}
	return err
}

// Populated reports whether any process is in the cgroup.
//
// It is asked between a daemon's exit and its restart: it reads the file
// with three system calls, through the directory's descriptor, where an
// os.File would also enter Go's poller and leave it.
func (g *Group) Populated() (bool, error) {
	fd, err := unix.Openat(g.fd, "cgroup.events", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: filepath.Join(g.Path, "cgroup.events"), Err: err}
	}
	defer unix.Close(fd)
	var buf [256]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil {
		return false, &os.PathError{Op: "read", Path: filepath.Join(g.Path, "cgroup.events"), Err: err}
	}
	return populated(bytes.NewReader(buf[:max(n, 0)]))
}

func populated(r io.Reader) (bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "populated "); ok {
			return v == "1", nil
		}
	}
	return false, errors.New("cgroup.events has no populated line")
}

// WaitEmpty returns once the cgroup has no process. The kernel signals a
// change of cgroup.events with an inotify modify event.
func (g *Group) WaitEmpty(ctx context.Context) error {
	w, err := inotify.New()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(filepath.Join(g.Path, "cgroup.events"), unix.IN_MODIFY); err != nil {
		return err
	}
	for {
		busy, err := g.Populated()
		if err != nil || !busy {
			return err
		}
		if _, err := w.Next(ctx, -1); err != nil {
			return err
		}
	}
}

// Remove removes the cgroup; it must be empty.
func (g *Group) Remove() error {
	unix.Close(g.fd)
	return os.Remove(g.Path)
}

// Close releases the descriptor and keeps the cgroup.
func (g *Group) Close() { unix.Close(g.fd) }

// EnableMemory turns the memory controller on for the tree's cgroups
// (its own subtree_control, and its parent's, which must have it first),
// where cgroup v2 has it and lets this process: it reports whether the
// services' cgroups now have memory.max. (A parent that holds processes,
// as sv-scan's own cgroup does unless it is the root, cannot give its
// children a controller: the kernel's rule of no internal processes.)
func (t *Tree) EnableMemory() bool {
	for _, dir := range []string{filepath.Dir(t.Path), t.Path} {
		os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory"), 0)
	}
	data, err := os.ReadFile(filepath.Join(t.Path, "cgroup.subtree_control"))
	return err == nil && slices.Contains(strings.Fields(string(data)), "memory")
}

// SetMemoryMax sets the group's memory.max: past it, the kernel reclaims,
// then kills with the OOM killer.
func (g *Group) SetMemoryMax(bytes int64) error {
	return os.WriteFile(filepath.Join(g.Path, "memory.max"), []byte(strconv.FormatInt(bytes, 10)), 0)
}

// OOMKills is how many processes of the group the OOM killer killed so
// far (memory.events' oom_kill).
func (g *Group) OOMKills() (uint64, error) {
	data, err := os.ReadFile(filepath.Join(g.Path, "memory.events"))
	if err != nil {
		return 0, err
	}
	return oomKills(string(data)), nil
}

func oomKills(events string) uint64 {
	for _, line := range strings.Split(events, "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
