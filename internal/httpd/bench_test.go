package httpd

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/supervision-suite/supervision/internal/tokens"
)

// BenchmarkEndpoints: each read endpoint of 1,000 services held (what
// make bench measures over HTTP, here without the network).
func BenchmarkEndpoints(b *testing.B) {
	dir := b.TempDir()
	scan := filepath.Join(dir, "run/sv/service")
	os.MkdirAll(scan, 0o755)
	for i := range 1000 {
		fakeService(b, dir, scan, fmt.Sprintf("s%04d", i))
	}
	s, err := New(Config{Listen: "unix:" + filepath.Join(dir, "s"), Root: dir, ScanDir: scan, Log: io.Discard, ScannerPid: os.Getpid()})
	if err != nil {
		b.Fatal(err)
	}
	for _, ep := range []struct {
		name string
		fn   func(w *httptest.ResponseRecorder)
	}{
		{"services", func(w *httptest.ResponseRecorder) { s.services(w, httptest.NewRequest("GET", "/v1/services", nil)) }},
		{"metrics", func(w *httptest.ResponseRecorder) { s.metrics(w, httptest.NewRequest("GET", "/metrics", nil)) }},
		{"page", func(w *httptest.ResponseRecorder) { s.page(w, httptest.NewRequest("GET", "/", nil)) }},
		{"rpc", func(w *httptest.ResponseRecorder) {
			r := httptest.NewRequest("POST", "/RPC2", stringsReader(`<methodCall><methodName>supervisor.getAllProcessInfo</methodName></methodCall>`))
			s.rpc(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, caller{tokens.Read, "bench"})))
		}},
	} {
		b.Run(ep.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				ep.fn(w)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body.String()[:min(200, w.Body.Len())])
				}
			}
		})
	}
}

func stringsReader(s string) io.Reader { return &stringReader{s: s} }

type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}
