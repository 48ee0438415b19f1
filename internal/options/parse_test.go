package options

import (
	"errors"
	"strings"
	"testing"
)

// evalText parses src and evaluates it alone, returning NAME=value for every
// assignment the file made.
func evalText(t *testing.T, src string) (map[string]string, error) {
	t.Helper()
	f, err := Parse("OPTIONS", []byte(src))
	if err != nil {
		return nil, err
	}
	s := NewSet(map[string]string{"SVC_NAME": "svc"})
	if err := s.Apply(f, LayerService); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range f.Assigns {
		out[a.Name] = s.Get(a.Name)
	}
	return out, nil
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		src  string
		want map[string]string
	}{
		{"A=1\n", map[string]string{"A": "1"}},
		{"A=1", map[string]string{"A": "1"}}, // no final newline
		{"  A=x # comment\n# whole line\n\nB=y\n", map[string]string{"A": "x", "B": "y"}},
		{"A=foo#bar\n", map[string]string{"A": "foo#bar"}},
		{"A='a b  c'\n", map[string]string{"A": "a b  c"}},
		{`A="a 'b' \"c\" \$d \\ \x"` + "\n", map[string]string{"A": `a 'b' "c" $d \ \x`}},
		{`A=a\ b\'c` + "\n", map[string]string{"A": `a b'c`}},
		{"A=\n", map[string]string{"A": ""}},
		{`A=""` + "\n", map[string]string{"A": ""}},
		{"A=1 B=2 C=3\n", map[string]string{"A": "1", "B": "2", "C": "3"}},
		{"A=x\nB=$A/y\nC=${A}z\nD=\"[$A]\"\n", map[string]string{"A": "x", "B": "x/y", "C": "xz", "D": "[x]"}},
		{"A=\nB=${A:-dflt}\nC=${A-dflt}\nD=${A:+alt}\nE=${A+alt}\n", map[string]string{"A": "", "B": "dflt", "C": "", "D": "", "E": "alt"}},
		{"B=${NOPE:-'x y'}\nC=${NOPE-$SVC_NAME}\nD=${NOPE:+z}\n", map[string]string{"B": "x y", "C": "svc", "D": ""}},
		{"A=\"one\ntwo\"\nB=3\n", map[string]string{"A": "one\ntwo", "B": "3"}},
		{"A=one\\\ntwo\n", map[string]string{"A": "onetwo"}},
		{"A=$\nB='$x'\nC=\"$\"\n", map[string]string{"A": "$", "B": "$x", "C": "$"}},
		{"export A=1\nexport B=2 C\n", map[string]string{"A": "1", "B": "2"}},
		{"A=*.log\n", map[string]string{"A": "*.log"}}, // no globbing in assignments
		{"SVC_OPTS=\"$SVC_OPTS -v\"\n", map[string]string{"SVC_OPTS": " -v"}},
		{"lower_helper=/x\nA=$lower_helper/y\n", map[string]string{"lower_helper": "/x", "A": "/x/y"}},
		{"A={}\n", map[string]string{"A": "{}"}},
	}
	for _, tt := range tests {
		got, err := evalText(t, tt.src)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s = %q, want %q", tt.src, k, got[k], v)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		line int
		msg  string // a substring of the message
	}{
		{"echo hi\n", 1, `"echo" is a command`},
		{"A=1\nif true; then\n", 2, "control flow"},
		{"f() { x; }\n", 1, "functions are not allowed"},
		{". /etc/other\n", 1, "sourcing another file"},
		{"A=$(date)\n", 1, "command substitution $(...)"},
		{"A=`date`\n", 1, "command substitution (`...`)"},
		{"A=\"`date`\"\n", 1, "command substitution"},
		{"A=$((1+2))\n", 1, "arithmetic expansion"},
		{"A=1; B=2\n", 1, `unquoted ";"`},
		{"A=x|y\n", 1, `unquoted "|"`},
		{"A=x >/dev/null\n", 1, `">/dev/null" after an assignment`},
		{"A=one two\n", 1, `"two" after an assignment would run a command`},
		{"\n\nA='open\n", 3, "unterminated single quote"},
		{"A=\"open\n\n", 1, "unterminated double quote"},
		{"A=~/x\n", 1, "tilde expansion"},
		{"A=$1\n", 1, "special parameter $1"},
		{"A=${#B}\n", 1, "bad substitution"},
		{"A=${B%x}\n", 1, "unsupported expansion"},
		{"A=${B:-x\n", 1, "missing '}'"},
		{"B=$UNSET\n", 1, "$UNSET is not set"},
		{"export\n", 1, "export needs a NAME"},
		{"SVC_NAME=x\n", 1, "cannot be assigned"},
		{"SVC_STOP_SIGNAL=FOO\n", 1, `SVC_STOP_SIGNAL: "FOO" is not a signal`},
		{"A=1\n\n  SVC_STOP_TIMEOUT=soon\n", 3, "SVC_STOP_TIMEOUT"},
		{"=x\n", 1, `unexpected "="`},
		{"A=x\\", 1, "backslash at end of file"},
		// No value can hold a NUL: execve would refuse it at every start.
		{"SVC_OPTS=100\x00\n", 1, "SVC_OPTS: a value cannot hold a NUL byte"},
		{"A=1\nB='x\ny\x00'\n", 3, "B: a value cannot hold a NUL byte"},
		{"A=\"x\x00\"\n", 1, "A: a value cannot hold a NUL byte"},
		{"A=x\\\x00\n", 1, "A: a value cannot hold a NUL byte"},
		{"A=\"\\\x00\"\n", 1, "A: a value cannot hold a NUL byte"},
		{"A=${B:-\x00}\n", 1, "A: a value cannot hold a NUL byte"},
		{"A=1 \x00\n", 1, `"\x00" after an assignment`},
	}
	for _, tt := range tests {
		_, err := evalText(t, tt.src)
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Errorf("%q: got %v, want an error containing %q", tt.src, err, tt.msg)
			continue
		}
		if es[0].Line != tt.line || !strings.Contains(es[0].Msg, tt.msg) {
			t.Errorf("%q: got %q, want line %d and %q", tt.src, es[0].Error(), tt.line, tt.msg)
		}
		if !strings.HasPrefix(es[0].Error(), "OPTIONS:") {
			t.Errorf("%q: error %q does not start with the path", tt.src, es[0].Error())
		}
	}
}

