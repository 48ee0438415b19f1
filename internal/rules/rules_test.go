package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/options"
)

const contrail = `# OpenContrail's node manager: the API goes with the query engine
contrail-query-engine  fatal   stop:contrail-analytics-api
contrail-query-engine  ready   start:contrail-analytics-api

@analytics   crash,fatal   mail:ops@example.com
*            fatal         exec:logger -t sv "$SV_SERVICE gave up"
`

func TestParseAndMatch(t *testing.T) {
	r, err := Parse("/etc/sv/.opt/rules", contrail)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.List) != 4 || r.List[0].Line != 2 || r.List[3].Line != 6 {
		t.Fatalf("rules %+v", r.List)
	}
	if a := r.List[3].Action; a.Verb != options.ActExec || a.Arg != `logger -t sv "$SV_SERVICE gave up"` {
		t.Errorf("the rest of the line is the action: %+v", a)
	}
	names := func(rs []Rule) string {
		var s []string
		for _, x := range rs {
			s = append(s, x.Action.String())
		}
		return strings.Join(s, " | ")
	}
	for _, c := range []struct {
		service, app string
		ev           options.HookEvent
		want         string
	}{
		{"contrail-query-engine", "analytics", options.HookFatal, `stop:contrail-analytics-api | mail:ops@example.com | exec:logger -t sv "$SV_SERVICE gave up"`},
		{"contrail-query-engine", "", options.HookReady, "start:contrail-analytics-api"},
		{"contrail-collector", "analytics", options.HookCrash, "mail:ops@example.com"},
		{"contrail-collector", "", options.HookCrash, ""},
		{"web", "", options.HookExit, ""},
		{"web", "analyticsx", options.HookFatal, `exec:logger -t sv "$SV_SERVICE gave up"`},
	} {
		if got := names(r.Match(c.service, c.app, c.ev)); got != c.want {
			t.Errorf("Match(%s, @%s, %s) = %q, want %q", c.service, c.app, c.ev, got, c.want)
		}
	}
	var none *Rules
	if none.Match("x", "", options.HookFatal) != nil {
		t.Error("no rules match nothing")
	}
}

// Each bad line is an error of its own at path:line; the good lines apply.
func TestParseErrors(t *testing.T) {
	text := "web fatal stop:db\nweb\nweb fatal\nweb exploded stop:db\nweb fatal stpo:db\na/b fatal stop:db\n@ fatal stop:db\nweb fatal,, stop:db\nweb ready start:db\n"
	r, err := Parse("R", text)
	if len(r.List) != 2 || r.List[1].Line != 9 {
		t.Errorf("the good rules: %+v", r.List)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"R:2: a rule is WHO EVENTS ACTION", "R:3: a rule is", "R:4: \"exploded\" is not an event", "R:5: \"stpo\" is not an action",
		"R:6: \"a/b\" is not a service name", "R:7: @: not an application's name", "R:8: \"\" is not an event"}
	if len(lines) != len(want) {
		t.Fatalf("errors:\n%v", err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want it to begin %q", i, lines[i], w)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if r, err := Load(File(dir)); err != nil || len(r.List) != 0 {
		t.Errorf("no file: %+v, %v", r, err)
	}
	os.MkdirAll(filepath.Join(dir, ".opt"), 0o755)
	os.WriteFile(File(dir), []byte(contrail), 0o644)
	if r, err := Load(File(dir)); err != nil || len(r.List) != 4 {
		t.Errorf("the file: %+v, %v", r, err)
	}
}

// FuzzParse: any text parses without a panic, each error names its line,
// and every rule has an event and an action.
func FuzzParse(f *testing.F) {
	f.Add(contrail)
	f.Add("web fatal,crash stop:db\n# x\n\t* exit exec:a b c\n")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Parse("F", text)
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(l, "F:") {
					t.Fatalf("error line %q names no line", l)
				}
			}
		}
		for _, rule := range r.List {
			any := false
			for _, e := range rule.Events {
				any = any || e
			}
			if !any || rule.Action.IsZero() {
				t.Fatalf("rule %+v", rule)
			}
		}
	})
}
