// Package options reads OPTIONS files: a strict subset of POSIX sh made of
// assignments only, layered from built-in defaults up to per-instance files,
// and validated key by key.
//
// Parsing (this file) turns text into assignments whose values are still
// words with variable references; evaluation (eval.go) expands them in layer
// order, so that `SVC_OPTS="$SVC_OPTS -v"` can extend what a lower layer set.
package options

import (
	"fmt"
	"strconv"
	"strings"
)

// File is one parsed OPTIONS file.
type File struct {
	Path    string
	Assigns []Assign
}

// Assign is one NAME=VALUE (or a bare `export NAME`).
type Assign struct {
	Line     int // line the assignment starts on, 1-based
	Name     string
	Export   bool
	HasValue bool // false for `export NAME` without '='
	Value    Word
}

// Word is the value of an assignment: parts concatenated.
type Word []Part

// Part is literal text or a parameter expansion ($NAME, ${NAME}, ${NAME:-w}).
type Part struct {
	Lit string
	Var string // set for an expansion
	Op  string // "", ":-", "-", ":+", "+"
	Arg Word   // the word after Op
}

// Literal reports whether the word has no expansions, and its text.
func (w Word) Literal() (string, bool) {
	var b strings.Builder
	for _, p := range w {
		if p.Var != "" {
			return "", false
		}
		b.WriteString(p.Lit)
	}
	return b.String(), true
}

// Error is one problem at a place in a file.
type Error struct {
	Path string
	Line int
	Msg  string
	// Omitted, when above 0, makes this entry stand for that many more
	// problems of Path that are not shown (see MaxFileErrors).
	Omitted int
}

// maxMsg bounds a message as printed: one that quotes a value holds the
// value, which may be as long as the file.
const maxMsg = 600

func (e *Error) Error() string {
	msg := e.Msg
	if len(msg) > maxMsg {
		// The middle goes: the start says what is wrong with what, the
		// end often says what would be right.
		msg = strings.ToValidUTF8(msg[:maxMsg-200], "") + " ... " + strings.ToValidUTF8(msg[len(msg)-200:], "")
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, msg)
}

// Errors is every problem found in one pass; each prints on its own line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Count is how many problems there are, those not shown included.
func (es Errors) Count() int {
	n := 0
	for _, e := range es {
		n += max(e.Omitted, 1)
	}
	return n
}

// MaxFileErrors is how many problems of one file are reported: past it,
// one line says how many more there are. Garbage read as OPTIONS would
// otherwise print a line for each of its lines.
const MaxFileErrors = 10

// omitted is the entry that stands for n problems of path not shown.
func omitted(path string, n int, what string) *Error {
	if n != 1 {
		what += "s"
	}
	return &Error{Path: path, Omitted: n, Msg: fmt.Sprintf("%d more %s not shown", n, what)}
}

// Capped keeps the first MaxFileErrors problems of each file, in order,
// and puts after them one entry saying how many more there are (merging
// such entries already there). what names them: "error", "warning".
func (es Errors) Capped(what string) Errors {
	shown := map[string]int{}
	more := map[string]int{}
	var out Errors
	for _, e := range es {
		switch {
		case e.Omitted > 0:
			more[e.Path] += e.Omitted
		case shown[e.Path] < MaxFileErrors:
			shown[e.Path]++
			out = append(out, e)
		default:
			more[e.Path]++
		}
	}
	if len(more) == 0 {
		return out
	}
	// Each file's entry goes after its last problem shown, or at the end.
	var capped Errors
	for i, e := range out {
		capped = append(capped, e)
		if n := more[e.Path]; n > 0 && (i+1 == len(out) || out[i+1].Path != e.Path) {
			capped = append(capped, omitted(e.Path, n, what))
			delete(more, e.Path)
		}
	}
	for _, e := range es { // files with nothing but omitted entries
		if n := more[e.Path]; n > 0 {
			capped = append(capped, omitted(e.Path, n, what))
			delete(more, e.Path)
		}
	}
	return capped
}

// Parse parses an OPTIONS file. It reports every problem it finds, one per
// statement, up to MaxFileErrors and then how many more there are, and
// returns the assignments it could read.
func Parse(path string, src []byte) (*File, error) {
	p := &parser{path: path, src: string(src), line: 1}
	f := &File{Path: path}
	more := 0
	for !p.eof() {
		as, err := p.statement()
		if err != nil {
			if len(p.errs) < MaxFileErrors {
				p.errs = append(p.errs, err)
			} else {
				more++
			}
			p.skipLine()
			continue
		}
		f.Assigns = append(f.Assigns, as...)
	}
	if more > 0 {
		p.errs = append(p.errs, omitted(path, more, "error"))
	}
	if len(p.errs) > 0 {
		return f, p.errs
	}
	return f, nil
}

