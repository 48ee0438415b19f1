package vmtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// AddModules adds kernel modules by name (virtio_blk, ext4; - and _ are
// the same), with what modules.dep says they need and the modules their
// softdeps name (ext4 wants crc32c), under /lib/modules/<Release>, and a
// modules.dep, modules.alias and modules.builtin for those, so that
// busybox modprobe, and the kernel asking for an alias through it, find
// them. Built-in modules are skipped. Compressed modules are stored
// decompressed, as busybox insmod may not read them. Modules added by an
// earlier call stay in the indexes.
func (k Kernel) AddModules(a *Archive, names ...string) error {
	if k.Modules == "" {
		return fmt.Errorf("no modules for kernel %s in /lib/modules/%s", k.Release, k.Release)
	}
	idx, err := readModuleIndex(k.Modules)
	if err != nil {
		return err
	}
	root := path.Join("lib/modules", k.Release)
	wanted, err := idx.closure(append(idx.addedBefore(a, root), names...))
	if err != nil {
		return err
	}
	for _, name := range wanted {
		data, err := readModule(filepath.Join(k.Modules, idx.files[name]))
		if err != nil {
			return err
		}
		a.File(path.Join(root, stripCompression(idx.files[name])), data, 0o644)
	}
	a.File(path.Join(root, "modules.dep"), idx.depFile(wanted), 0o644)
	a.File(path.Join(root, "modules.alias"), idx.aliasFile(wanted), 0o644)
	a.File(path.Join(root, "modules.builtin"), idx.builtinFile(), 0o644)
	return nil
}

// addedBefore gives the modules an earlier AddModules put in a, whose
// indexes this one's replace.
func (idx *moduleIndex) addedBefore(a *Archive, root string) []string {
	var names []string
	for _, name := range idx.order {
		if _, ok := a.entries[path.Join(root, stripCompression(idx.files[name]))]; ok {
			names = append(names, name)
		}
	}
	return names
}

// moduleIndex is what AddModules reads of a kernel's modules directory.
type moduleIndex struct {
	files        map[string]string   // module name -> file, relative to the modules dir
	deps         map[string][]string // module name -> names it needs, from modules.dep
	softdeps     map[string][]string // module name -> aliases or names it wants loaded too
	aliases      [][2]string         // alias, module name: modules.alias's lines
	builtin      map[string]bool
	builtinFiles []string // modules.builtin's lines, kept for the guest's modprobe
	order        []string // module names in modules.dep order
}

func readModuleIndex(dir string) (*moduleIndex, error) {
	idx := &moduleIndex{
		files:    map[string]string{},
		deps:     map[string][]string{},
		softdeps: map[string][]string{},
		builtin:  map[string]bool{},
	}
	if err := eachLine(filepath.Join(dir, "modules.dep"), idx.addDepLine); err != nil {
		return nil, err
	}
	// The others are optional: a kernel without softdeps, aliases or
	// built-in modules may not have the files at all.
	for file, add := range map[string]func([]string){
		"modules.softdep": idx.addSoftdepLine,
		"modules.alias":   idx.addAliasLine,
		"modules.builtin": idx.addBuiltinLine,
	} {
		if err := eachLine(filepath.Join(dir, file), add); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return idx, nil
}

// eachLine calls add with the fields of each line of file that is not
// blank or a comment.
func eachLine(file string, add func(fields []string)) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && !strings.HasPrefix(fields[0], "#") {
			add(fields)
		}
	}
	return sc.Err()
}

// addDepLine reads "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko ...".
func (idx *moduleIndex) addDepLine(fields []string) {
	file := strings.TrimSuffix(fields[0], ":")
	name := moduleName(file)
	idx.files[name] = file
	idx.order = append(idx.order, name)
	for _, dep := range fields[1:] {
		idx.deps[name] = append(idx.deps[name], moduleName(dep))
	}
}

// addSoftdepLine reads "softdep ext4 pre: crypto-crc32c post: x".
func (idx *moduleIndex) addSoftdepLine(fields []string) {
	if len(fields) < 3 || fields[0] != "softdep" {
		return
	}
	name := normalizeModule(fields[1])
	for _, f := range fields[2:] {
		if f != "pre:" && f != "post:" {
			idx.softdeps[name] = append(idx.softdeps[name], f)
		}
	}
}

// addAliasLine reads "alias crypto-crc32c crc32c_generic".
func (idx *moduleIndex) addAliasLine(fields []string) {
	if len(fields) == 3 && fields[0] == "alias" {
		idx.aliases = append(idx.aliases, [2]string{fields[1], normalizeModule(fields[2])})
	}
}

