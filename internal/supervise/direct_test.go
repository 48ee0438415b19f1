package supervise

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/options"
)

func TestParseRunScript(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // nil: not a script that only execs
	}{
		{"sv-gen's", "#!/bin/sh\n# comment\n\nexec /usr/bin/sv-exec run\n", []string{"/usr/bin/sv-exec", "run"}},
		{"relocated, quoted", "#!/bin/sh\nexec '/opt/sv/bin/sv-exec' run --root '/home/me/tree'\n", []string{"/opt/sv/bin/sv-exec", "run", "--root", "/home/me/tree"}},
		{"indented, no final newline", "#!/bin/sh\n\texec  /bin/sv-exec\trun", []string{"/bin/sv-exec", "run"}},
		{"multi-call", "#!/bin/sh\nexec /usr/bin/supervision exec run\n", []string{"/usr/bin/supervision", "exec", "run"}},
		{"another shell", "#!/bin/bash\nexec /usr/bin/sv-exec run\n", nil},
		{"no shebang", "exec /usr/bin/sv-exec run\n", nil},
		{"two commands", "#!/bin/sh\nulimit -n 100\nexec /usr/bin/sv-exec run\n", nil},
		{"no exec", "#!/bin/sh\n/usr/bin/sv-exec run\n", nil},
		{"exec alone", "#!/bin/sh\nexec\n", nil},
		{"nothing", "#!/bin/sh\n# nothing\n", nil},
		{"a variable", "#!/bin/sh\nexec /usr/bin/sv-exec run --root $ROOT\n", nil},
		{"a redirection", "#!/bin/sh\nexec /usr/bin/sv-exec run 2>&1\n", nil},
		{"a second command on the line", "#!/bin/sh\nexec /usr/bin/sv-exec run; echo\n", nil},
		{"a quote inside quotes", "#!/bin/sh\nexec '/my'\\''dir/sv-exec' run\n", []string{"/my'dir/sv-exec", "run"}},
		{"a quoted space", "#!/bin/sh\nexec '/my dir/sv-exec' run\n", []string{"/my dir/sv-exec", "run"}},
		{"a double-quoted word", "#!/bin/sh\nexec \"/usr/bin/sv-exec\" run\n", nil},
		{"a backslash", "#!/bin/sh\nexec /usr/bin/sv-exec\\ run\n", nil},
		{"an unterminated quote", "#!/bin/sh\nexec '/usr/bin/sv-exec run\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRunScript(tc.text)
			if ok != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseRunScript(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
			}
		})
	}
}

func FuzzParseRunScript(f *testing.F) {
	f.Add("#!/bin/sh\nexec /usr/bin/sv-exec run --root '/x'\n")
	f.Add("#!/bin/sh\nexec 'a\n")
	f.Add("#!/bin/sh\n# c\nexec ''\n")
	f.Fuzz(func(t *testing.T, text string) {
		words, ok := parseRunScript(text)
		if !ok {
			return
		}
		if !strings.HasPrefix(text, "#!/bin/sh\n") && text != "#!/bin/sh" {
			t.Fatalf("accepted a script that does not start with #!/bin/sh: %q", text)
		}
		if len(words) == 0 {
			t.Fatalf("accepted %q with nothing to exec", text)
		}
		for _, w := range words {
			if strings.ContainsRune(w, '\n') {
				t.Fatalf("word %q of %q holds a newline", w, text)
			}
		}
		again, ok := parseRunScript("#!/bin/sh\nexec " + options.JoinWords(words) + "\n")
		if !ok || !reflect.DeepEqual(again, words) {
			t.Fatalf("the words %q of %q, quoted, read back as %q, %v", words, text, again, ok)
		}
	})
}

func TestOwnExec(t *testing.T) {
	bin := t.TempDir()
	self := filepath.Join(bin, "supervision")
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("supervision", filepath.Join(bin, "sv-exec")); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "sv-exec")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sc := &Scanner{self: self}
	for _, tc := range []struct {
		words []string
		root  string
		ok    bool
	}{
		{[]string{bin + "/sv-exec", "run"}, "", true},
		{[]string{bin + "/sv-exec", "run", "--root", "/tree"}, "/tree", true},
		{[]string{self, "exec", "run", "--root", "/tree"}, "/tree", true},
		{[]string{other, "run"}, "", false},                          // another install's sv-exec
		{[]string{bin + "/sv-exec", "log"}, "", false},               // not the daemon
		{[]string{bin + "/sv-exec", "run", "--print"}, "", false},    // an option we do not know
		{[]string{bin + "/sv-exec", "run", "--root"}, "", false},     // no value
		{[]string{bin + "/sv-exec", "run", "--root", ""}, "", false}, // empty root
		{[]string{self, "run"}, "", false},                           // supervision run is no command
		{[]string{bin + "/sv-exec", "exec", "run"}, "", false},       // sv-exec exec is no command
		{[]string{}, "", false},
	} {
		root, ok := sc.ownExec(tc.words)
		if root != tc.root || ok != tc.ok {
			t.Errorf("ownExec(%q) = %q, %v; want %q, %v", tc.words, root, ok, tc.root, tc.ok)
		}
	}
	// The lean sv-scan, installed beside the multi-call binary, knows the
	// run scripts that exec either.
	lean := &Scanner{self: filepath.Join(bin, "sv-scan")}
	for _, words := range [][]string{{bin + "/sv-exec", "run"}, {self, "exec", "run"}} {
		if _, ok := lean.ownExec(words); !ok {
			t.Errorf("the lean sv-scan: ownExec(%q) not ok", words)
		}
	}
	if _, ok := lean.ownExec([]string{other, "run"}); ok {
		t.Error("the lean sv-scan takes another install's sv-exec")
	}
}