type parser struct {
	path string
	src  string
	pos  int
	line int
	errs Errors
	// name is the key whose value is being parsed, for messages.
	name string
	// split is set when the parser reads the words of a value already
	// expanded (SplitWords): $, ` and ~ are then plain characters, and a
	// carriage return is a blank, so that an OPTIONS file with CRLF lines
	// works.
	split bool
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) peekAt(n int) byte {
	if p.pos+n >= len(p.src) {
		return 0
	}
	return p.src[p.pos+n]
}

func (p *parser) next() byte {
	c := p.src[p.pos]
	p.pos++
	if c == '\n' {
		p.line++
	}
	return c
}

func (p *parser) errorf(line int, format string, args ...any) *Error {
	return &Error{Path: p.path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// skipLine moves past the rest of the current line after an error, so the
// next statement is parsed afresh.
func (p *parser) skipLine() {
	for !p.eof() {
		if p.next() == '\n' {
			return
		}
	}
}

// skipBlanks skips spaces, tabs and backslash-newline continuations.
func (p *parser) skipBlanks() {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t':
			p.next()
		case c == '\\' && p.peekAt(1) == '\n':
			p.next()
			p.next()
		default:
			return
		}
	}
}

// skipComment skips a '#' comment up to (not including) the newline.
func (p *parser) skipComment() {
	for !p.eof() && p.peek() != '\n' {
		p.next()
	}
}

// endOfStatement consumes blanks, a comment and the newline ending a line.
// Anything else left on the line is an error.
func (p *parser) endOfStatement(start int) *Error {
	p.skipBlanks()
	if p.peek() == '#' {
		p.skipComment()
	}
	if p.eof() {
		return nil
	}
	if p.peek() == '\n' {
		p.next()
		return nil
	}
	return p.unexpected(start)
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

// scanName reads a NAME at the current position, or returns "".
func (p *parser) scanName() string {
	start := p.pos
	if !isNameStart(p.peek()) {
		return ""
	}
	for !p.eof() && isNameChar(p.peek()) {
		p.pos++
	}
	return p.src[start:p.pos]
}

var shellKeywords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true,
	"for": true, "while": true, "until": true, "do": true, "done": true,
	"case": true, "esac": true, "function": true, "select": true,
}

// statement parses one line: blank, comment, or assignments with an optional
// leading `export`.
func (p *parser) statement() ([]Assign, *Error) {
	p.skipBlanks()
	start := p.line
	switch c := p.peek(); c {
	case '\n':
		p.next()
		return nil, nil
	case '#':
		p.skipComment()
		return nil, p.endOfStatement(start)
	}
	export := false
	var out []Assign
	for {
		save, saveLine := p.pos, p.line
		name := p.scanName()
		if name == "" {
			if p.eof() {
				return nil, p.errorf(start, "unexpected end of file")
			}
			return nil, p.notAssignment(start, len(out) > 0)
		}
		switch {
		case p.peek() == '=':
			p.pos++
			p.name = name
			w, err := p.word(false)
			if err != nil {
				return nil, err
			}
			out = append(out, Assign{Line: start, Name: name, Export: export, HasValue: true, Value: w})
		case export && atWordEnd(p.peek()):
			out = append(out, Assign{Line: start, Name: name, Export: true})
		case !export && len(out) == 0 && name == "export" && (p.peek() == ' ' || p.peek() == '\t'):
			export = true
		case !export && len(out) == 0 && name == "export" && atWordEnd(p.peek()):
			return nil, p.errorf(start, "export needs a NAME or NAME=VALUE")
		default:
			p.pos, p.line = save, saveLine
			return nil, p.notAssignment(start, len(out) > 0)
		}
		p.skipBlanks()
		if p.eof() || p.peek() == '\n' || p.peek() == '#' {
			if export && len(out) == 0 {
				return nil, p.errorf(start, "export needs a NAME or NAME=VALUE")
			}
			return out, p.endOfStatement(start)
		}
	}
}

func atWordEnd(c byte) bool { return c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '#' }

