package startreq

import (
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest("getty@tty2 0b6c7c1e-55f3-4c7b-a3d8-2f1b0f8b9a10\n")
	if err != nil || r.Name != "getty@tty2" || r.Token != "0b6c7c1e-55f3-4c7b-a3d8-2f1b0f8b9a10" {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, bad := range []string{"", "name", "name ", " tok", "a b c", "a tok/x", "a " + strings.Repeat("x", 65),
		"../x t", ".sv-scan t", "a/b t", ". t"} {
		if r, err := ParseRequest(bad); err == nil {
			t.Errorf("ParseRequest(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	for _, a := range []Answer{
		{Token: "t-1", Started: true, Sent: time.Unix(0, 1764680000123456789), Restarts: 3},
		{Token: "t-2", Reason: "the service dir changed since its last sync"},
	} {
		got, err := ParseAnswer(a.Encode())
		if err != nil || got.Token != a.Token || got.Started != a.Started || !got.Sent.Equal(a.Sent) ||
			got.Restarts != a.Restarts || got.Reason != a.Reason {
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
		"t declined \n", "t maybe 1 2\n", "t/x declined why\n", "t\n",
	} {
		if a, err := ParseAnswer([]byte(bad)); err == nil {
			t.Errorf("ParseAnswer(%q) = %+v, want an error", bad, a)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("sshd 0b6c7c1e-55f3-4c7b-a3d8-2f1b0f8b9a10\n")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRequest(line)
		if err != nil {
			return
		}
		if r.Name == "" || strings.ContainsAny(r.Name, " /") || r.Name[0] == '.' || CheckToken(r.Token) != nil {
			t.Fatalf("ParseRequest(%q) accepted %+v", line, r)
		}
	})
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte("t started 1764680000123456789 3\n"))
	f.Add([]byte("t declined not marked down\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAnswer(data)
		if err != nil {
			return
		}
		b, err := ParseAnswer(a.Encode())
		if err != nil || b.Token != a.Token || b.Started != a.Started || !b.Sent.Equal(a.Sent) ||
			b.Restarts != a.Restarts || b.Reason != a.Reason {
			t.Fatalf("%q: %+v re-read as %+v, %v", data, a, b, err)
		}
	})
}
