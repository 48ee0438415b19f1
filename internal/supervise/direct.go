package supervise

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svexec"
)

// spawnDirect starts the daemon itself, in place of ./run, when ./run is
// sv-gen's shared run script execing this program's own sv-exec on the
// tree whose OPTIONS sv-scan read, and the OPTIONS ask nothing that only
// sv-exec's own process can do (svexec.Spec.Direct). It then does just
// what the shell and sv-exec would, without their start-up at every start
// and restart, and marks the exec as sv-exec does.
// Anything else, or any problem, is not ok: ./run runs, and says what is
// wrong in the log as ever.
func (s *service) spawnDirect(u *unit, files []*os.File, env []string, cgroupFD int) (*proc.Process, bool) {
	spec := s.directSpec(u, env)
	if spec == nil {
		return nil, false
	}
	files = append([]*os.File(nil), files...)
	if spec.JoinStderr {
		files[2] = files[1]
	}
	p, err := s.sc.reaper.Start(proc.Spec{
		Path: spec.Path, Argv: spec.Argv, Env: spec.Env, Dir: spec.Dir,
		Files: files, Cred: spec.Credential(), CgroupFD: cgroupFD, OnExit: s.onExit(u),
	})
	if err != nil {
		return nil, false
	}
	if err := u.sup.MarkExec(p.Pid); err != nil {
		s.sc.logf("%s: cannot mark the exec in %s: %v", u.name, u.sup.Dir, err)
	}
	return p, true
}

// directSpec is the daemon's spec when spawnDirect may start it; else nil.
func (s *service) directSpec(u *unit, env []string) *svexec.Spec {
	run := filepath.Join(u.dir, "run")
	if s.cfg.svc == nil || !isShared(run, "run") {
		return nil
	}
	// Never os.ReadFile: a FIFO there would block the whole scanner.
	text, err := safefile.ReadFile(run, safefile.ConfigLimit)
	if err != nil {
		return nil
	}
	words, ok := parseRunScript(string(text))
	if !ok {
		return nil
	}
	root, ok := s.sc.ownExec(words)
	if !ok || root != layout.RootOf(filepath.Dir(s.dir)) {
		return nil
	}
	spec, err := svexec.BuildSpec(s.cfg.svc, env)
	if err != nil || !spec.Direct(s.sc.umask) {
		return nil
	}
	return spec
}

// ownExec reads the words a shared run script execs: this program's
// sv-exec (installed beside it, or this program as `supervision exec`),
// `run`, and an optional `--root DIR`. It returns the root.
func (sc *Scanner) ownExec(words []string) (string, bool) {
	if len(words) == 0 || sc.self == "" {
		return "", false
	}
	// sv-exec beside this program, or the multi-call binary: this one,
	// or the one installed beside the lean sv-scan.
	dir := filepath.Dir(sc.self)
	if words[0] != filepath.Join(dir, "sv-exec") && !sameFile(words[0], sc.self) && words[0] != filepath.Join(dir, "supervision") {
		return "", false
	}
	rest := words[1:]
	if filepath.Base(words[0]) != "sv-exec" { // supervision exec run
		if len(rest) == 0 || rest[0] != "exec" {
			return "", false
		}
		rest = rest[1:]
	}
	switch {
	case len(rest) == 1 && rest[0] == "run":
		return "", true
	case len(rest) == 3 && rest[0] == "run" && rest[1] == "--root" && rest[2] != "":
		return rest[2], true
	}
	return "", false
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// parseRunScript reads a run script that does nothing but exec one
// command: "#!/bin/sh", comments and blank lines, and one line
// "exec WORD...", its words quoted as sv-gen quotes them (options.Quote),
// which sh reads without expanding anything. It returns the words after
// exec; a script that does anything else is not ok.
func parseRunScript(text string) ([]string, bool) {
	lines := strings.Split(text, "\n")
	if lines[0] != "#!/bin/sh" {
		return nil, false
	}
	var words []string
	for _, line := range lines[1:] {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if words != nil {
			return nil, false // a second command
		}
		w, ok := options.SplitQuoted(line)
		if !ok || len(w) < 2 || w[0] != "exec" {
			return nil, false
		}
		words = w[1:]
	}
	return words, words != nil
}
