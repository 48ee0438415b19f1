package options

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Catalog finds a catalog entry's OPTIONS text by name. An entry that
// does not exist is an error satisfying errors.Is(err, fs.ErrNotExist);
// any other error says why an entry there could not be read.
type Catalog interface {
	Read(name string) ([]byte, error)
}

// Loader reads the layered options of services in one service tree.
type Loader struct {
	SvDir   string // the tree of service definitions, /etc/sv
	Root    string // the tree's root, "" for /; given to values as $SV_ROOT
	Profile string // SV_PROFILE from the environment; wins over the files
	// Host names this machine for OPTIONS.@HOST overlays; "" is
	// os.Hostname's.
	Host    string
	Catalog Catalog // may be nil
	// Overlay holds file contents that stand in for the disk (path ->
	// text), so a change can be validated before it is written.
	Overlay map[string][]byte
}

// Service is one service's definition after layering.
type Service struct {
	Name     string   // getty@tty2
	Base     string   // getty
	Instance string   // tty2
	Dir      string   // the service directory: SvDir/Name
	DefDir   string   // where its OPTIONS live: SvDir/Base
	Catalog  string   // the catalog entry used, if any
	Profile  string   // the profile applied, if any
	Set      *Set     // every name's text after layering
	Config   *Config  // Set decoded: what every consumer acts on
	Files    []Source // the layers that were read, lowest first
}

// SplitName splits NAME@INSTANCE.
func SplitName(name string) (base, instance string) {
	base, instance, _ = strings.Cut(name, "@")
	return base, instance
}

// OptionsFile is the file a service's definition lives in.
func (l *Loader) OptionsFile(name string) string {
	base, _ := SplitName(name)
	return filepath.Join(l.SvDir, base, "OPTIONS")
}

// SiteFile is the tree-wide defaults file.
func (l *Loader) SiteFile() string { return filepath.Join(l.SvDir, ".opt", "SVC_OPTIONS") }

// Load reads and evaluates every layer of the named service. The error, if
// any, is an Errors with one entry per problem; the Service is returned even
// then, with what could be evaluated.
func (l *Loader) Load(name string) (*Service, error) {
	if err := CheckServiceName(name); err != nil {
		return nil, err
	}
	base, inst := SplitName(name)
	svc := &Service{
		Name: name, Base: base, Instance: inst,
		Dir:    filepath.Join(l.SvDir, name),
		DefDir: filepath.Join(l.SvDir, base),
	}
	svc.Set = NewSet(map[string]string{
		"SVC_NAME": name, "SVC_BASE": base, "SVC_INSTANCE": inst, "SV_ROOT": l.Root,
	})
	var errs Errors
	apply := func(f *File, layer string) {
		svc.Files = append(svc.Files, Source{Layer: layer, Path: f.Path})
		if err := svc.Set.Apply(f, layer); err != nil {
			errs = append(errs, err.(Errors)...)
		}
	}

	if f, err := l.readOptional(l.SiteFile()); err != nil {
		errs = append(errs, err...)
	} else if f != nil {
		apply(f, LayerSite)
	}

	main, err := l.readOptional(l.OptionsFile(name))
	errs = append(errs, err...)
	if main == nil && err == nil {
		errs = append(errs, &Error{Path: l.OptionsFile(name), Msg: "no such file: the service has no OPTIONS (create it with sv-gen add)"})
	}
	var instFile *File
	if inst != "" {
		instFile, err = l.readOptional(filepath.Join(svc.DefDir, "OPTIONS."+inst))
		errs = append(errs, err...)
		stray := filepath.Join(svc.Dir, "OPTIONS")
		if _, err := os.Lstat(stray); err == nil || l.Overlay[stray] != nil {
			errs = append(errs, &Error{Path: stray, Msg: fmt.Sprintf("an instance has no OPTIONS of its own: move these settings to %s", filepath.Join(svc.DefDir, "OPTIONS."+inst))})
		}
	}

	cat, catErr := catalogName(main, instFile)
	if catErr != nil {
		errs = append(errs, catErr)
	}
	if cat != "" {
		if f, err := l.catalogFile(cat, catalogLine(main, instFile)); err != nil {
			errs = append(errs, err...)
		} else {
			svc.Catalog = cat
			apply(f, LayerCatalog)
		}
	}
	if main != nil {
		apply(main, LayerService)
	}

	svc.Profile = l.Profile
	if svc.Profile == "" {
		svc.Profile = svc.Set.Get("SV_PROFILE")
	}
	if svc.Profile != "" {
		f, err := l.readOptional(filepath.Join(svc.DefDir, "OPTIONS."+svc.Profile))
		errs = append(errs, err...)
		if f != nil {
			apply(f, LayerProfile)
		}
	}
	if host := l.hostName(); host != "" {
		f, err := l.readOptional(filepath.Join(svc.DefDir, "OPTIONS.@"+host))
		errs = append(errs, err...)
		if f != nil {
			apply(f, LayerHost)
		}
	}
	if instFile != nil {
		apply(instFile, LayerInstance)
	}
	svc.Set.Warnings = svc.Set.Warnings.Capped("warning")
	cfg, decodeErr := Decode(svc.Set)
	svc.Config = cfg
	if decodeErr != nil {
		errs = append(errs, decodeErr.(Errors)...)
	}
	if len(errs) > 0 {
		return svc, errs.onePerLine().Capped("error")
	}
	return svc, nil
}

