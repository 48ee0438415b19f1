package supervise

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/policy"
	"github.com/supervision-suite/supervision/internal/svlog"
)

// serviceDir writes the OPTIONS of a service web in a tree of its own,
// with a log/run that is sv-gen's shared log-run.
func serviceDir(t *testing.T, opts string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sv", "web")
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "OPTIONS"), []byte(opts), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../.opt/log-run", filepath.Join(dir, "log", "run")); err != nil {
		t.Fatal(err)
	}
	opt := filepath.Join(filepath.Dir(dir), ".opt")
	if err := os.MkdirAll(opt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opt, "log-run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The supervisor's settings come from the decoded OPTIONS.
func TestLoadConfig(t *testing.T) {
	dir := serviceDir(t, `SVC_CMD=/bin/true SVC_READY=fd:3 SVC_READY_TIMEOUT=2
SVC_STOP_SIGNAL=QUIT SVC_STOP_GROUP=no SVC_STOP_TIMEOUT=3 SVC_RELOAD_SIGNAL=USR1 FIN_CMD=/bin/true
SVC_RESTART=on-failure SVC_RESTART_MAX_DELAY=5 SVC_TYPE=oneshot
LOG=console LOG_DIR=/var/log/web LOG_SIZE=64k LOG_FILES=3 LOG_TIMESTAMP=none
`)
	c := loadConfig(dir)
	if c.err != "" || c.svc == nil || c.svc.Config == nil {
		t.Fatalf("loadConfig: %q", c.err)
	}
	want := config{
		ready:        options.Ready{Kind: options.ReadyFD, FD: 3},
		readyTimeout: 2 * time.Second,
		stopSignal:   syscall.SIGQUIT, stopGroup: false, stopTimeout: 3 * time.Second,
		reloadSignal: syscall.SIGUSR1,
		policy:       policy.Policy{Restart: "on-failure", Oneshot: true, MaxDelay: 5 * time.Second},
		log:          logBuiltin, console: true, finCmd: true,
		logCfg: svlog.Config{Dir: "/var/log/web", Size: 64 << 10, Files: 3, Stamp: "none"},
	}
	c.svc, c.stamp = nil, nil
	if c.ready.String() != want.ready.String() || c.readyTimeout != want.readyTimeout ||
		c.stopSignal != want.stopSignal || c.stopGroup != want.stopGroup || c.stopTimeout != want.stopTimeout ||
		c.reloadSignal != want.reloadSignal || c.policy != want.policy || c.log != want.log ||
		c.console != want.console || c.finCmd != want.finCmd || c.logCfg != want.logCfg {
		t.Errorf("loadConfig:\n got %+v\nwant %+v", c, want)
	}
}

// A service without OPTIONS gets runsv's behaviour; OPTIONS that do not
// load say why, in one line.
func TestLoadConfigWithout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sv", "plain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := loadConfig(dir)
	d := defaultConfig()
	if c.err != "" || c.svc != nil || c.stopSignal != d.stopSignal || c.policy != d.policy || c.log != logNone {
		t.Errorf("no OPTIONS: %+v", c)
	}
	c = loadConfig(serviceDir(t, "SVC_CMD=/bin/true\nSVC_STOP_SIGNAL=NOPE\n"))
	if !strings.Contains(c.err, "OPTIONS:2: SVC_STOP_SIGNAL") || strings.Contains(c.err, "\n") || c.svc != nil {
		t.Errorf("bad OPTIONS: err %q", c.err)
	}
}
