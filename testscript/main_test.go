// The shell-level tests: every *.txtar here is a script run by testscript
// with the suite's tools (sv-gen, sv-exec, ...) and test helpers on PATH.
package testscript_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/supervision-suite/supervision/cmd/cli"
	"github.com/supervision-suite/supervision/internal/cgroup"
	"github.com/supervision-suite/supervision/internal/httpcmd"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/svdir"
	"github.com/supervision-suite/supervision/internal/webhook"
)

func TestMain(m *testing.M) {
	cmds := map[string]func(){
		"sv-probe":   probeMain,
		"pidns":      pidnsMain,
		"openrcns":   openrcnsMain,
		"ptyexpect":  ptyexpectMain,
		"svwait":     svwaitMain,
		"waitpaths":  waitpathsMain,
		"agestamp":   agestampMain,
		"bootroot":   bootrootMain,
		"httprecv":   httprecvMain,
		"smtprecv":   smtprecvMain,
		"browser":    browserMain,
		"hreq":       hreqMain,
		"sv-webhook": func() { os.Exit(webhook.Main(os.Args[1:], os.Stderr)) },
		"sv-http":    func() { os.Exit(httpcmd.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	}
	// poweroff, reboot and halt as link names, as they may be installed;
	// init as PID 1's name, or as telinit
	for _, name := range append(cli.ToolNames(), "poweroff", "reboot", "halt", "init") {
		cmds[name] = func() { os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr)) }
	}
	testscript.Main(m, cmds)
}

func TestScripts(t *testing.T) {
	openBinDir(t)
	testscript.Run(t, testscript.Params{
		Dir:                 ".",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("TESTSCRIPT_UPDATE") != "",
		Setup:               setup,
		Condition:           condition,
		Cmds:                scriptCmds,
	})
}

// openBinDir lets other users run the tools: testscript puts them in a
// private temporary directory, and tests run daemons as nobody.
func openBinDir(t *testing.T) {
	probe, err := exec.LookPath("sv-probe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Dir(probe)
	for _, d := range []string{bin, filepath.Dir(bin)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func setup(env *testscript.Env) error {
	// Never touch the machine's /etc/sv: every tree lives in $WORK.
	env.Setenv("SV_ROOT", filepath.Join(env.WorkDir, "root"))
	env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
	probe, _ := exec.LookPath("sv-probe")
	env.Setenv("BIN", filepath.Dir(probe))
	// The OpenRC files of this tree, for the tests that install them.
	repo, _ := filepath.Abs("..")
	env.Setenv("REPO", repo)
	env.Setenv("SV_TEST_REQUIRE_PEERS", os.Getenv("SV_TEST_REQUIRE_PEERS"))
	// What a test keeps for a person to look at (the page's screenshot):
	// $SV_TEST_ARTIFACTS, else testscript/artifacts, outside $WORK.
	artifacts := os.Getenv("SV_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(repo, "testscript", "artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return err
	}
	env.Setenv("ARTIFACTS", artifacts)
	env.Defer(func() { endLeftovers(env.WorkDir) })
	// Daemons run as nobody must be able to reach files under $WORK, and
	// testscript makes $WORK and its parent private.
	for _, d := range []string{env.WorkDir, filepath.Dir(env.WorkDir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// condition adds [root], [pidns], [peer:PROG] and [file:PATH]. With
// SV_TEST_REQUIRE_PEERS=1 (CI), a missing peer or capability fails the
// test instead of skipping it.
func condition(cond string) (bool, error) {
	var ok bool
	var what string
	switch {
	case strings.HasPrefix(cond, "file:"):
		// Not a peer: a device or file some machines lack. Never required.
		_, err := os.Stat(strings.TrimPrefix(cond, "file:"))
		return err == nil, nil
	case cond == "root":
		ok, what = os.Geteuid() == 0, "not running as root"
	case cond == "pidns":
		ok, what = canPIDNamespace(), "cannot create a PID namespace"
	case strings.HasPrefix(cond, "peer:"):
		prog := strings.TrimPrefix(cond, "peer:")
		_, err := exec.LookPath(prog)
		ok, what = err == nil, prog+" is not installed (scripts/test-deps installs it)"
	default:
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if !ok && os.Getenv("SV_TEST_REQUIRE_PEERS") == "1" {
		return false, fmt.Errorf("[%s]: %s, and SV_TEST_REQUIRE_PEERS=1", cond, what)
	}
	return ok, nil
}

func canPIDNamespace() bool {
	return exec.Command("pidns", "true").Run() == nil
}

// endLeftovers is the safety net of every script: whatever a supervisor
// under $WORK recorded as running (state.json: the daemon by pid and start
// time, and sv-scan itself) is killed when the script ends, even if it
// failed half-way (after killing an sv-scan, say, leaving its daemons).
func endLeftovers(work string) {
	filepath.WalkDir(work, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != svdir.StateFile {
			return nil
		}
		st, err := svdir.ReadState(filepath.Dir(path))
		if err != nil {
			return nil
		}
		if st.Pid > 1 && st.PidStart != 0 && proc.StartTime(st.Pid) == st.PidStart {
			syscall.Kill(-st.Pid, syscall.SIGKILL)
			syscall.Kill(st.Pid, syscall.SIGKILL)
		}
		if p := st.SupervisorPid; p > 1 && p != os.Getpid() {
			if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); err == nil && strings.Contains(string(cmd), "sv-scan") {
				if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p)); strings.HasPrefix(cwd, work) {
					syscall.Kill(p, syscall.SIGKILL)
				}
			}
		}
		removeCgroup(st.Cgroup)
		return nil
	})
	// The tree of each scanner that ran here, which one killed leaves
	// (a failed script) even when no service of it kept a cgroup.
	filepath.WalkDir(work, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == ".sv-scan" {
			if tree, err := cgroup.TreePath(filepath.Dir(path)); err == nil {
				(&cgroup.Tree{Path: tree}).Remove()
			}
		}
		return nil
	})
}

// removeCgroup removes a service's cgroup that a killed sv-scan left (it
// keeps them on purpose, for the next sv-scan to find its daemons in), and
// its scanner's tree once that is empty. The processes just killed may
// take a moment to leave it: it is tried again for up to two seconds.
func removeCgroup(path string) {
	if !strings.HasPrefix(path, "/sys/fs/cgroup/") || !strings.HasPrefix(filepath.Base(filepath.Dir(path)), "supervision-") {
		return
	}
	for deadline := time.Now().Add(2 * time.Second); ; {
		err := os.Remove(path)
		if err == nil || errors.Is(err, fs.ErrNotExist) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // no event says a cgroup emptied once it is not ours
	}
	os.Remove(filepath.Dir(path)) // fails while another service's is there
}
