package svclient

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadSSE(t *testing.T) {
	stream := "retry: 1000\n\n: keep-alive\n\nid: 7\ndata: {\"seq\":7}\n\nid: 8\r\ndata: a\ndata:b\n\ndata: no id\n\nevent: x\n\nid: 9\ndata: cut"
	var got []string
	err := readSSE(strings.NewReader(stream), func(id, data string) error {
		got = append(got, id+"="+data)
		return nil
	})
	want := []string{`7={"seq":7}`, "8=a\nb", "=no id"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("readSSE = %q, %v; want %q (the unended last event not given)", got, err, want)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct{ server, base, err string }{
		{"unix:/run/sv/http.sock", "http://sv", ""},
		{"http://127.0.0.1:9001/", "http://127.0.0.1:9001", ""},
		{"127.0.0.1:9001", "", "want unix:PATH or http://HOST:PORT"},
		{"ftp://x", "", "want unix:PATH or http://HOST:PORT"},
	} {
		c, err := New(tc.server, "")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%q) = %v, want %q", tc.server, err, tc.err)
			}
			continue
		}
		if err != nil || c.base != tc.base {
			t.Errorf("New(%q) = %v, %v; want base %s", tc.server, c, err, tc.base)
		}
	}
}

func FuzzReadSSE(f *testing.F) {
	f.Add("id: 1\ndata: x\n\n")
	f.Add(": c\n\ndata:\ndata\n\n")
	f.Add("id\ndata: \r\n\r\n")
	f.Fuzz(func(t *testing.T, stream string) {
		n := 0
		err := readSSE(strings.NewReader(stream), func(id, data string) error {
			n++
			if strings.ContainsAny(id, "\n") {
				t.Fatalf("an id with a newline: %q", id)
			}
			return nil
		})
		if err == nil && n > strings.Count(stream, "\n") {
			t.Fatalf("%d events from %d lines", n, strings.Count(stream, "\n"))
		}
	})
}
