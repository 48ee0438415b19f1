package tokens

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	set, err := Parse("t", "# comment\n\ngrafana read 0123456789abcdef\nops  control  fedcba9876543210xyz\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Tokens) != 2 || set.Tokens[0].Name != "grafana" || set.Tokens[0].Role != Read || set.Tokens[1].Role != Control || set.Tokens[1].Line != 4 {
		t.Fatalf("%+v", set.Tokens)
	}
	if set.Tokens[0].Secret != "0123456789abcdef" {
		t.Errorf("secret %q", set.Tokens[0].Secret)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"a read", "t:1: want NAME ROLE SECRET, got 2 fields"},
		{"a write 0123456789abcdef", `t:1: a: role "write": want read or control`},
		{"a read short", "t:1: a: secret of 5 characters: want at least 16"},
		{"a:b read 0123456789abcdef", `t:1: name "a:b": want letters`},
		{"a read 0123456789abcdef\n\na control 0123456789abcdeg", "t:3: a: named already at line 1"},
		{"a read 0123456789abcdef extra", "t:1: want NAME ROLE SECRET, got 4 fields"},
	} {
		_, err := Parse("t", tc.text)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want %q", tc.text, err, tc.want)
		}
	}
}

func TestLoadRefusesReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "http.tokens")
	if err := os.WriteFile(path, []byte("a control 0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "mode 0644 lets other users read its secrets") {
		t.Fatalf("Load of a 0644 file: %v", err)
	}
	os.Chmod(path, 0o600)
	set, err := Load(path)
	if err != nil || len(set.Tokens) != 1 {
		t.Fatalf("Load: %v, %+v", err, set)
	}
	if _, err := Load(path + ".none"); err == nil || !strings.HasSuffix(err.Error(), "no such file or directory") {
		t.Fatalf("Load of nothing: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a read 0123456789abcdef\n# x\nb control 0123456789abcdef0\n")
	f.Add("a read\n")
	f.Add("\x00 control 0123456789abcdef")
	f.Fuzz(func(t *testing.T, text string) {
		set, err := Parse("t", text)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "t:") {
					t.Fatalf("error line %q names no place", line)
				}
			}
			return
		}
		for _, tok := range set.Tokens {
			if tok.Role != Read && tok.Role != Control {
				t.Fatalf("token %+v has no role", tok)
			}
		}
	})
}