// addBuiltinLine reads "kernel/drivers/tty/serial/8250/8250.ko".
func (idx *moduleIndex) addBuiltinLine(fields []string) {
	idx.builtin[moduleName(fields[0])] = true
	idx.builtinFiles = append(idx.builtinFiles, fields[0])
}

// moduleName is the name modprobe knows a module file by.
func moduleName(file string) string {
	return normalizeModule(strings.TrimSuffix(stripCompression(path.Base(file)), ".ko"))
}

func normalizeModule(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}

var compressionSuffixes = []string{".xz", ".zst", ".gz"}

func stripCompression(file string) string {
	for _, suffix := range compressionSuffixes {
		if strings.HasSuffix(file, ".ko"+suffix) {
			return strings.TrimSuffix(file, suffix)
		}
	}
	return file
}

// closure gives the modules names need, directly, through modules.dep
// or through softdeps, in modules.dep order; built-in ones are left out.
func (idx *moduleIndex) closure(names []string) ([]string, error) {
	seen := map[string]bool{}
	var visit func(name string, required bool) error
	visit = func(name string, required bool) error {
		name = normalizeModule(name)
		if seen[name] || idx.builtin[name] {
			return nil
		}
		if _, ok := idx.files[name]; !ok {
			// A softdep may name an alias, or something this kernel
			// does not have: modprobe ignores that too.
			if aliased := idx.resolveAlias(name); len(aliased) > 0 || !required {
				for _, m := range aliased {
					if err := visit(m, false); err != nil {
						return err
					}
				}
				return nil
			}
			return fmt.Errorf("module %s: not in modules.dep and not built in", name)
		}
		seen[name] = true
		for _, dep := range idx.deps[name] {
			if err := visit(dep, true); err != nil {
				return err
			}
		}
		for _, soft := range idx.softdeps[name] {
			if err := visit(soft, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range names {
		if err := visit(name, true); err != nil {
			return nil, err
		}
	}
	var wanted []string
	for _, name := range idx.order {
		if seen[name] {
			wanted = append(wanted, name)
		}
	}
	return wanted, nil
}

// resolveAlias gives the modules an exact (not wildcard) alias names.
func (idx *moduleIndex) resolveAlias(alias string) []string {
	var modules []string
	for _, a := range idx.aliases {
		if normalizeModule(a[0]) == alias {
			modules = append(modules, a[1])
		}
	}
	return modules
}

// depFile is modules.dep for the modules wanted, which are stored
// decompressed.
func (idx *moduleIndex) depFile(wanted []string) []byte {
	var b bytes.Buffer
	for _, name := range wanted {
		b.WriteString(stripCompression(idx.files[name]) + ":")
		for _, dep := range idx.deps[name] {
			b.WriteString(" " + stripCompression(idx.files[dep]))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// aliasFile is modules.alias for the modules wanted: what lets the
// kernel's request_module("crypto-crc32c") find crc32c_generic.
func (idx *moduleIndex) aliasFile(wanted []string) []byte {
	in := map[string]bool{}
	for _, name := range wanted {
		in[name] = true
	}
	var b bytes.Buffer
	for _, a := range idx.aliases {
		if in[a[1]] {
			fmt.Fprintf(&b, "alias %s %s\n", a[0], a[1])
		}
	}
	return b.Bytes()
}

func (idx *moduleIndex) builtinFile() []byte {
	return []byte(strings.Join(idx.builtinFiles, "\n") + "\n")
}

// readModule reads a module file, decompressing .ko.gz, .ko.xz and
// .ko.zst.
func readModule(file string) ([]byte, error) {
	format := ""
	for _, suffix := range compressionSuffixes {
		if strings.HasSuffix(file, ".ko"+suffix) {
			format = strings.TrimPrefix(suffix, ".")
		}
	}
	if format == "" {
		return os.ReadFile(file)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if err := decompress(format, f, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return b.Bytes(), nil
}

// decompress copies r to w decompressed from format: gz in Go, xz and
// zst with the host's xz or zstd, as the standard library has no
// decoder for them.
func decompress(format string, r io.Reader, w io.Writer) error {
	if format == "gz" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, zr)
		return err
	}
	tool, ok := map[string]string{"xz": "xz", "zst": "zstd"}[format]
	if !ok {
		return fmt.Errorf("cannot decompress %s", format)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "-d", "-c")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, w, &stderr
	err := cmd.Run()
	if msg := strings.TrimSpace(stderr.String()); err != nil && msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	if err != nil {
		return fmt.Errorf("%s -d: %w", tool, err)
	}
	return nil
}