// Every problem is reported, one line each, not just the first.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse("OPTIONS", []byte("A=1\necho x\nB=2\nC=$(x)\nD=4\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("got %v, want 2 errors", err)
	}
	if es[0].Line != 2 || es[1].Line != 4 {
		t.Errorf("lines %d, %d; want 2, 4", es[0].Line, es[1].Line)
	}
	if got := strings.Count(err.Error(), "\n"); got != 1 {
		t.Errorf("want one line per error, got %q", err.Error())
	}
}

// Garbage read as OPTIONS gives MaxFileErrors lines, then one that says
// how many more there are: not a line for each of its lines.
func TestParseCapsErrors(t *testing.T) {
	src := strings.Repeat("echo x\n", 50)
	_, err := Parse("OPTIONS", []byte(src))
	var es Errors
	if !errors.As(err, &es) || len(es) != MaxFileErrors+1 {
		t.Fatalf("got %d errors, want %d then one for the rest", len(es), MaxFileErrors)
	}
	if got := es[len(es)-1].Error(); got != "OPTIONS: 40 more errors not shown" {
		t.Errorf("last line %q", got)
	}
	if es.Count() != 50 {
		t.Errorf("Count() = %d, want 50", es.Count())
	}
	if es[MaxFileErrors-1].Line != MaxFileErrors {
		t.Errorf("the errors shown are not the first ones: %v", es)
	}
}

// A message quoting a long value is cut in the middle, staying one
// readable line, and the text around a mistake is quoted in part.
func TestLongMessages(t *testing.T) {
	long := strings.Repeat("x", 100000)
	_, err := evalText(t, "SVC_RESTART="+long+"\n")
	if err == nil {
		t.Fatal("no error")
	}
	if line := err.Error(); len(line) > 700 || !strings.HasPrefix(line, "OPTIONS:1: SVC_RESTART: \"xxx") ||
		!strings.HasSuffix(line, "is not one of: always, on-failure, never") {
		t.Errorf("%d bytes: %.60q ... %.80q", len(line), line, line[len(line)-80:])
	}
	_, err = Parse("OPTIONS", []byte(long+" y\n"))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("garbage line quoted whole: %d bytes", len(err.Error()))
	}
}

