package options

import (
	"fmt"
	"sort"
	"strings"
)

// Layers, lowest first. A later layer's assignment wins.
const (
	LayerDefault  = "default"
	LayerBuiltin  = "builtin"
	LayerSite     = "site"
	LayerCatalog  = "catalog"
	LayerService  = "service"
	LayerProfile  = "profile"
	LayerHost     = "host"
	LayerInstance = "instance"
)

// Source says where a value came from.
type Source struct {
	Layer string
	Path  string // file, or "catalog:NAME"
	Line  int
}

func (s Source) String() string {
	switch {
	case s.Path == "":
		return s.Layer
	case s.Line > 0:
		return fmt.Sprintf("%s:%d", s.Path, s.Line)
	}
	return s.Path
}

// UserWritten reports whether the value comes from a file the user edits, as
// opposed to the suite's defaults or the catalog. Problems that depend on the
// host (a user that does not exist yet) are errors only there.
func (s Source) UserWritten() bool {
	switch s.Layer {
	case LayerSite, LayerService, LayerProfile, LayerInstance:
		return true
	}
	return false
}

// Value is a key's effective text and its origin.
type Value struct {
	Text   string
	Source Source
	Export bool
}

// Set is the result of evaluating layers: every key's effective value.
type Set struct {
	vals     map[string]*Value
	order    []string // first-assignment order, for a stable environment
	Warnings Errors
}

// NewSet returns a set holding the built-in defaults and builtin variables.
func NewSet(builtins map[string]string) *Set {
	// Sized for every name at once, the values in one block: each service
	// loaded (every sv-exec, every service sv-scan starts) makes one.
	n := len(Builtins) + len(Keys)
	s := &Set{vals: make(map[string]*Value, n), order: make([]string, 0, n)}
	vals := make([]Value, 0, n)
	newValue := func(v Value) *Value {
		vals = append(vals, v)
		return &vals[len(vals)-1]
	}
	for _, b := range Builtins {
		s.put(b.Name, newValue(Value{Text: builtins[b.Name], Source: Source{Layer: LayerBuiltin}}))
	}
	// Defaults may refer to builtins (LOG_DIR uses $SVC_NAME).
	for _, k := range Keys {
		text := k.Default
		if strings.Contains(text, "$") {
			f, err := Parse("default", []byte(k.Name+"="+text))
			if err == nil && len(f.Assigns) == 1 {
				text, _ = s.expand(f.Assigns[0].Value, nil)
			}
		}
		s.put(k.Name, newValue(Value{Text: text, Source: Source{Layer: LayerDefault}}))
	}
	return s
}

func (s *Set) put(name string, v *Value) {
	if _, ok := s.vals[name]; !ok {
		s.order = append(s.order, name)
	}
	s.vals[name] = v
}

// Apply evaluates one parsed file as the given layer, on top of what is set.
// It returns every error in the file; warnings are added to s.Warnings.
func (s *Set) Apply(f *File, layer string) error {
	var errs Errors
	for _, a := range f.Assigns {
		src := Source{Layer: layer, Path: f.Path, Line: a.Line}
		if err := s.assign(a, src); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (s *Set) assign(a Assign, src Source) *Error {
	errAt := func(format string, args ...any) *Error {
		return &Error{Path: src.Path, Line: src.Line, Msg: fmt.Sprintf(format, args...)}
	}
	if isBuiltin(a.Name) {
		return errAt("%s is set by the suite and cannot be assigned", a.Name)
	}
	if !a.HasValue { // export NAME
		if v, ok := s.vals[a.Name]; ok {
			v.Export = true
		} else {
			s.Warnings = append(s.Warnings, errAt("export %s: %s is not set, nothing to export", a.Name, a.Name))
		}
		return nil
	}
	text, err := s.expand(a.Value, &src)
	if err != nil {
		return err
	}
	if k, ok := Lookup(a.Name); ok {
		if err := k.Kind().check(text); err != nil {
			return errAt("%s: %v", a.Name, err)
		}
	} else if !a.Export && !hasLower(a.Name) {
		if src.Layer == LayerProfile || src.Layer == LayerHost {
			// An overlay changes keys set elsewhere: a name it does not
			// know is a mistake that would go unseen on that machine.
			return errAt("%s", strings.Replace(unknownKeyMsg(a.Name), "is ignored", "in an overlay", 1))
		}
		s.Warnings = append(s.Warnings, errAt("%s", unknownKeyMsg(a.Name)))
	}
	s.put(a.Name, &Value{Text: text, Source: src, Export: a.Export})
	return nil
}

func unknownKeyMsg(name string) string {
	if sug := Suggest(name); sug != "" {
		return fmt.Sprintf("unknown key %s is ignored (did you mean %s?)", name, sug)
	}
	return fmt.Sprintf("unknown key %s is ignored (write `export %s=...` to give it to the daemon's environment)", name, name)
}

// Lower-case names are the sh convention for helper variables; they are
// neither keys nor warned about.
func hasLower(name string) bool { return strings.ToUpper(name) != name }

// expand evaluates a word against the values set so far.
func (s *Set) expand(w Word, src *Source) (string, *Error) {
	var b strings.Builder
	for _, p := range w {
		if p.Var == "" {
			b.WriteString(p.Lit)
			continue
		}
		v, set := s.vals[p.Var]
		text := ""
		if set {
			text = v.Text
		}
		switch p.Op {
		case "":
			if !set {
				return "", s.undefined(p.Var, src)
			}
			b.WriteString(text)
		case ":-", "-":
			if set && (p.Op == "-" || text != "") {
				b.WriteString(text)
				continue
			}
			alt, err := s.expand(p.Arg, src)
			if err != nil {
				return "", err
			}
			b.WriteString(alt)
		case ":+", "+":
			if set && (p.Op == "+" || text != "") {
				alt, err := s.expand(p.Arg, src)
				if err != nil {
					return "", err
				}
				b.WriteString(alt)
			}
		}
	}
	return b.String(), nil
}

func (s *Set) undefined(name string, src *Source) *Error {
	e := &Error{Msg: fmt.Sprintf("$%s is not set (write ${%s:-} if it may be empty)", name, name)}
	if sug := Suggest(name); sug != "" && sug != name {
		e.Msg = fmt.Sprintf("$%s is not set (did you mean $%s?)", name, sug)
	}
	if src != nil {
		e.Path, e.Line = src.Path, src.Line
	}
	return e
}

// Get returns a key's effective text ("" when unset).
func (s *Set) Get(name string) string {
	if v, ok := s.vals[name]; ok {
		return v.Text
	}
	return ""
}

// Lookup returns a key's value and whether it is set at all.
func (s *Set) Lookup(name string) (*Value, bool) {
	v, ok := s.vals[name]
	return v, ok
}

// Names returns every name that is set, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.vals))
	for n := range s.vals {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Exported returns NAME=VALUE for every exported name, in assignment order.
func (s *Set) Exported() []string {
	var env []string
	for _, n := range s.order {
		if v := s.vals[n]; v.Export {
			env = append(env, n+"="+v.Text)
		}
	}
	return env
}
