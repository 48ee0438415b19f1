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

var (
	kindText     = Kind{Name: "text"}
	kindBool     = Kind{Name: "yes/no", Check: func(s string) error { _, err := ParseBool(s); return err }}
	kindDuration = Kind{Name: "duration", Check: func(s string) error { _, err := ParseDuration(s); return err }}
	kindSignal   = Kind{Name: "signal", Check: func(s string) error { _, err := ParseSignal(s); return err }}
	kindSize     = Kind{Name: "size", Check: func(s string) error { _, err := ParseSize(s); return err }}
	kindUmask    = Kind{Name: "octal", Check: func(s string) error {
		if s == "" {
			return nil
		}
		_, err := ParseUmask(s)
		return err
	}}
	kindReady        = Kind{Name: "readiness", Check: func(s string) error { _, err := ParseReady(s); return err }}
	kindRestartLimit = Kind{Name: "N/SECONDS", Check: func(s string) error { _, err := ParseRestartLimit(s); return err }}
	kindWords        = Kind{Name: "words", Check: func(s string) error { _, err := SplitWords(s); return err }}
	kindCommand      = Kind{Name: "command", Check: checkCommand}
	kindOptCommand   = Kind{Name: "command", Check: func(s string) error {
		if s == "" {
			return nil
		}
		return checkCommand(s)
	}}
	kindUser      = Kind{Name: "user", Check: checkOptional(checkAccountName)}
	kindGroup     = Kind{Name: "group", Check: checkOptional(checkAccountName)}
	kindGroups    = Kind{Name: "groups", Check: eachWord(checkAccountName)}
	kindNames     = Kind{Name: "services", Check: eachWord(CheckServiceName)}
	kindPaths     = Kind{Name: "paths", Check: eachWord(checkAbsPath)}
	kindPath      = Kind{Name: "path", Check: checkOptional(checkAbsPath)}
	kindEnv       = Kind{Name: "NAME=VALUE words", Check: eachWord(checkEnvAssign)}
	kindEnvFile   = Kind{Name: "path", Check: checkOptional(checkEnvFile)}
	kindLimit     = Kind{Name: "limit", Check: checkOptional(func(s string) error { _, err := ParseLimit(s, false); return err })}
	kindByteLimit = Kind{Name: "byte limit", Check: checkOptional(func(s string) error { _, err := ParseLimit(s, true); return err })}
	kindNice      = Kind{Name: "-20..19", Check: checkOptional(func(s string) error { _, err := parseIntRange(s, -20, 19); return err })}
	kindCount     = Kind{Name: "number", Check: func(s string) error { _, err := parseIntRange(s, 1, 1<<20); return err }}
	kindName      = Kind{Name: "name", Check: checkOptional(CheckServiceName)}
)

func kindEnum(values ...string) Kind {
	return Kind{Name: strings.Join(values, " | "), Check: func(s string) error {
		for _, v := range values {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of: %s", s, strings.Join(values, ", "))
	}}
}

func checkOptional(f func(string) error) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return f(s)
	}
}

func eachWord(f func(string) error) func(string) error {
	return func(s string) error {
		words, err := SplitWords(s)
		if err != nil {
			return err
		}
		for _, w := range words {
			if err := f(w); err != nil {
				return err
			}
		}
		return nil
	}
}

func checkCommand(s string) error {
	words, err := SplitWords(s)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return fmt.Errorf("empty command")
	}
	return nil
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

// An env file may be optional, written as -PATH.
func checkEnvFile(s string) error { return checkAbsPath(strings.TrimPrefix(s, "-")) }

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
