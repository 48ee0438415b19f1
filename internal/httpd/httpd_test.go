package httpd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/tokens"
)

// bound is how long a test waits for what should come at once.
const bound = 10 * time.Second

// serve runs a server of an empty scan dir on 127.0.0.1, with the tokens
// given ("" for none); it ends with the test.
func serve(t *testing.T, tokenText string, lim limits) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	scan := filepath.Join(dir, "run/sv/service")
	if err := os.MkdirAll(scan, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Listen: "127.0.0.1:0", Root: dir, ScanDir: scan, Node: "n1", Log: io.Discard}
	if tokenText != "" {
		cfg.Tokens = filepath.Join(dir, "tokens")
		if err := os.WriteFile(cfg.Tokens, []byte(tokenText), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.limits = lim
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(bound):
			t.Errorf("Serve did not return within %s of its end", bound)
		}
	})
	return s, "http://" + ln.Addr().String()
}

const testTokens = "viewer read 0123456789abcdef01\nops control fedcba9876543210fe\n"

func request(t *testing.T, method, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

// TestRoles: who may read and act, with and without a tokens file. The
// action asked for is on a service that does not exist: a caller who
// may act gets 404, one who may not 401 or 403 first.
func TestRoles(t *testing.T) {
	_, withTokens := serve(t, testTokens, defaultLimits)
	_, anonymous := serve(t, "", defaultLimits)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	for _, tc := range []struct {
		name, method, url, path string
		header                  map[string]string
		want                    int
	}{
		{"no credentials", "GET", withTokens, "/v1", nil, 401},
		{"wrong token", "GET", withTokens, "/v1", bearer("0123456789abcdef00"), 401},
		{"unknown scheme", "GET", withTokens, "/v1", map[string]string{"Authorization": "Digest x"}, 401},
		{"read token reads", "GET", withTokens, "/v1", bearer("0123456789abcdef01"), 200},
		{"read token may not act", "POST", withTokens, "/v1/services/x/up", bearer("0123456789abcdef01"), 403},
		{"control token acts", "POST", withTokens, "/v1/services/x/up", bearer("fedcba9876543210fe"), 404},
		{"basic with the right name", "GET", withTokens, "/metrics", map[string]string{"Authorization": basic("ops", "fedcba9876543210fe")}, 200},
		{"basic with another's name", "GET", withTokens, "/metrics", map[string]string{"Authorization": basic("viewer", "fedcba9876543210fe")}, 401},
		{"anonymous reads without tokens", "GET", anonymous, "/v1/services", nil, 200},
		{"anonymous may not act", "POST", anonymous, "/v1/services/x/up", nil, 403},
		{"credentials without tokens", "GET", anonymous, "/v1", bearer("0123456789abcdef01"), 401},
		{"another site's page", "POST", withTokens, "/v1/services/x/up", map[string]string{"Authorization": "Bearer fedcba9876543210fe", "Origin": "http://evil.example"}, 403},
		{"another site, by fetch metadata", "POST", withTokens, "/v1/services/x/up", map[string]string{"Authorization": "Bearer fedcba9876543210fe", "Sec-Fetch-Site": "cross-site"}, 403},
		{"no GET acts", "GET", withTokens, "/v1/services/x/up", bearer("fedcba9876543210fe"), 404},
	} {
		got, body := request(t, tc.method, tc.url+tc.path, tc.header, "")
		if got != tc.want {
			t.Errorf("%s: %s %s: %d %s, want %d", tc.name, tc.method, tc.path, got, body, tc.want)
		}
		if got >= 400 && !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s: the error is not JSON: %s", tc.name, body)
		}
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestUnixSocketControls(t *testing.T) {
	s := &Server{unix: true}
	c, why := s.authenticate(&http.Request{Header: http.Header{}})
	if why != "" || c.role != tokens.Control {
		t.Fatalf("a client of the unix socket: %v %q, want control", c, why)
	}
}

// TestBodyLimits: a body past the bound is refused with 413, a bad one
// with 400, and neither is read whole.
func TestBodyLimits(t *testing.T) {
	_, url := serve(t, testTokens, defaultLimits)
	h := map[string]string{"Authorization": "Bearer fedcba9876543210fe", "Content-Type": "application/json"}
	big := "<methodCall><methodName>" + strings.Repeat("a", 2*maxRPCBody) + "</methodName></methodCall>"
	if got, body := request(t, "POST", url+"/RPC2", h, big); got != 413 {
		t.Errorf("an XML-RPC call of %d bytes: %d %s, want 413", len(big), got, body)
	}
	if got, body := request(t, "POST", url+"/RPC2", h, "<methodCall>"); got != 400 {
		t.Errorf("a broken XML-RPC call: %d %s, want 400", got, body)
	}
}

// TestSlowClient: a client that never finishes its headers is let go
// after the header timeout, and others are served meanwhile.
func TestSlowClient(t *testing.T) {
	lim := defaultLimits
	lim.header = 300 * time.Millisecond
	_, url := serve(t, "", lim)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1 HTTP/1.1\r\nHost: x\r\n") // and no end
	if got, _ := request(t, "GET", url+"/v1", nil, ""); got != 200 {
		t.Errorf("another client got %d while one stalled", got)
	}
	conn.SetReadDeadline(time.Now().Add(bound))
	start := time.Now()
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil || time.Since(start) > bound/2 {
		t.Fatalf("the stalled connection: %v after %s, want it closed after about %s", err, time.Since(start), lim.header)
	}
}

// TestConnectionLimit: past the bound, a connection waits in the backlog
// until one closes.
func TestConnectionLimit(t *testing.T) {
	lim := defaultLimits
	lim.conns = 2
	_, url := serve(t, "", lim)
	addr := strings.TrimPrefix(url, "http://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		fmt.Fprintf(c, "GET /v1 HTTP/1.1\r\nHost: x\r\n\r\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
			t.Fatalf("connection %d: %q %v", len(held), line, err)
		}
	}
	third, err := net.Dial("tcp", addr) // the kernel accepts it into the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	fmt.Fprintf(third, "GET /v1 HTTP/1.1\r\nHost: x\r\n\r\n")
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := bufio.NewReader(third).ReadString('\n'); err == nil {
		t.Fatal("a third connection was served past the bound of 2")
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(bound))
	if line, err := bufio.NewReader(third).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("the third connection, once one closed: %q %v", line, err)
	}
	held[1].Close()
}

