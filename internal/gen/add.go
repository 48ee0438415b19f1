package gen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/supervision-suite/supervision/internal/fsplan"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"golang.org/x/sys/unix"
)

// AddRequest is what `sv-gen add` was asked.
type AddRequest struct {
	Name    string
	Command []string // the daemon and its arguments; empty: from the catalog
	From    string   // the catalog entry to build on; default: the name's own
	Set     []string // KEY=VALUE settings to write into OPTIONS
	Enable  bool
}

// AddResult is what Add did.
type AddResult struct {
	Changes  []fsplan.Change
	Warnings options.Errors
	Catalog  string
}

// InvalidError carries every problem that stopped a change.
type InvalidError struct{ Problems options.Errors }

func (e *InvalidError) Error() string { return e.Problems.Error() }
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Add creates a service: its OPTIONS (from the catalog or the command),
// the links to the shared scripts, its runtime dirs; and enables it when
// asked. It validates the result before writing anything, and builds a new
// directory beside the tree, renaming it into place when it is complete.
func (g *Generator) Add(req AddRequest) (*AddResult, error) {
	if err := options.CheckServiceName(req.Name); err != nil {
		return nil, err
	}
	base, inst := options.SplitName(req.Name)
	dir := g.Layout.ServiceDir(req.Name)
	if exists(dir) {
		return nil, fmt.Errorf("%s: %w (%s): edit its OPTIONS, or remove it first", req.Name, ErrExists, dir)
	}
	files, cat, err := g.addFiles(req, base, inst)
	if err != nil {
		return nil, err
	}

	loader := g.Loader()
	loader.Overlay = files
	svc, err := loader.Load(req.Name)
	if err != nil {
		return nil, &InvalidError{asErrors(err)}
	}
	errs, warns := svc.Check(g.Host)
	if len(errs) > 0 {
		return nil, &InvalidError{errs}
	}
	res := &AddResult{Catalog: cat, Warnings: append(svc.Set.Warnings, warns...)}

	if res.Changes, err = g.Init(); err != nil {
		return nil, err
	}
	defDir := g.Layout.ServiceDir(base)
	if data, ok := files[filepath.Join(defDir, "OPTIONS")]; ok && inst != "" {
		// The shared definition of the instances is a directory of its own.
		if err := g.createDir(defDir, func(p *fsplan.Plan, tmp string) {
			p.File(filepath.Join(tmp, "OPTIONS"), data, 0o644)
		}); err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, fsplan.Change{Path: defDir, What: "created"})
	}
	err = g.createDir(dir, func(p *fsplan.Plan, tmp string) {
		if inst == "" {
			p.File(filepath.Join(tmp, "OPTIONS"), files[filepath.Join(dir, "OPTIONS")], 0o644)
		}
		g.serviceOps(p, svc, tmp)
	})
	if err != nil {
		return nil, err
	}
	res.Changes = append(res.Changes, fsplan.Change{Path: dir, What: "created"})

	p := &fsplan.Plan{}
	for path, data := range files {
		if filepath.Base(path) != "OPTIONS" {
			p.File(path, data, 0o644) // OPTIONS.<instance> in the definition
		}
	}
	g.runtimeOps(p, svc)
	if req.Enable {
		g.enabledOps(p, req.Name)
	}
	changes, err := p.Apply()
	res.Changes = append(res.Changes, changes...)
	return res, err
}

// addFiles renders the files a new service needs, keyed by path.
func (g *Generator) addFiles(req AddRequest, base, inst string) (map[string][]byte, string, error) {
	defDir := g.Layout.ServiceDir(base)
	defined := inst != "" && exists(filepath.Join(defDir, "OPTIONS"))
	if defined && len(req.Command) > 0 {
		return nil, "", fmt.Errorf("%s: %s already defines %s; its instances share that definition: leave out the command (settings for this instance go in %s)", req.Name, filepath.Join(defDir, "OPTIONS"), base, filepath.Join(defDir, "OPTIONS."+inst))
	}
	settings, err := settingLines(req.Set)
	if err != nil {
		return nil, "", err
	}
	files := map[string][]byte{}
	if inst != "" && len(settings) > 0 {
		path := filepath.Join(defDir, "OPTIONS."+inst)
		if exists(path) {
			return nil, "", fmt.Errorf("%s: %w: edit it instead of using --set", path, ErrExists)
		}
		files[path] = []byte(strings.Join(settings, "\n") + "\n")
		settings = nil
	}
	if defined {
		return files, "", nil
	}

	cat := req.From
	if cat == "" && len(req.Command) == 0 {
		cat = base
		if _, err := g.Catalog.Read(cat); errors.Is(err, fs.ErrNotExist) {
			return nil, "", g.needCommand(req.Name, base)
		}
	}
	data := optionsData{Name: req.Name, Settings: settings}
	if cat != "" {
		entry, err := g.Catalog.Read(cat)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("--from %s: no catalog entry of that name (sv-gen catalog lists them)", cat)
		case err != nil: // a site entry that is no file to read
			return nil, "", fmt.Errorf("catalog entry %s: %w", cat, safefile.Short(err))
		}
		data.Catalog = cat
		data.Description, data.CatalogLines = describeEntry(entry)
	}
	if len(req.Command) > 0 {
		data.Cmd = req.Command[0]
		data.Opts = options.JoinWords(req.Command[1:])
		if data.Catalog != "" {
			// With --from and a command, the command replaces the entry's.
			data.Settings = append([]string{"SVC_CMD=" + options.Quote(data.Cmd), "SVC_OPTS=" + options.Quote(data.Opts)}, data.Settings...)
		}
	}
	text, err := g.render("OPTIONS", data)
	if err != nil {
		return nil, "", err
	}
	files[filepath.Join(defDir, "OPTIONS")] = text
	return files, cat, nil
}

