package options

import (
	"fmt"
	"strings"

	"github.com/mattn/go-shellwords"
)

// SplitWords splits a list value (SVC_OPTS, SVC_ENV, ...) into words with sh
// quoting rules. Values are already expanded, so $ and backticks are literal
// here; operators such as ; or | are rejected because no shell runs them.
func SplitWords(s string) ([]string, error) {
	p := shellwords.NewParser()
	p.ParseEnv = false
	p.ParseBacktick = false
	words, err := p.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("cannot split %q into words: %v", s, err)
	}
	if p.Position >= 0 && p.Position < len(s) {
		return nil, fmt.Errorf("cannot split %q into words: %q is a shell operator; quote it if it is meant literally", s, strings.TrimSpace(s[p.Position:p.Position+1]))
	}
	return words, nil
}

// safeUnquoted holds the bytes that need no quoting in sh.
func safeUnquoted(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.ContainsRune("@%+=:,./_-", c)
}

// Quote returns s as one sh word: unchanged when that is safe, otherwise in
// single quotes. Parse and SplitWords both read it back as s.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.IndexFunc(s, func(c rune) bool { return !safeUnquoted(c) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// JoinWords quotes each word and joins them with spaces, the inverse of SplitWords.
func JoinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
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
