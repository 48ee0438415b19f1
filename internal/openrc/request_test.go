package openrc

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest("getty@tty2 0b6c7c1e-55f3-4c7b-a3d8-2f1b0f8b9a10\n")
	if err != nil || r.Name != "getty@tty2" || r.Token != "0b6c7c1e-55f3-4c7b-a3d8-2f1b0f8b9a10" {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, bad := range []string{"", "name", "name ", " tok", "a  tok", "a tok/x", "a " + strings.Repeat("x", 65),
		"../x t", ".sv-scan t", "a/b t", ". t"} {
		if r, err := ParseRequest(bad); err == nil {
			t.Errorf("ParseRequest(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestParseRequestOptions(t *testing.T) {
	r, err := ParseRequest("web t1 verdict settle=1.5s openrc=/run/openrc\n")
	if err != nil || !r.Verdict || !r.HasSettle || r.Settle != 1500*time.Millisecond || r.OpenRC != "/run/openrc" || r.Invalid != "" {
		t.Fatalf("got %+v, %v", r, err)
	}
	r, err = ParseRequest("web t1")
	if err != nil || r.Verdict || r.HasSettle || r.OpenRC != "" {
		t.Fatalf("no options: got %+v, %v", r, err)
	}
	// Good NAME and TOKEN, bad options: a request to decline, not to drop.
	for opt, want := range map[string]string{
		"settle=soon":        "settle=soon: not a duration",
		"openrc=run/openrc":  "not a clean absolute path",
		"openrc=/run/../etc": "not a clean absolute path",
		"verdict=1":          `unknown option "verdict=1"`,
		"c":                  `unknown option "c"`,
		"":                   `unknown option ""`,
	} {
		r, err := ParseRequest("web t1 " + opt)
		if err != nil || r.Name != "web" || r.Token != "t1" || !strings.Contains(r.Invalid, want) {
			t.Errorf("option %q: got %+v, %v; want Invalid containing %q", opt, r, err, want)
		}
	}
}

func TestVerdictRoundTrip(t *testing.T) {
	for _, v := range []Verdict{
		{Token: "t-1", OK: true},
		{Token: "t-2", Outcome: "failed", Reason: "the daemon exited (exit 3) after 0.01s"},
		{Token: "t-3", Outcome: "declined", Reason: "not marked down"},
	} {
		got, err := ParseVerdict(v.Encode())
		if err != nil || got != v {
			t.Errorf("round trip of %+v: %+v, %v", v, got, err)
		}
	}
	for _, bad := range []string{"", "t ok", "t ok x\n", "t failed\n", "t failed \n", "t maybe why\n", "t/x ok\n", "t\n"} {
		if v, err := ParseVerdict([]byte(bad)); err == nil {
			t.Errorf("ParseVerdict(%q) = %+v, want an error", bad, v)
		}
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	for _, a := range []Answer{
		{Token: "t-1", Started: true, Sent: time.Unix(0, 1764680000123456789), Restarts: 3},
		{Token: "t-2", Reason: "the service dir changed since its last sync"},
		{Token: "t-3", Started: true, Failed: true, Reason: "the daemon exited (exit 3) after 0.01s"},
	} {
		got, err := ParseAnswer(a.Encode())
		if err != nil || got.Token != a.Token || got.Started != a.Started || !got.Sent.Equal(a.Sent) ||
			got.Restarts != a.Restarts || got.Reason != a.Reason || got.Failed != a.Failed {
			t.Errorf("round trip of %+v: %+v, %v", a, got, err)
		}
	}
	// A reason on more than one line stays one line.
	a, err := ParseAnswer(Answer{Token: "t", Reason: "a\nb"}.Encode())
	if err != nil || a.Reason != "a; b" {
		t.Errorf("two-line reason: %+v, %v", a, err)
	}
}

func TestParseAnswerRejects(t *testing.T) {
	for _, bad := range []string{
		"", "t started 1 2", "t started 1 2\nx\n", "t started 1\n", "t started x 2\n", "t started 1 -2\n",
		"t declined \n", "t failed \n", "t maybe 1 2\n", "t/x declined why\n", "t\n",
	} {
		if a, err := ParseAnswer([]byte(bad)); err == nil {
			t.Errorf("ParseAnswer(%q) = %+v, want an error", bad, a)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("sshd 0b6c7c1e-55f3-4c7b-a3d8-2f1b0f8b9a10\n")
	f.Add("sshd t verdict settle=2s openrc=/run/openrc\n")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRequest(line)
		if err != nil {
			return
		}
		if r.Name == "" || strings.ContainsAny(r.Name, " /") || r.Name[0] == '.' || CheckToken(r.Token) != nil {
			t.Fatalf("ParseRequest(%q) accepted %+v", line, r)
		}
		if r.OpenRC != "" && (!filepath.IsAbs(r.OpenRC) || strings.Contains(r.OpenRC, " ")) {
			t.Fatalf("ParseRequest(%q) accepted openrc=%q", line, r.OpenRC)
		}
	})
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte("t started 1764680000123456789 3\n"))
	f.Add([]byte("t declined not marked down\n"))
	f.Add([]byte("t failed the daemon exited (exit 3) after 0.01s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAnswer(data)
		if err != nil {
			return
		}
		b, err := ParseAnswer(a.Encode())
		if err != nil || b.Token != a.Token || b.Started != a.Started || !b.Sent.Equal(a.Sent) ||
			b.Restarts != a.Restarts || b.Reason != a.Reason || b.Failed != a.Failed {
			t.Fatalf("%q: %+v re-read as %+v, %v", data, a, b, err)
		}
	})
}

func FuzzParseVerdict(f *testing.F) {
	f.Add([]byte("t ok\n"))
	f.Add([]byte("t failed the daemon exited (exit 3) after 0.01s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVerdict(data)
		if err != nil {
			return
		}
		w, err := ParseVerdict(v.Encode())
		if err != nil || w != v {
			t.Fatalf("%q: %+v re-read as %+v, %v", data, v, w, err)
		}
	})
}
