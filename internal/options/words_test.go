package options

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		"":                           nil,
		"  a  b\tc\n":                {"a", "b", "c"},
		`-g 'daemon off;'`:           {"-g", "daemon off;"},
		`"a b" c'd e'f`:              {"a b", "cd ef"},
		`'' ""`:                      {"", ""},
		`a\ b`:                       {"a b"},
		`"\$ \" \\ \x"`:              {`$ " \ \x`},
		"$HOME ${X:-y} `date` ~/x":   {"$HOME", "${X:-y}", "`date`", "~/x"},
		"#x {a} a=b":                 {"#x", "{a}", "a=b"},
		"a\r\n":                      {"a"}, // an OPTIONS file with CRLF lines
		"'it'\\''s'":                 {"it's"},
		`sh -c 'echo "$1"' x`:        {"sh", "-c", `echo "$1"`, "x"},
		"\"multi\nline\"":            {"multi\nline"},
		"'tab\there' \"\\\njoined\"": {"tab\there", "joined"},
	} {
		got, err := SplitWords(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"a;b":        `";" is a shell operator`,
		"a | b":      `"|" is a shell operator`,
		"(x)":        `"(" is a shell operator`,
		"2>&1":       `">" is a shell operator`,
		"'open":      "unterminated single quote",
		`"open`:      "unterminated double quote",
		`end\`:       "backslash at end of the value",
		"nul\x00":    "a word cannot hold a NUL byte",
		"'nul\x00'":  "a word cannot hold a NUL byte",
		"\"\\\x00\"": "a word cannot hold a NUL byte",
	} {
		_, err := SplitWords(in)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), "cannot split ") {
			t.Errorf("SplitWords(%q): %v, want an error saying %q", in, err, msg)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	for in, want := range map[string][]string{
		"exec /usr/bin/sv-exec run":      {"exec", "/usr/bin/sv-exec", "run"},
		"  a\t b  ":                      {"a", "b"},
		"'/my dir/x' a=b '' 'it'\\''s'":  {"/my dir/x", "a=b", "", "it's"},
		"ab'cd'ef":                       {"abcdef"},
		"":                               nil,
		"@%+=:,./_-":                     {"@%+=:,./_-"},
		"'$HOME `x` \"q\" \\ ; # * ~ é'": {"$HOME `x` \"q\" \\ ; # * ~ é"},
	} {
		got, ok := SplitQuoted(in)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitQuoted(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	// Anything sh could expand, redirect or treat as syntax is refused.
	for _, in := range []string{"$HOME", "a;b", `"a"`, `a\b`, `a\`, "'open", "~x", "*", "a#b", "x>y", "é", "{a,b}", "a\nb"} {
		if got, ok := SplitQuoted(in); ok {
			t.Errorf("SplitQuoted(%q) = %q, accepted", in, got)
		}
	}
}

// FuzzWords: whatever the words, JoinWords writes a line that SplitWords
// and SplitQuoted both read back as those words, and that the OPTIONS
// parser reads as the same text; SplitWords never panics on any value.
func FuzzWords(f *testing.F) {
	for _, seed := range []string{"a b", "it's", `"q" \x`, "$HOME;`x`", "tab\there", "", "a\x00b", "'\r\n'"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = SplitWords(s)
		_, _ = SplitQuoted(s)
		words := strings.Fields(s)
		if strings.IndexByte(s, 0) >= 0 {
			return // no word may hold NUL, in a value or in an argv
		}
		if s != "" {
			words = append(words, s) // one word holding blanks, quotes and all
		}
		line := JoinWords(words)
		if got, err := SplitWords(line); err != nil || !sameWords(got, words) {
			t.Fatalf("SplitWords(JoinWords(%q)) = %q, %v", words, got, err)
		}
		if got, ok := SplitQuoted(line); !ok || !sameWords(got, words) {
			t.Fatalf("SplitQuoted(JoinWords(%q)) = %q, %v", words, got, ok)
		}
		file, err := Parse("fuzz", []byte("A="+Quote(line)+"\n"))
		if err != nil {
			t.Fatalf("Quote(%q) does not parse: %v", line, err)
		}
		if got, _ := file.Assigns[0].Value.Literal(); got != line {
			t.Fatalf("Quote(%q) reads back as %q", line, got)
		}
	})
}

func sameWords(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}
