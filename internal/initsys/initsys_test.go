package initsys

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]Mode{"": Auto, "auto": Auto, "system": System, "container": Container} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", s, m, err, want)
		}
	}
	if _, err := ParseMode("vm"); err == nil {
		t.Error("ParseMode(vm) accepted")
	}
	for _, a := range []Action{Poweroff, Reboot, Halt} {
		if got, err := ParseAction(a.String()); err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := ParseAction("suspend"); err == nil {
		t.Error("ParseAction(suspend) accepted")
	}
}

// A request reaches a reader of the control FIFO as its action; junk
// written to the FIFO is ignored; with no reader, Request says so.
func TestControl(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "control")
	if err := Request(path, Reboot); err == nil || !strings.Contains(err.Error(), "sv-init is not running") {
		t.Errorf("Request with no FIFO: %v", err)
	}
	f, err := openControl(path)
	if err != nil {
		t.Fatal(err)
	}
	requests := make(chan Action, 4)
	go readControl(f, requests)
	for _, a := range []Action{Halt, Reboot} {
		if err := Request(path, a); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-requests:
			if got != a {
				t.Errorf("read %v; want %v", got, a)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v not read within 10s", a)
		}
	}
	f.Close()
}
