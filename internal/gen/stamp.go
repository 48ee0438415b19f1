package gen

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"

	"github.com/supervision-suite/supervision/internal/fsplan"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/templates"
)

// StampFile, in the run dir, names what the shared scripts in .opt were
// last rendered from: a hash of the templates (the site's or the built-in
// ones) and of what is rendered into them. It lives in /run, so a reboot
// renders them again once.
const StampFile = ".shared-stamp"

// sharedStamp is the stamp the shared scripts would get now.
func (g *Generator) sharedStamp() (string, error) {
	// A change detector, not a seal: FNV-1a's 128 bits keep crypto/sha256
	// (and its start-up cost) out of every sv-rc start.
	h := fnv.New128a()
	d := g.templateData()
	fmt.Fprintf(h, "exec %q\nroot %q\n", d.Exec, d.Root)
	for _, name := range sharedFiles() {
		src, origin, err := g.templateText(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s %d\n", name, origin, len(src))
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sharedCurrent reports whether the shared scripts and the tree's
// directories are there and were rendered from what they would be
// rendered from now, so that a start (QuickShared) need not render them
// again: rendering the templates is a large part of what a start costs.
// Content is not compared: a script edited by hand stays until the
// templates change or sv-gen sync runs.
func (g *Generator) sharedCurrent(stamp string) bool {
	l := g.Layout
	got, err := safefile.ReadFile(filepath.Join(l.RunDir, StampFile), safefile.StateLimit)
	if err != nil || !bytes.Equal(bytes.TrimSpace(got), []byte(stamp)) {
		return false
	}
	for _, d := range g.treeDirs() {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return false
		}
	}
	for _, name := range sharedFiles() {
		if _, err := os.Stat(filepath.Join(l.OptDir, name)); err != nil {
			return false
		}
	}
	return true
}

// sharedFiles are the files rendered into .opt: the shared scripts, and
// the site defaults (rendered only when absent).
func sharedFiles() []string {
	return append(append([]string(nil), templates.Shared...), "SVC_OPTIONS")
}

// stampOp records the stamp once the plan has rendered the shared scripts.
func (g *Generator) stampOp(p *fsplan.Plan, stamp string) {
	p.Record(filepath.Join(g.Layout.RunDir, StampFile), []byte(stamp+"\n"), 0o644)
}