// notAssignment explains why the text at the current position is not an
// assignment, naming the shell feature it looks like.
func (p *parser) notAssignment(line int, afterAssign bool) *Error {
	rest := p.src[p.pos:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	token := rest
	if i := strings.IndexAny(token, " \t"); i >= 0 {
		token = token[:i]
	}
	word := token
	if i := strings.IndexAny(word, ";&|<>()"); i >= 0 {
		word = word[:i]
	}
	after := strings.TrimLeft(rest[len(word):], " \t")
	token, word = snippet(token), snippet(word)
	switch {
	case afterAssign:
		return p.errorf(line, "%q after an assignment would run a command: quote the whole value, e.g. NAME=\"a b\"", token)
	case word == "." || word == "source":
		return p.errorf(line, "sourcing another file is not allowed in OPTIONS; use SVC_ENV_FILE for an environment file")
	case rest != "" && !isNameStart(rest[0]):
		return p.errorf(line, "unexpected %q: expected NAME=VALUE", rest[:1])
	case shellKeywords[word]:
		return p.errorf(line, "%q: control flow is not allowed in OPTIONS (only NAME=VALUE assignments)", word)
	case strings.HasPrefix(after, "()") || strings.HasSuffix(word, "()"):
		return p.errorf(line, "functions are not allowed in OPTIONS (only NAME=VALUE assignments)")
	case isNameStart(word[0]) && !strings.ContainsAny(word, "=$'\"`\\"):
		return p.errorf(line, "%q is a command, not an assignment: OPTIONS holds only NAME=VALUE lines", word)
	}
	return p.errorf(line, "expected NAME=VALUE, found %q", word)
}

// snippet is at most 40 bytes of s, for quoting in a message: the text
// around a mistake may be a whole line of garbage.
func snippet(s string) string {
	if len(s) <= 40 {
		return s
	}
	return strings.ToValidUTF8(s[:40], "") + "..."
}

func (p *parser) unexpected(line int) *Error {
	if p.eof() {
		return p.errorf(line, "unexpected end of file")
	}
	return p.notAssignment(line, false)
}

// operator refuses an unquoted ; & | < > ( or ): no shell runs the text
// that would give them a meaning.
func (p *parser) operator(c byte) *Error {
	if p.split {
		return p.errorf(p.line, "%q is a shell operator; quote it if it is meant literally", string(c))
	}
	return p.errorf(p.line, "unquoted %q: OPTIONS is not a shell script; quote the value if %q is meant literally", string(c), string(c))
}

// what names the text being read, for messages.
func (p *parser) what() string {
	if p.split {
		return "the value"
	}
	return "file"
}

// errNoBrace marks a ${...} that reaches the end of the file; braced turns
// it into an error at the line the expansion starts on.
var errNoBrace = &Error{Msg: "missing '}'"}

// word parses an assignment value up to an unquoted blank or newline.
// inBrace is set inside ${NAME:-word}, where an unquoted '}' ends the word.
// SplitWords reads each word of a value with it too (p.split), so a
// value's words are quoted as the file's values are.
func (p *parser) word(inBrace bool) (Word, *Error) {
	var w Word
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			w = append(w, Part{Lit: lit.String()})
			lit.Reset()
		}
	}
	first := true
	for !p.eof() {
		c := p.peek()
		switch {
		case p.split && (c == '$' || c == '`' || c == '~'):
			lit.WriteByte(p.next())
		case c == ' ' || c == '\t' || c == '\n' || p.split && c == '\r':
			if !inBrace {
				flush()
				return w, nil
			}
			lit.WriteByte(p.next())
		case c == '}' && inBrace:
			flush()
			return w, nil
		case c == '\\':
			p.next()
			if p.eof() {
				return nil, p.errorf(p.line, "backslash at end of %s", p.what())
			}
			if p.peek() == 0 {
				return nil, p.nul(p.line)
			}
			if e := p.next(); e != '\n' {
				lit.WriteByte(e)
			}
		case c == '\'':
			s, err := p.singleQuoted()
			if err != nil {
				return nil, err
			}
			lit.WriteString(s)
		case c == '"':
			flush()
			parts, err := p.doubleQuoted()
			if err != nil {
				return nil, err
			}
			w = append(w, parts...)
		case c == '$':
			part, isLit, err := p.dollar()
			if err != nil {
				return nil, err
			}
			if isLit {
				lit.WriteString(part.Lit)
			} else {
				flush()
				w = append(w, part)
			}
		case c == '`':
			return nil, p.errorf(p.line, "command substitution (`...`) is not allowed in OPTIONS")
		case c == 0:
			return nil, p.nul(p.line)
		case c == '~' && first:
			return nil, p.errorf(p.line, "tilde expansion is not supported in OPTIONS: write the full path, or quote it as '~'")
		case strings.IndexByte(";&|<>()", c) >= 0:
			return nil, p.operator(c)
		default:
			lit.WriteByte(p.next())
		}
		first = false
	}
	if inBrace {
		return nil, errNoBrace
	}
	flush()
	return w, nil
}

func (p *parser) singleQuoted() (string, *Error) {
	start := p.line
	p.next() // '
	i := strings.IndexByte(p.src[p.pos:], '\'')
	if i < 0 {
		p.pos = len(p.src)
		return "", p.errorf(start, "unterminated single quote")
	}
	s := p.src[p.pos : p.pos+i]
	for range strings.Count(s, "\n") {
		p.line++
	}
	p.pos += i + 1
	if z := strings.IndexByte(s, 0); z >= 0 {
		return "", p.nul(start + strings.Count(s[:z], "\n"))
	}
	return s, nil
}

