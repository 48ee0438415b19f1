package initsys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The last resort's shell is started again each time it exits, and a
// shell that cannot start is said.
func TestKeepShell(t *testing.T) {
	dir := t.TempDir()
	sh := filepath.Join(dir, "sh")
	count := filepath.Join(dir, "count")
	if err := os.WriteFile(sh, []byte("#!/bin/sh\necho run >>"+count+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	runs := 0
	keepShell(&console, sh, func() bool { runs++; return runs < 2 })
	if data, _ := os.ReadFile(count); string(data) != "run\nrun\n" {
		t.Errorf("the shell ran %q; want twice", data)
	}
	if !strings.Contains(console.String(), "the shell exited: starting it again") {
		t.Errorf("console: %q", console.String())
	}
	console.Reset()
	keepShell(&console, filepath.Join(dir, "none"), func() bool { t.Fatal("asked again"); return false })
	if !strings.Contains(console.String(), "no such file") {
		t.Errorf("a missing shell: %q", console.String())
	}
}
