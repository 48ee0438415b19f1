package options

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Kind is the type of a key's value: what it accepts and how to say so.
type Kind struct {
	Name  string             // shown in docs: "duration", "signal", ...
	Check func(string) error // nil: any text
}

func (k Kind) check(v string) error {
	if k.Check == nil {
		return nil
	}
	return k.Check(v)
}

// kind is a Kind that also decodes: its parser turns a value's text into
// the T that a Config field holds. Checking a value is decoding it and
// dropping the result, so what Set.Apply accepts always decodes.
type kind[T any] struct {
	Kind
	parse func(string) (T, error)
}

func newKind[T any](name string, parse func(string) (T, error)) kind[T] {
	return kind[T]{Kind: Kind{Name: name, Check: func(s string) error { _, err := parse(s); return err }}, parse: parse}
}

// to binds a key of this kind to the Config field that holds its value.
func (k kind[T]) to(field func(*Config) *T) binding {
	return binding{
		kind: k.Kind,
		decode: func(c *Config, text string) error {
			v, err := k.parse(text)
			if err == nil {
				*field(c) = v
			}
			return err
		},
		addr: func(c *Config) any { return field(c) },
	}
}

// toLazy is to for a field of a part of Config made only when one of its
// keys is set (Hooks, Health): an empty value leaves it unmade, so such a
// key has no default in the table; its users take one for the zero value.
func (k kind[T]) toLazy(field func(*Config) *T) binding {
	b := k.to(field)
	decode, check := b.decode, b.kind.Check
	b.decode = func(c *Config, text string) error {
		if text == "" {
			return nil
		}
		return decode(c, text)
	}
	b.kind.Check = func(text string) error {
		if text == "" {
			return nil
		}
		return check(text)
	}
	return b
}

// hooksOf and healthOf make the lazy parts of c on first use.
func hooksOf(c *Config) *Hooks {
	if c.Hooks == nil {
		c.Hooks = &Hooks{}
	}
	return c.Hooks
}

func healthOf(c *Config) *Health {
	if c.Health == nil {
		c.Health = &Health{}
	}
	return c.Health
}

// binding is how a key reaches its Config field: the key's kind, its
// decoder, and the field's address (to find a field's key and source).
type binding struct {
	kind   Kind
	decode func(c *Config, text string) error
	addr   func(c *Config) any
}

var (
	kindText         = newKind("text", func(s string) (string, error) { return s, nil })
	kindBool         = newKind("yes/no", ParseBool)
	kindDuration     = newKind("duration", ParseDuration)
	kindSignal       = newKind("signal", ParseSignal)
	kindSize         = newKind("size", ParseSize)
	kindUmask        = newKind("octal", parseOptionalUmask)
	kindReady        = newKind("readiness", ParseReady)
	kindRestartLimit = newKind("N/SECONDS", ParseRestartLimit)
	kindWords        = newKind("words", SplitWords)
	kindOptCommand   = newKind("command", parseOptionalCommand)
	kindUser         = newKind("user", checked(checkOptional(checkAccountName)))
	kindGroup        = newKind("group", checked(checkOptional(checkAccountName)))
	kindGroups       = newKind("groups", wordsEach(checkAccountName))
	kindNames        = newKind("services", wordsEach(CheckServiceName))
	kindPaths        = newKind("paths", wordsEach(checkAbsPath))
	kindPath         = newKind("path", checked(checkOptional(checkAbsPath)))
	kindEnv          = newKind("NAME=VALUE words", wordsEach(checkEnvAssign))
	kindEnvFile      = newKind("path", ParseEnvFile)
	kindLimit        = newKind("limit", optionalLimit(false))
	kindByteLimit    = newKind("byte limit", optionalLimit(true))
	kindNice         = newKind("-20..19", parseOptionalNice)
	kindCount        = newKind("number", func(s string) (int, error) { return parseIntRange(s, 1, 1<<20) })
	kindName         = newKind("name", checked(checkOptional(CheckServiceName)))
	kindOnFailure    = newKind("action", ParseOnFailure)
	kindAction       = newKind("action", ParseAction)
	kindRate         = newKind("N/SECONDS", ParseRate)
	kindHealth       = newKind("health check", ParseHealthCheck)
	kindOptSize      = newKind("size", parseOptionalSize)
	// kindNoBool is a yes/no stored as its opposite: SVC_HEALTH_RESTART,
	// whose default (yes) must be the zero value of a lazy field.
	kindNoBool = newKind("yes/no", func(s string) (bool, error) { b, err := ParseBool(s); return !b, err })
)

// kindEnum accepts one of values, decoded as the type that names them.
func kindEnum[T ~string](values ...T) kind[T] {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = string(v)
	}
	return newKind(strings.Join(names, " | "), func(s string) (T, error) {
		for _, v := range values {
			if s == string(v) {
				return v, nil
			}
		}
		return "", fmt.Errorf("%q is not one of: %s", s, strings.Join(names, ", "))
	})
}

// checked makes a check into a parser of text that the check accepts.
func checked(check func(string) error) func(string) (string, error) {
	return func(s string) (string, error) {
		if err := check(s); err != nil {
			return "", err
		}
		return s, nil
	}
}