// nul refuses a NUL byte in a value: no string that reaches a program
// (argv, environment, paths) can hold one, and execve would fail with
// EINVAL at every start, a temporary failure retried for ever.
func (p *parser) nul(line int) *Error {
	if p.split {
		return p.errorf(line, "a word cannot hold a NUL byte")
	}
	return p.errorf(line, "%s: a value cannot hold a NUL byte", p.name)
}

// doubleQuoted parses "..." where \ escapes only $ ` " \ and newline, and
// $ expansions apply.
func (p *parser) doubleQuoted() (Word, *Error) {
	start := p.line
	p.next() // "
	var w Word
	var lit strings.Builder
	for !p.eof() {
		c := p.peek()
		switch c {
		case '"':
			p.next()
			if lit.Len() > 0 {
				w = append(w, Part{Lit: lit.String()})
			}
			if len(w) == 0 {
				w = append(w, Part{Lit: ""})
			}
			return w, nil
		case 0:
			return nil, p.nul(p.line)
		case '\\':
			p.next()
			if p.eof() {
				break
			}
			if p.peek() == 0 {
				return nil, p.nul(p.line)
			}
			switch e := p.next(); e {
			case '$', '`', '"', '\\':
				lit.WriteByte(e)
			case '\n':
			default:
				lit.WriteByte('\\')
				lit.WriteByte(e)
			}
		case '$':
			if p.split {
				lit.WriteByte(p.next())
				continue
			}
			part, isLit, err := p.dollar()
			if err != nil {
				return nil, err
			}
			if isLit {
				lit.WriteString(part.Lit)
				continue
			}
			if lit.Len() > 0 {
				w = append(w, Part{Lit: lit.String()})
				lit.Reset()
			}
			w = append(w, part)
		case '`':
			if p.split {
				lit.WriteByte(p.next())
				continue
			}
			return nil, p.errorf(p.line, "command substitution (`...`) is not allowed in OPTIONS")
		default:
			lit.WriteByte(p.next())
		}
	}
	return nil, p.errorf(start, "unterminated double quote")
}

// dollar parses an expansion after '$'. A '$' that starts no expansion (at the
// end of a word, before a blank or a quote) is a literal dollar sign, as in sh.
func (p *parser) dollar() (Part, bool, *Error) {
	line := p.line
	p.next() // $
	c := p.peek()
	switch {
	case isNameStart(c):
		return Part{Var: p.scanName()}, false, nil
	case c == '{':
		return p.braced(line)
	case c == '(':
		if p.peekAt(1) == '(' {
			return Part{}, false, p.errorf(line, "arithmetic expansion $((...)) is not allowed in OPTIONS")
		}
		return Part{}, false, p.errorf(line, "command substitution $(...) is not allowed in OPTIONS")
	case c >= '0' && c <= '9', strings.IndexByte("@*#?-$!", c) >= 0:
		return Part{}, false, p.errorf(line, "special parameter $%c is not available in OPTIONS", c)
	}
	return Part{Lit: "$"}, true, nil
}

// braced parses ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word}.
func (p *parser) braced(line int) (Part, bool, *Error) {
	p.next() // {
	name := p.scanName()
	if name == "" {
		return Part{}, false, p.errorf(line, "bad substitution: expected ${NAME}")
	}
	if p.peek() == '}' {
		p.next()
		return Part{Var: name}, false, nil
	}
	var op string
	switch {
	case strings.HasPrefix(p.src[p.pos:], ":-"), strings.HasPrefix(p.src[p.pos:], ":+"):
		op = p.src[p.pos : p.pos+2]
	case p.peek() == '-' || p.peek() == '+':
		op = p.src[p.pos : p.pos+1]
	case p.eof() || p.peek() == '\n':
		return Part{}, false, p.errorf(line, "missing '}' in ${%s", name)
	default:
		return Part{}, false, p.errorf(line, "unsupported expansion ${%s%s...}: only ${NAME}, ${NAME:-default} and ${NAME:+alternative} are allowed", name, strings.Trim(strconv.QuoteRune(rune(p.peek())), "'"))
	}
	p.pos += len(op)
	arg, err := p.word(true)
	if err != nil {
		if err == errNoBrace {
			return Part{}, false, p.errorf(line, "missing '}' in ${%s%s...}", name, op)
		}
		return Part{}, false, err
	}
	p.next() // }
	return Part{Var: name, Op: op, Arg: arg}, false, nil
}