// hostName is the machine's name for OPTIONS.@HOST.
func (l *Loader) hostName() string {
	if l.Host != "" {
		return l.Host
	}
	h, _ := os.Hostname()
	return h
}

// onePerLine keeps the first error of each file line (a line with one
// mistake can fail more than one check, and one message is clearer), and
// orders them by file, in the order the files were met, then by line.
func (es Errors) onePerLine() Errors {
	fileOrder := map[string]int{}
	for _, e := range es {
		if _, ok := fileOrder[e.Path]; !ok {
			fileOrder[e.Path] = len(fileOrder)
		}
	}
	es = append(Errors(nil), es...)
	sort.SliceStable(es, func(i, j int) bool {
		if fi, fj := fileOrder[es[i].Path], fileOrder[es[j].Path]; fi != fj {
			return fi < fj
		}
		return es[i].Line < es[j].Line
	})
	seen := map[string]bool{}
	var out Errors
	for _, e := range es {
		key := fmt.Sprintf("%s:%d", e.Path, e.Line)
		if e.Line > 0 && seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	return out
}

// readOptional parses a file; a file that does not exist is (nil, nil).
// A FIFO, a device or a file over safefile.ConfigLimit is refused, so
// that no OPTIONS can hang or exhaust whoever reads it (sv-scan).
func (l *Loader) readOptional(path string) (*File, Errors) {
	if data, ok := l.Overlay[path]; ok {
		return parseErrors(path, data)
	}
	data, err := safefile.ReadFile(path, safefile.ConfigLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, Errors{fileError(path, err)}
	}
	return parseErrors(path, data)
}

// fileError is a file that could not be read, as one line: "PATH: not a
// regular file (a FIFO)", "PATH: cannot read: permission denied".
func fileError(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		path = pe.Path
	}
	var refused *safefile.Refused
	if errors.As(err, &refused) {
		return &Error{Path: path, Msg: refused.Error()}
	}
	return &Error{Path: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
}

func parseErrors(path string, data []byte) (*File, Errors) {
	f, err := Parse(path, data)
	if err != nil {
		return f, err.(Errors)
	}
	return f, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// catalogName finds SVC_CATALOG in the service's own files. It is read
// before evaluation, because the catalog layer sits below those files, so
// it has to be a plain word.
func catalogName(files ...*File) (string, *Error) {
	name := ""
	for _, f := range files {
		if f == nil {
			continue
		}
		for _, a := range f.Assigns {
			if a.Name != "SVC_CATALOG" || !a.HasValue {
				continue
			}
			lit, ok := a.Value.Literal()
			if !ok {
				return "", &Error{Path: f.Path, Line: a.Line, Msg: "SVC_CATALOG must be a plain name, without $ expansions"}
			}
			name = lit
		}
	}
	return name, nil
}

func catalogLine(files ...*File) Source {
	src := Source{}
	for _, f := range files {
		if f == nil {
			continue
		}
		for _, a := range f.Assigns {
			if a.Name == "SVC_CATALOG" {
				src = Source{Path: f.Path, Line: a.Line}
			}
		}
	}
	return src
}

func (l *Loader) catalogFile(name string, where Source) (*File, Errors) {
	err := error(fs.ErrNotExist)
	var data []byte
	if l.Catalog != nil {
		data, err = l.Catalog.Read(name)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Errors{{Path: where.Path, Line: where.Line, Msg: fmt.Sprintf("SVC_CATALOG: no catalog entry named %q (sv-gen catalog lists them)", name)}}
	}
	if err != nil {
		return nil, Errors{fileError("catalog:"+name, err)}
	}
	// A broken entry is the site's mistake (or, built in, our bug): say
	// where it is rather than hide it.
	f, errs := parseErrors("catalog:"+name, data)
	if errs != nil {
		return nil, errs
	}
	return f, nil
}

// EnvFileVars evaluates the text of an SVC_ENV_FILE (OPTIONS syntax, read
// from path) with the service's name at hand, and returns NAME=VALUE for
// each name it assigns, in file order: every one goes to the daemon's
// environment.
func (svc *Service) EnvFileVars(path string, data []byte) ([]string, error) {
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	set := NewSet(map[string]string{"SVC_NAME": svc.Name, "SVC_BASE": svc.Base, "SVC_INSTANCE": svc.Instance})
	if err := set.Apply(f, LayerService); err != nil {
		return nil, err
	}
	vars := make([]string, len(f.Assigns))
	for i, a := range f.Assigns {
		vars[i] = a.Name + "=" + set.Get(a.Name)
	}
	return vars, nil
}