// TestStreamLimit: SSE streams past maxStreams get 503, not a goroutine
// each.
func TestStreamLimit(t *testing.T) {
	s, url := serve(t, "", defaultLimits)
	for range maxStreams {
		s.streams <- struct{}{}
	}
	if got, body := request(t, "GET", url+"/v1/events?follow=1", nil, ""); got != 503 || !strings.Contains(body, "too many streams") {
		t.Errorf("a stream past the bound: %d %s, want 503", got, body)
	}
}

func TestHubSince(t *testing.T) {
	h := newHub(t.TempDir())
	for _, seq := range []uint64{5, 6, 9} {
		h.add(events.Event{Seq: seq, Service: "a"})
	}
	seqs := func(hs []held) string {
		var out []string
		for _, x := range hs {
			s := fmt.Sprint(x.ev.Seq)
			if x.ev.Dropped > 0 {
				s += fmt.Sprintf("(-%d)", x.ev.Dropped)
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		since uint64
		want  string
	}{{0, "5 6 9"}, {5, "6 9"}, {2, "4(-2) 5 6 9"}, {9, ""}, {6, "9"}} {
		got, _ := h.since(tc.since)
		if seqs(got) != tc.want {
			t.Errorf("since(%d) = %s, want %s", tc.since, seqs(got), tc.want)
		}
	}
	_, changed := h.since(9)
	h.add(events.Event{Seq: 10})
	select {
	case <-changed:
	default:
		t.Fatal("a stream waiting was not woken by the next event")
	}
}

func TestPyTimedelta(t *testing.T) {
	for secs, want := range map[int]string{0: "0:00:00", 65: "0:01:05", 3723: "1:02:03", 86400 + 5: "1 day, 0:00:05", 3*86400 + 3600: "3 days, 1:00:00"} {
		if got := pyTimedelta(secs); got != want {
			t.Errorf("pyTimedelta(%d) = %q, want %q", secs, got, want)
		}
	}
}