func TestUnknownKeyWarnings(t *testing.T) {
	f, err := Parse("OPTIONS", []byte("SVC_STOP_SIGAL=INT\nFOO_BAR=1\nexport MY_ENV=1\nhelper=2\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(nil)
	if err := s.Apply(f, LayerService); err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 2 {
		t.Fatalf("warnings %v, want 2 (typo and unknown key; not the export or the helper)", s.Warnings)
	}
	if !strings.Contains(s.Warnings[0].Error(), "did you mean SVC_STOP_SIGNAL?") {
		t.Errorf("no suggestion in %q", s.Warnings[0])
	}
	if got := s.Exported(); len(got) != 1 || got[0] != "MY_ENV=1" {
		t.Errorf("exported %v, want [MY_ENV=1]", got)
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", `"q"`, "$HOME", "a\nb", `back\slash`, "~x", "#x", "a;b", "`x`", "tab\there"} {
		f, err := Parse("q", []byte("A="+Quote(s)+"\n"))
		if err != nil {
			t.Errorf("Quote(%q) = %s does not parse: %v", s, Quote(s), err)
			continue
		}
		if got, ok := f.Assigns[0].Value.Literal(); !ok || got != s {
			t.Errorf("Quote(%q) reads back as %q", s, got)
		}
		if w, err := SplitWords(Quote(s)); err != nil || len(w) != 1 || w[0] != s {
			t.Errorf("SplitWords(Quote(%q)) = %q, %v", s, w, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"A=1\n", "export A=1 B\n", "A='x'\"y\"$B${C:-d}\n", "A=\"$(x)\"\n", "# c\n\n",
		"A=${B:-'}'}\n", "A=\\\n", "A=\"\\\n\"\n", "f() {\n", "A=${B:+${C-}}\n",
		"SVC_OPTS=\"100\x00\"\n", "A='\x00'\n", "A=\\\x00\n", strings.Repeat("x\n", 30),
		"SVC_NICE=5 SVC_READY=fd:3 LOG_FILES=3 SVC_UMASK= SVC_LIMIT_AS=1M:2M\n", "SVC_CMD=' ' PRE_CMD=''\n",
		"SVC_ENV_FILE=-/e SVC_RESTART_LIMIT=2/1m SVC_TYPE=oneshot LOG=none\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("fuzz", []byte(src))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not a non-empty Errors", err)
			}
			for _, e := range es {
				if (e.Line < 1 && e.Omitted == 0) || strings.Contains(e.Error(), "\n") {
					t.Fatalf("bad error %q (line %d)", e.Msg, e.Line)
				}
			}
			return
		}
		// What parses must evaluate without panicking, what Apply
		// accepts must decode, and every literal value must survive
		// Quote and a second parse.
		s := NewSet(nil)
		_ = s.Apply(file, LayerService)
		if _, err := Decode(s); err != nil {
			t.Fatalf("applied, but does not decode: %v", err)
		}
		for _, a := range file.Assigns {
			lit, ok := a.Value.Literal()
			if !ok || !a.HasValue {
				continue
			}
			again, err := Parse("fuzz", []byte("A="+Quote(lit)))
			if err != nil {
				t.Fatalf("Quote(%q) does not parse: %v", lit, err)
			}
			if got, _ := again.Assigns[0].Value.Literal(); got != lit {
				t.Fatalf("Quote(%q) reads back as %q", lit, got)
			}
		}
	})
}

func TestQuoteExpand(t *testing.T) {
	s := NewSet(map[string]string{"SVC_NAME": "svc"})
	for in, want := range map[string]string{
		"plain":                  "plain",
		"$SVC_NAME/x":            "svc/x",
		"${SVC_NAME:-y} z":       "svc z",
		`sh -c "echo $0 $1" \n`:  `sh -c "echo $0 $1" \n`,
		"$(date) `date` $$ $@ $": "$(date) `date` $$ $@ $",
		`back\slash and "quote"`: `back\slash and "quote"`,
	} {
		f, err := Parse("q", []byte("A="+QuoteExpand(in)))
		if err != nil {
			t.Errorf("QuoteExpand(%q) = %s: %v", in, QuoteExpand(in), err)
			continue
		}
		if err := s.Apply(f, LayerService); err != nil {
			t.Errorf("QuoteExpand(%q): %v", in, err)
			continue
		}
		if got := s.Get("A"); got != want {
			t.Errorf("QuoteExpand(%q) evaluates to %q, want %q", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"SVC_USR": "SVC_USER", "SVC_STOP_SIGAL": "SVC_STOP_SIGNAL", "svc_cmd": "SVC_CMD",
		"LOG_SIZ": "LOG_SIZE", "X": "", "COMPLETELY_UNRELATED": "",
	} {
		if got := Suggest(in); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
