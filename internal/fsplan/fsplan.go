// Package fsplan applies a set of file, symlink and directory changes so
// that a failure leaves the tree as it was: every change is checked and
// every new file is written to a temporary file beside its target before
// anything is renamed into place. Each single replacement is atomic
// (renameio); the window in which some but not all renames are done is only
// the time the renames take.
package fsplan

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/renameio/v2"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Op kinds.
const (
	opFile   = "file"
	opLink   = "link"
	opDir    = "dir"
	opRemove = "remove"
	opRmdir  = "rmdir"
	opKeep   = "keep" // file written only when absent
)

type op struct {
	kind   string
	path   string
	data   []byte
	mode   fs.FileMode
	target string
	quiet  bool // not reported as a change
}

// Plan collects changes; nothing touches the disk until Apply.
type Plan struct {
	ops []op
}

// File makes path hold data with the given mode.
func (p *Plan) File(path string, data []byte, mode fs.FileMode) {
	p.ops = append(p.ops, op{kind: opFile, path: path, data: data, mode: mode})
}

// Record is File for the suite's own bookkeeping, which Apply writes with
// the rest but does not report as a change.
func (p *Plan) Record(path string, data []byte, mode fs.FileMode) {
	p.ops = append(p.ops, op{kind: opFile, path: path, data: data, mode: mode, quiet: true})
}

// FileIfAbsent writes path only when it does not exist: for files the user
// owns once they are created.
func (p *Plan) FileIfAbsent(path string, data []byte, mode fs.FileMode) {
	p.ops = append(p.ops, op{kind: opKeep, path: path, data: data, mode: mode})
}

// Symlink makes path a symlink to target.
func (p *Plan) Symlink(path, target string) {
	p.ops = append(p.ops, op{kind: opLink, path: path, target: target})
}

// Dir makes sure path is a directory (with its parents).
func (p *Plan) Dir(path string, mode fs.FileMode) {
	p.ops = append(p.ops, op{kind: opDir, path: path, mode: mode})
}

// Remove deletes a file or symlink if it is there.
func (p *Plan) Remove(path string) {
	p.ops = append(p.ops, op{kind: opRemove, path: path})
}

// RemoveEmptyDir deletes a directory if it is there and empty.
func (p *Plan) RemoveEmptyDir(path string) {
	p.ops = append(p.ops, op{kind: opRmdir, path: path})
}

// PathsFrom are the paths of the changes planned from the nth on.
func (p *Plan) PathsFrom(n int) []string {
	var paths []string
	for _, o := range p.ops[n:] {
		paths = append(paths, o.path)
	}
	return paths
}

// Len is the number of changes planned (changed or not).
func (p *Plan) Len() int { return len(p.ops) }

// Change is one thing Apply did.
type Change struct {
	Path string
	What string // "created", "updated", "removed"
}

func (c Change) String() string { return c.What + " " + c.Path }

// Apply carries out the plan. It returns what changed; an empty list means
// the tree already matched. On error nothing has been renamed into place,
// except directories (which are created first, because temporary files
// must be written in their target's directory).
func (p *Plan) Apply() ([]Change, error) {
	var todo []op
	var changes []Change
	removing := map[string]bool{}
	for _, o := range p.ops {
		if o.kind == opRemove {
			removing[o.path] = true
		}
	}
	for _, o := range p.ops {
		what, err := o.pending(removing)
		if err != nil {
			return nil, err
		}
		if what != "" {
			todo = append(todo, o)
			if !o.quiet {
				changes = append(changes, Change{Path: o.path, What: what})
			}
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	for _, o := range todo {
		if o.kind == opDir {
			if err := os.MkdirAll(o.path, o.mode); err != nil {
				return nil, err
			}
		}
	}
	staged, err := stage(todo)
	if err != nil {
		return nil, err
	}
	if err := commit(todo, staged); err != nil {
		return nil, err
	}
	return changes, nil
}

// pending says what applying o would do ("" for nothing) or why it cannot.
// removing holds the paths the plan removes, so that a directory emptied
// by the plan counts as empty.
func (o op) pending(removing map[string]bool) (string, error) {
	fi, err := os.Lstat(o.path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	created := "created"
	if exists {
		created = "updated"
	}
	switch o.kind {
	case opDir:
		if exists && !fi.IsDir() {
			return "", fmt.Errorf("%s: exists and is not a directory", o.path)
		}
		if exists {
			return "", nil
		}
		return "created", nil
	case opRemove:
		if !exists {
			return "", nil
		}
		if fi.IsDir() {
			return "", fmt.Errorf("%s: is a directory, not removing it", o.path)
		}
		return "removed", nil
	case opRmdir:
		if !exists || !fi.IsDir() {
			return "", nil
		}
		ents, err := os.ReadDir(o.path)
		if err != nil {
			return "", nil
		}
		for _, e := range ents {
			if !removing[filepath.Join(o.path, e.Name())] {
				return "", nil
			}
		}
		return "removed", nil
	}
	if exists && fi.IsDir() {
		return "", fmt.Errorf("%s: is a directory, cannot replace it with a %s", o.path, o.kind)
	}
	switch o.kind {
	case opKeep:
		if exists {
			return "", nil
		}
		return "created", nil
	case opLink:
		if exists && fi.Mode()&fs.ModeSymlink != 0 {
			if t, err := os.Readlink(o.path); err == nil && t == o.target {
				return "", nil
			}
		}
		return created, nil
	case opFile:
		if exists && fi.Mode().IsRegular() && fi.Mode().Perm() == o.mode.Perm() {
			if old, err := os.ReadFile(o.path); err == nil && bytes.Equal(old, o.data) {
				return "", nil
			}
		}
		return created, nil
	}
	return "", fmt.Errorf("fsplan: unknown op %q", o.kind)
}

// stage writes every new file's content to a temporary file beside it.
func stage(todo []op) (map[int]*renameio.PendingFile, error) {
	staged := map[int]*renameio.PendingFile{}
	cleanup := func() {
		for _, f := range staged {
			f.Cleanup()
		}
	}
	for i, o := range todo {
		if o.kind != opFile && o.kind != opKeep {
			continue
		}
		f, err := renameio.NewPendingFile(o.path, renameio.WithPermissions(o.mode), renameio.IgnoreUmask(), safefile.Beside(o.path))
		if err != nil {
			cleanup()
			return nil, writeError(o.path, err)
		}
		staged[i] = f
		if _, err := f.Write(o.data); err != nil {
			cleanup()
			return nil, writeError(o.path, err)
		}
	}
	return staged, nil
}

// commit renames staged files into place, replaces links and removes what
// is to be removed. Removals go last and deepest first, so a directory is
// emptied before it is removed.
func commit(todo []op, staged map[int]*renameio.PendingFile) error {
	defer func() {
		for _, f := range staged {
			f.Cleanup() // a no-op for files already renamed into place
		}
	}()
	for i, o := range todo {
		var err error
		switch o.kind {
		case opFile, opKeep:
			err = staged[i].CloseAtomicallyReplace()
		case opLink:
			err = renameio.Symlink(o.target, o.path)
		}
		if err != nil {
			return err
		}
	}
	var removals []op
	for _, o := range todo {
		if o.kind == opRemove || o.kind == opRmdir {
			removals = append(removals, o)
		}
	}
	sort.SliceStable(removals, func(i, j int) bool { return len(removals[i].path) > len(removals[j].path) })
	for _, o := range removals {
		if err := os.Remove(o.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writeError names the file the user knows, not renameio's temporary one,
// keeping the system error (and its errno) underneath.
func writeError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: "write", Path: path, Err: err}
}
