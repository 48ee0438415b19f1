package svexec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/options"
)

// service builds a loaded service from OPTIONS text in a temporary tree.
func service(t *testing.T, text string) *options.Service {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "svc", "supervise"), 0o755)
	os.WriteFile(filepath.Join(dir, "svc", "OPTIONS"), []byte(text), 0o644)
	svc, err := (&options.Loader{SvDir: dir}).Load("svc")
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestLoggerSpec(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"svlogd", "s6-log", "multilog", "logger", "mylogger"} {
		os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755)
	}
	logdir := filepath.Join(t.TempDir(), "log")
	base := "SVC_CMD=/bin/true\nSVC_PATH=" + bin + "\nLOG_DIR=" + logdir + "\nLOG_SIZE=64k\nLOG_FILES=5\n"
	tests := map[string]string{
		"LOG=builtin\n":                       "/usr/bin/sv-log --size 65536 --files 5 --timestamp iso " + logdir,
		"LOG=svlogd\n":                        "svlogd -ttt " + logdir,
		"LOG=svlogd\nLOG_TIMESTAMP=tai64n\n":  "svlogd -t " + logdir,
		"LOG=svlogd\nLOG_TIMESTAMP=none\n":    "svlogd " + logdir,
		"LOG=s6-log\n":                        "s6-log -b n5 s65536 T " + logdir,
		"LOG=multilog\nLOG_TIMESTAMP=none\n":  "multilog s65536 n5 " + logdir,
		"LOG=multilog\n":                      "multilog t s65536 n5 " + logdir,
		"LOG=syslog\n":                        "logger -t svc -p daemon.info",
		"LOG=custom\nLOG_CMD='mylogger -x'\n": "mylogger -x",
	}
	for opts, want := range tests {
		sp, err := LoggerSpec(service(t, base+opts), "/usr/bin/sv-exec")
		if opts == "LOG=builtin\n" && err != nil {
			// sv-log is looked up like any logger; it is not in this PATH.
			if !strings.Contains(err.Error(), "sv-log") {
				t.Errorf("%q: %v", opts, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", opts, err)
			continue
		}
		if got := strings.Join(sp.Argv, " "); got != want {
			t.Errorf("%q: argv %q, want %q", opts, got, want)
		}
	}
	if data, err := os.ReadFile(filepath.Join(logdir, "config")); err != nil || string(data) != "s65536\nn5\n" {
		t.Errorf("svlogd config: %q %v", data, err)
	}
	// LOG=console: sv-log beside sv-exec writes to its stdout, no dir
	os.WriteFile(filepath.Join(bin, "sv-log"), []byte("#!/bin/sh\n"), 0o755)
	os.RemoveAll(logdir)
	sp, err := LoggerSpec(service(t, base+"LOG=console\n"), filepath.Join(bin, "sv-exec"))
	if err != nil || strings.Join(sp.Argv, " ") != filepath.Join(bin, "sv-log")+" --console svc" {
		t.Errorf("LOG=console: %v %v", sp, err)
	}
	if _, err := os.Stat(logdir); err == nil {
		t.Errorf("LOG=console made %s", logdir)
	}
	if _, err := LoggerSpec(service(t, base+"LOG=none\n"), "/usr/bin/sv-exec"); err == nil || ExitCode(err) != 100 {
		t.Errorf("LOG=none: %v", err)
	}
}

func TestParseFinishArgs(t *testing.T) {
	tests := []struct {
		args []string
		want Outcome
	}{
		{nil, Outcome{0, 0}},                // daemontools passes nothing
		{[]string{"3", "0"}, Outcome{3, 0}}, // runit, exited 3
		{[]string{"-1", "15"}, Outcome{-1, 15}},
		{[]string{"-1", "139"}, Outcome{-1, 11}}, // runit: SIGSEGV with the core flag
		{[]string{"256", "9"}, Outcome{-1, 9}},   // s6: killed by KILL
		{[]string{"0", "0"}, Outcome{0, 0}},
	}
	for _, tt := range tests {
		if got := ParseFinishArgs(tt.args); got != tt.want {
			t.Errorf("ParseFinishArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestStayDown(t *testing.T) {
	now := time.Unix(1000000, 0)
	ok, fail := Outcome{Code: 0}, Outcome{Code: 1}
	tests := []struct {
		opts    string
		outcome Outcome
		down    bool
	}{
		{"", fail, false},
		{"", ok, false},
		{"SVC_TYPE=oneshot\n", ok, true},
		{"SVC_TYPE=oneshot\n", fail, false},
		{"SVC_TYPE=oneshot\nSVC_RESTART=never\n", fail, true},
		{"SVC_RESTART=never\n", fail, true},
		{"SVC_RESTART=on-failure\n", ok, true},
		{"SVC_RESTART=on-failure\n", fail, false},
	}
	for _, tt := range tests {
		svc := service(t, "SVC_CMD=/bin/true\n"+tt.opts)
		if got := stayDown(svc, tt.outcome, now) != ""; got != tt.down {
			t.Errorf("%q after %+v: down %v, want %v", tt.opts, tt.outcome, got, tt.down)
		}
	}

	// 2 restarts within 60 s are allowed; the third death gives up, and
	// clears the record so that an explicit up starts afresh.
	svc := service(t, "SVC_CMD=/bin/true\nSVC_RESTART_LIMIT=2/60\n")
	for i, want := range []bool{false, false, true, false} {
		if got := stayDown(svc, fail, now.Add(time.Duration(i)*time.Second)) != ""; got != want {
			t.Errorf("death %d: down %v, want %v", i+1, got, want)
		}
	}
	// Deaths older than the window do not count.
	svc = service(t, "SVC_CMD=/bin/true\nSVC_RESTART_LIMIT=2/60\n")
	for i := 0; i < 10; i++ {
		if stayDown(svc, fail, now.Add(time.Duration(i)*time.Minute)) != "" {
			t.Fatalf("death %d, a minute apart, gave up", i+1)
		}
	}
}

// A NUL byte in what execve takes is a permanent failure (exit 100), not
// the EINVAL of execve that a supervisor retries for ever. OPTIONS cannot
// hold one (the parser and SplitWords refuse it); the spec refuses it
// whatever it came from.
func TestSpecWithNUL(t *testing.T) {
	for what, spec := range map[string]*Spec{
		"an argument": {Path: "/bin/sleep", Argv: []string{"sleep", "100\x00"}},
		"the program": {Path: "/bin/sl\x00eep", Argv: []string{"sleep"}},
		"PRE_CMD":     {Path: "/bin/sleep", PreCmd: []string{"mk\x00dir"}},
		"the env":     {Path: "/bin/sleep", Env: []string{"A=b\x00c"}},
	} {
		err := noNUL(spec)
		if err == nil || ExitCode(err) != 100 || !strings.Contains(err.Error(), "holds a NUL byte") {
			t.Errorf("%s: %v (exit %d), want a permanent NUL error", what, err, ExitCode(err))
		}
	}
	for key, value := range map[string]string{"SVC_OPTS": "100\x00", "SVC_ENV": "A=b\x00c"} {
		svc := service(t, "SVC_CMD=/bin/sleep\n")
		f := &options.File{Path: "injected", Assigns: []options.Assign{{Line: 1, Name: key, HasValue: true, Value: options.Word{{Lit: value}}}}}
		if err := svc.Set.Apply(f, options.LayerService); err == nil || !strings.Contains(err.Error(), "injected:1: "+key+": ") {
			t.Errorf("%s=%q: applied (%v), want it refused at injected:1", key, value, err)
		}
	}
}

// An env file that is a FIFO, a device or too large is refused at once,
// as a permanent failure; one with a NUL in a value too.
func TestEnvFileRefused(t *testing.T) {
	dir := t.TempDir()
	fifo, big, nul := filepath.Join(dir, "fifo"), filepath.Join(dir, "big"), filepath.Join(dir, "nul")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(big, []byte("# "+strings.Repeat("x", 5<<20)+"\n"), 0o644)
	os.WriteFile(nul, []byte("A=b\x00\n"), 0o644)
	for file, want := range map[string]string{
		fifo:        "SVC_ENV_FILE " + fifo + ": not a regular file (a FIFO)",
		"-" + fifo:  "SVC_ENV_FILE " + fifo + ": not a regular file (a FIFO)",
		"/dev/zero": "SVC_ENV_FILE /dev/zero: not a regular file (a character device)",
		big:         "SVC_ENV_FILE " + big + ": larger than 4 MiB",
		nul:         nul + ":1: A: a value cannot hold a NUL byte",
	} {
		svc := service(t, "SVC_CMD=/bin/sleep\nSVC_ENV_FILE="+file+"\n")
		done := make(chan error, 1)
		go func() {
			_, err := BuildSpec(svc, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != want || ExitCode(err) != 100 {
				t.Errorf("SVC_ENV_FILE=%s: %v, want %q (exit 100)", file, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("SVC_ENV_FILE=%s: not refused within 10s", file)
		}
	}
}