type optionsData struct {
	Name, Description, Catalog string
	CatalogLines               []string
	Cmd, Opts                  string
	Settings                   []string
}

// describeEntry returns an entry's description and its assignment lines,
// which a new OPTIONS shows as comments.
func describeEntry(entry []byte) (string, []string) {
	desc := ""
	var lines []string
	f, _ := options.Parse("entry", entry)
	for _, a := range f.Assigns {
		if a.Name == "SVC_DESCRIPTION" {
			desc, _ = a.Value.Literal()
		}
	}
	for _, l := range strings.Split(string(entry), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "SVC_DESCRIPTION=") {
			lines = append(lines, l)
		}
	}
	return desc, lines
}

// settingLines turns --set KEY=VALUE into OPTIONS lines. Values go in double
// quotes, so $KEY expands as it would in the file.
func settingLines(set []string) ([]string, error) {
	var out []string
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %s: want KEY=VALUE", shown(kv))
		}
		key, known := options.Lookup(k)
		if !known || key.Group == "" {
			if sug := options.Suggest(k); sug != "" {
				return nil, fmt.Errorf("--set %s: unknown key %s (did you mean %s?)", shown(kv), shown(k), sug)
			}
			return nil, fmt.Errorf("--set %s: unknown key %s (docs/OPTIONS.md lists them)", shown(kv), shown(k))
		}
		out = append(out, k+"="+options.QuoteExpand(v))
	}
	return out, nil
}

// shown is a word of the command line as an error shows it: as it is
// when it prints as itself, else quoted as Go quotes service names in
// errors (%q), so that a newline or a control character in it cannot
// break the one line an error is, nor fake another.
func shown(s string) string {
	if q := strconv.Quote(s); s != "" && q[1:len(q)-1] == s && !strings.ContainsAny(s, " \t") {
		return s
	}
	return strconv.Quote(s)
}

// needCommand explains that a name outside the catalog needs a command,
// suggesting entries with a similar name.
func (g *Generator) needCommand(name, base string) error {
	list, _ := g.Catalog.List()
	var near []string
	for _, e := range list {
		if strings.Contains(e.Name, base) || strings.Contains(base, e.Name) {
			near = append(near, e.Name)
		}
	}
	sort.Strings(near)
	hint := ""
	if len(near) > 0 {
		hint = fmt.Sprintf(" (catalog entries with a similar name: %s)", strings.Join(near, ", "))
	}
	return fmt.Errorf("%s: no catalog entry of that name, so it %w: sv-gen add %s -- COMMAND [ARGS...]%s", name, ErrNeedCommand, name, hint)
}

// createDir builds a new directory with fill in a temporary directory next
// to it and renames it into place: the directory appears whole or not at all.
func (g *Generator) createDir(dir string, fill func(p *fsplan.Plan, tmp string)) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".new-"+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	p := &fsplan.Plan{}
	fill(p, tmp)
	if _, err := p.Apply(); err != nil {
		return err
	}
	if err := renameNoReplace(tmp, dir); err != nil {
		return err
	}
	done = true
	return nil
}

// renameNoReplace renames a directory into place unless something took
// that name meanwhile (rename(2) alone would replace an empty directory).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST), errors.Is(err, unix.ENOTEMPTY):
		return fmt.Errorf("%s: %w", to, ErrExists)
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		// A filesystem without RENAME_NOREPLACE: the check in Add stands.
		return os.Rename(from, to)
	}
	return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
}
