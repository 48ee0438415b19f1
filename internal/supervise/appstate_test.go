package supervise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What a previous sv-scan left of SVC_APP_ON_FAILURE's work is read back
// as written; none is an empty state; a broken file is an error naming it.
func TestAppStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apps.json")
	a := newAppActions()
	if err := a.load(path); err != nil {
		t.Fatalf("no file: %v", err)
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	a.restarting["web"] = restartStopping
	a.retriedMember["db"], a.retriedApp["web"] = at, at
	if err := a.save(); err != nil {
		t.Fatal(err)
	}
	b := newAppActions()
	if err := b.load(path); err != nil {
		t.Fatal(err)
	}
	if b.restarting["web"] != restartStopping || !b.retriedMember["db"].Equal(at) || !b.retriedApp["web"].Equal(at) {
		t.Errorf("read back %v %v %v", b.restarting, b.retriedMember, b.retriedApp)
	}
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newAppActions().load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken file: %v", err)
	}
}
