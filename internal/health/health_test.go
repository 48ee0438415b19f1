package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

func TestParseStatusLine(t *testing.T) {
	for in, want := range map[string]int{"HTTP/1.1 200 OK\r\n": 200, "HTTP/1.0 503 Service Unavailable\n": 503, "HTTP/1.1 204": 204} {
		if code, _, err := ParseStatusLine(in); err != nil || code != want {
			t.Errorf("%q: %d, %v", in, code, err)
		}
	}
	for _, bad := range []string{"", "SSH-2.0-OpenSSH\r\n", "HTTP/1.1 20 OK", "HTTP/1.1 abc", "HTTP/2 200"} {
		if _, _, err := ParseStatusLine(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseStatusLine(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		if code, _, err := ParseStatusLine(s); err == nil && (code < 100 || code > 999) {
			t.Fatalf("%q: %d", s, code)
		}
	})
}

func TestChecks(t *testing.T) {
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() != "/ok?x=1" {
			w.WriteHeader(404)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check := func(h options.HealthCheck) error {
		return Check(ctx, options.Health{Check: h}, nil, func(ctx context.Context, cmd []string) error {
			if cmd[0] == "false" {
				return errors.New("exit status 1 \"not ready\"")
			}
			return nil
		})
	}
	if err := check(options.HealthCheck{Kind: "http", URL: srv.URL + "/ok?x=1"}); err != nil {
		t.Error(err)
	}
	status = 503
	if err := check(options.HealthCheck{Kind: "http", URL: srv.URL + "/ok?x=1"}); err == nil || !strings.HasSuffix(err.Error(), "503 Service Unavailable") {
		t.Errorf("503: %v", err)
	}
	if err := check(options.HealthCheck{Kind: "http", URL: srv.URL + "/ok?x=1", Status: 503}); err != nil {
		t.Errorf("503 wanted: %v", err)
	}
	addr := srv.Listener.Addr().String()
	if err := check(options.HealthCheck{Kind: "tcp", Addr: addr}); err != nil {
		t.Error(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if err := check(options.HealthCheck{Kind: "tcp", Addr: closed}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: %v", err)
	}
	if err := check(options.HealthCheck{Kind: "http", URL: "http://" + closed + "/"}); err == nil {
		t.Error("closed port: healthy")
	}
	if err := check(options.HealthCheck{Kind: "check", Cmd: []string{"false"}}); err == nil || err.Error() != `check false: exit status 1 "not ready"` {
		t.Errorf("check: %v", err)
	}
	// memory: this process is far above 1K, far below 1T
	self := func() []int { return []int{os.Getpid()} }
	if err := Check(ctx, options.Health{MemoryMax: 1 << 40}, self, nil); err != nil {
		t.Error(err)
	}
	if err := Check(ctx, options.Health{MemoryMax: 1024}, self, nil); err == nil || !strings.Contains(err.Error(), "above SVC_MEMORY_MAX=1K") {
		t.Errorf("memory: %v", err)
	}
}

// A server that accepts and never answers is a failure at the deadline.
func TestHangingServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := Get(ctx, "http://"+ln.Addr().String()+"/", 0); err == nil {
		t.Error("no answer: healthy")
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{512: "512", 2048: "2K", 3 << 20: "3M", 3 << 29: "1.5G"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
