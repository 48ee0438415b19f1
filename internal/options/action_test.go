package options

import (
	"strings"
	"testing"
)

func TestParseAction(t *testing.T) {
	for in, want := range map[string]Action{
		"":                                     {},
		"logger -t sv crashed":                 {Verb: ActExec, Arg: "logger -t sv crashed"},
		"/usr/local/bin/notify x:y":            {Verb: ActExec, Arg: "/usr/local/bin/notify x:y"},
		`echo "$SV_SERVICE" >>/tmp/x`:          {Verb: ActExec, Arg: `echo "$SV_SERVICE" >>/tmp/x`},
		"exec:a:b c":                           {Verb: ActExec, Arg: "a:b c"},
		"exec: spaced ":                        {Verb: ActExec, Arg: "spaced"},
		"stop:analytics-api":                   {Verb: ActStop, Arg: "analytics-api"},
		"start:getty@tty1":                     {Verb: ActStart, Arg: "getty@tty1"},
		"restart:db":                           {Verb: ActRestart, Arg: "db"},
		"app-stop":                             {Verb: ActAppStop},
		"app-restart:analytics":                {Verb: ActAppRestart, Arg: "analytics"},
		"shutdown":                             {Verb: ActShutdown},
		"shutdown:3":                           {Verb: ActShutdown, Code: 3},
		"webhook:http://127.0.0.1:8080/sv?x=1": {Verb: ActWebhook, Arg: "http://127.0.0.1:8080/sv?x=1"},
		"webhook:https://hooks.example.com/T0": {Verb: ActWebhook, Arg: "https://hooks.example.com/T0"},
		"mail:ops@example.com":                 {Verb: ActMail, Arg: "ops@example.com"},
		"mail:root":                            {Verb: ActMail, Arg: "root"},
	} {
		got, err := ParseAction(in)
		if err != nil || got != want {
			t.Errorf("ParseAction(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for bad, why := range map[string]string{
		"stpo:web":          "is not an action",
		"stop":              "needs its NAME",
		"stop:":             "an empty NAME",
		"stop:a/b":          "not a service name",
		"exec:":             "an empty COMMAND",
		"shutdown:256":      "from 0 to 255",
		"webhook:ftp://x/y": "http:// or https://",
		"webhook:http://":   "http:// or https://",
		"mail:a b":          "not one mail address",
		"mail:a@b,c@d":      "not one mail address",
		"mail:x@":           "not one mail address",
		"echo a\nb":         "one line",
	} {
		if _, err := ParseAction(bad); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseAction(%q) = %v, want an error saying %q", bad, err, why)
		}
	}
}

func TestHookEventNames(t *testing.T) {
	for e := HookEvent(0); e < NumHookEvents; e++ {
		if got, err := ParseHookEvent(e.String()); err != nil || got != e {
			t.Errorf("ParseHookEvent(%q) = %v, %v", e, got, err)
		}
		if _, ok := Lookup(e.Key()); !ok {
			t.Errorf("%s has no key %s", e, e.Key())
		}
	}
	if _, err := ParseHookEvent("exited"); err == nil {
		t.Error("exited is no event")
	}
}

// FuzzParseAction: what ParseAction (and ParseHealthCheck) accepts reads
// back the same from String.
func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"logger x", "exec:a b", "stop:web", "shutdown:3", "app-restart", "webhook:http://h/x", "mail:a@b", "x:y"} {
		f.Add(s)
	}
	f.Add("http://h:80/x=204")
	f.Add("tcp::80")
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := ParseHealthCheck(s); err == nil && h.Kind != "" {
			if again, err := ParseHealthCheck(h.String()); err != nil || again.String() != h.String() {
				t.Fatalf("ParseHealthCheck(%q).String() = %q reads back as %q, %v", s, h, again, err)
			}
		}
		a, err := ParseAction(s)
		if err != nil || a.IsZero() {
			return
		}
		again, err := ParseAction(a.String())
		if err != nil || again != a {
			t.Fatalf("ParseAction(%q).String() = %q reads back as %+v, %v", s, a.String(), again, err)
		}
	})
}

func TestParseHealthCheck(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "none": "", "tcp::8080": "tcp:127.0.0.1:8080", "tcp:[::1]:80": "tcp:[::1]:80",
		"http://127.0.0.1:8080/ok": "http://127.0.0.1:8080/ok", "http:http://h/x=204": "http://h/x=204",
		"http://h/a=b": "http://h/a=b", "check:pg_isready -q": "check:pg_isready -q",
	} {
		h, err := ParseHealthCheck(in)
		if err != nil || h.String() != want {
			t.Errorf("ParseHealthCheck(%q) = %q, %v; want %q", in, h, err, want)
		}
	}
	for _, bad := range []string{"udp:1", "tcp:x", "http://", "https://h/x", "http:ftp://h/", "check:"} {
		if _, err := ParseHealthCheck(bad); err == nil {
			t.Errorf("ParseHealthCheck(%q): no error", bad)
		}
	}
}