// wordsEach parses a list value whose every word check accepts.
func wordsEach(check func(string) error) func(string) ([]string, error) {
	return func(s string) ([]string, error) {
		words, err := SplitWords(s)
		if err != nil {
			return nil, err
		}
		for _, w := range words {
			if err := check(w); err != nil {
				return nil, err
			}
		}
		return words, nil
	}
}

// parseOptionalCommand parses a command that may be left empty (nil).
func parseOptionalCommand(s string) ([]string, error) {
	words, err := SplitWords(s)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 && s != "" {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

// parseOptionalUmask parses SVC_UMASK; empty is -1, the supervisor's umask.
func parseOptionalUmask(s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	return ParseUmask(s)
}

// parseOptionalNice parses SVC_NICE; empty is nil, the supervisor's nice.
func parseOptionalNice(s string) (*int, error) {
	if s == "" {
		return nil, nil
	}
	n, err := parseIntRange(s, -20, 19)
	return &n, err
}

// optionalLimit parses an SVC_LIMIT_*; empty is nil, the inherited limit.
func optionalLimit(bytes bool) func(string) (*Limit, error) {
	return func(s string) (*Limit, error) {
		if s == "" {
			return nil, nil
		}
		l, err := ParseLimit(s, bytes)
		if err != nil {
			return nil, err
		}
		return &l, nil
	}
}

// EnvFile is SVC_ENV_FILE: a file of NAME=VALUE lines; Optional when it
// was written -PATH. An empty Path is no file.
type EnvFile struct {
	Path     string
	Optional bool
}

// ParseEnvFile parses SVC_ENV_FILE: empty, PATH or -PATH, absolute.
func ParseEnvFile(s string) (EnvFile, error) {
	if s == "" {
		return EnvFile{}, nil
	}
	f := EnvFile{Path: strings.TrimPrefix(s, "-"), Optional: strings.HasPrefix(s, "-")}
	return f, checkAbsPath(f.Path)
}

func checkOptional(f func(string) error) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return f(s)
	}
}

func parseIntRange(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d", s, lo, hi)
	}
	return n, nil
}

// Account names as useradd accepts them ([a-z_][a-z0-9_.-]{0,31}$?), or
// a numeric id.
func checkAccountName(s string) error {
	name := strings.TrimSuffix(s, "$")
	lowerFirst := func(r rune) bool { return r == '_' || 'a' <= r && r <= 'z' }
	lowerRest := func(r rune) bool { return lowerFirst(r) || isDigit(r) || r == '.' || r == '-' }
	if !isWord(name, lowerFirst, lowerRest, 32) && !isWord(s, isDigit, isDigit, len(s)) {
		return fmt.Errorf("%q is not a user or group name", s)
	}
	return nil
}

func checkAbsPath(s string) error {
	if !filepath.IsAbs(s) {
		return fmt.Errorf("%q is not an absolute path", s)
	}
	return nil
}

func checkEnvAssign(s string) error {
	name, _, ok := strings.Cut(s, "=")
	if !ok || !isWord(name, isNameStartRune, isNameCharRune, len(name)) {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	return nil
}

// CheckServiceName accepts a service name: NAME or NAME@INSTANCE, where both
// are made of letters, digits and . _ - (no slash, not starting with a dot),
// each of at most MaxNameLen characters.
func CheckServiceName(s string) error {
	base, inst, isInst := strings.Cut(s, "@")
	if !isWord(base, isNameCharRune, isServiceChar, len(base)) || (isInst && !isWord(inst, isNameCharRune, isInstanceChar, len(inst))) {
		return fmt.Errorf("%q is not a service name (letters, digits, '.', '_', '-', and NAME@INSTANCE for an instance)", snippet(s))
	}
	if len(base) > MaxNameLen || len(inst) > MaxNameLen {
		return fmt.Errorf("%q is not a service name: it is %d characters long, and a name, like an instance, has at most %d", snippet(s), max(len(base), len(inst)), MaxNameLen)
	}
	return nil
}

// MaxNameLen is the longest service name, and the longest instance name.
const MaxNameLen = 100

// isWord reports whether s is one rune that first accepts followed by
// runes that rest accepts, max runes in all. Checks are written this way
// rather than as regular expressions because bounded repetitions such as
// {0,99} compile into programs that cost milliseconds at every start of
// every tool.
func isWord(s string, first, rest func(rune) bool, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i, r := range s {
		if i == 0 && !first(r) || i > 0 && !rest(r) {
			return false
		}
	}
	return true
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// The parser's byte classes, for runes: letters and '_'; and digits.
func isNameStartRune(r rune) bool { return r < 128 && isNameStart(byte(r)) }
func isNameCharRune(r rune) bool  { return r < 128 && isNameChar(byte(r)) }

func isServiceChar(r rune) bool  { return isNameCharRune(r) || r == '.' || r == '+' || r == '-' }
func isInstanceChar(r rune) bool { return isServiceChar(r) || r == ':' }

// parseOptionalSize is a size, or "" for none (0).
func parseOptionalSize(s string) (int64, error) {
	if s == "" || s == "none" {
		return 0, nil
	}
	return ParseSize(s)
}
