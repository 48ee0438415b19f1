package options

import (
	"fmt"
	"strings"
)

// This file is the suite's one module of shell words: how a value is split
// into words (SVC_OPTS, SVC_ENV, a check: command), how a word is quoted for
// sh and OPTIONS, and how quoted words are read back from a script line.
// Splitting uses the OPTIONS parser's own reading of quotes, so a value's
// words follow the same sh rules as the file that holds it.

// SplitWords splits a list value (SVC_OPTS, SVC_ENV, ...) into words with sh
// quoting rules: 'single', "double" (where \ escapes only $ ` " \ and
// newline) and \ outside quotes. Values are already expanded, so $, ` and ~
// are literal here; operators such as ; or | are rejected because no shell
// runs them.
func SplitWords(s string) ([]string, error) {
	p := &parser{path: "value", src: s, line: 1, split: true}
	var words []string
	for {
		for !p.eof() && isSplitBlank(p.peek()) {
			p.next()
		}
		if p.eof() {
			return words, nil
		}
		w, err := p.word(false)
		if err != nil {
			return nil, fmt.Errorf("cannot split %q into words: %s", s, err.Msg)
		}
		text, _ := w.Literal() // split mode makes no expansions
		words = append(words, text)
	}
}

// isSplitBlank is what separates words: sh's blanks and newline, and a
// carriage return, which a file with CRLF lines leaves at a value's end.
func isSplitBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// safeUnquoted holds the bytes that need no quoting in sh.
func safeUnquoted(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.ContainsRune("@%+=:,./_-", c)
}

// Quote returns s as one sh word: unchanged when that is safe, otherwise in
// single quotes. Parse, SplitWords and SplitQuoted all read it back as s.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(c rune) bool { return !safeUnquoted(c) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// JoinWords quotes each word and joins them with spaces, the inverse of
// SplitWords and of SplitQuoted.
func JoinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// SplitQuoted reads back the words of a line that JoinWords could have
// written: blanks between words, each made of bytes that need no quoting,
// single-quoted runs, and \' between them. sh reads such a line without
// expanding anything, so its words are exactly what sh would pass on. A
// line holding anything else is not ok: sv-scan then runs the script
// rather than guess what sh would make of it.
func SplitQuoted(line string) ([]string, bool) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			w.WriteString(line[i+1 : i+1+end])
			i += end + 1
		case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
			w.WriteByte('\'')
			i++
		case c < 0x80 && safeUnquoted(rune(c)):
			w.WriteByte(c)
		default:
			return nil, false
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, true
}

// QuoteExpand returns s as a double-quoted OPTIONS value in which $NAME
// and ${...} still expand, and everything else is literal: backslashes,
// quotes, backticks, and a $ that starts no expansion ($0, $(...), $$).
func QuoteExpand(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"' || c == '`':
			b.WriteByte('\\')
		case c == '$' && (i+1 >= len(s) || !(isNameStart(s[i+1]) || s[i+1] == '{')):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}
