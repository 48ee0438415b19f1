package options

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad is one service's load as sv-exec and sv-scan do it, on a
// tree as sv-gen lays it out: the site's SVC_OPTIONS and the service's
// OPTIONS.
func BenchmarkLoad(b *testing.B) {
	svDir := filepath.Join(b.TempDir(), "etc/sv")
	files := map[string]string{
		".opt/SVC_OPTIONS": "# Site-wide defaults\n#SVC_STOP_TIMEOUT=20s\n",
		"web/OPTIONS":      "# web: made by `sv-gen add`.\nSVC_CMD=/bin/sh\nSVC_OPTS='-c '\\''exec sleep 100000'\\'''\nSVC_READY=\"fd:3\"\n",
	}
	for name, text := range files {
		p := filepath.Join(svDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	l := &Loader{SvDir: svDir}
	if _, err := l.Load("web"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Load("web"); err != nil {
			b.Fatal(err)
		}
	}
}
