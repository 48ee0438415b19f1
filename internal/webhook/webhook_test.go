package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/hookq"
)

// The deliverer sends the queue in order; a 503 is tried again, and what
// follows waits for it; a 404 is dropped; the first delivery after drops
// says how many; the queue empty, it ends.
func TestDeliver(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fails := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.Contains(string(body), `"n":2`) && fails > 0:
			fails--
			w.WriteHeader(503)
		case strings.Contains(string(body), `"n":3`):
			w.WriteHeader(404)
		case !strings.Contains(string(body), `"n":9`) || strings.Contains(string(body), "dropped"):
			got = append(got, string(body))
		}
	}))
	defer srv.Close()
	scan := t.TempDir()
	dir := hookq.Dir(scan, srv.URL)
	for i := 1; i <= 4; i++ {
		hookq.Add(dir, srv.URL, hookq.EntryName(uint64(i), 0), []byte(`{"n":`+string(rune('0'+i))+`}`))
	}
	// two dropped before (the queue full): said by the next delivery
	for i := 0; i < hookq.Bound-4+2; i++ {
		hookq.Add(dir, srv.URL, hookq.EntryName(uint64(100+i), 0), []byte(`{"n":9}`))
	}
	var log strings.Builder
	d := &Deliverer{Dir: dir, Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.After(20 * time.Second)
	for {
		if names, _ := hookq.List(dir); len(names) == 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the queue was not sent")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	want := []string{`{"n":1,"dropped_deliveries":2}`, `{"n":2}`, `{"n":4}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	if hookq.Unreported(dir) != 0 {
		t.Error("the drops were reported")
	}
	for _, w := range []string{"503 Service Unavailable: retrying until it answers", "delivered again, after 1 try that failed", "refused for good (404 Not Found): dropped"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log.String())
		}
	}
}

func TestRefused(t *testing.T) {
	for code, want := range map[int]bool{400: true, 404: true, 410: true, 408: false, 429: false, 500: false, 503: false, 301: false} {
		if refused(code) != want {
			t.Errorf("refused(%d) = %v", code, !want)
		}
	}
}
