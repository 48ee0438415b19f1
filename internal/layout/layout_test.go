package layout

import "testing"

func TestNew(t *testing.T) {
	for _, root := range []string{"", "/"} {
		l, err := New(root)
		if err != nil || l.Root != "" || l.SvDir != "/etc/sv" || l.ScanDir != "/run/sv/service" || l.LogDir != "/var/log/sv" {
			t.Errorf("New(%q) = %+v, %v", root, l, err)
		}
	}
	l, _ := New("/home/u/tree/")
	if l.Root != "/home/u/tree" || l.OptDir != "/home/u/tree/etc/sv/.opt" || l.Supervise("a@b") != "/home/u/tree/run/sv/supervise/a@b" {
		t.Errorf("relocated: %+v", l)
	}
	if got := l.LogSupervise("x"); got != "/home/u/tree/run/sv/log-supervise/x" {
		t.Errorf("LogSupervise = %q", got)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvRoot, "/env/root")
	if l, _ := FromEnv(""); l.Root != "/env/root" {
		t.Errorf("env: %q", l.Root)
	}
	if l, _ := FromEnv("/flag"); l.Root != "/flag" {
		t.Errorf("flag must win: %q", l.Root)
	}
}

func TestRootOf(t *testing.T) {
	for in, want := range map[string]string{"/etc/sv": "", "/home/u/tree/etc/sv": "/home/u/tree", "/home/u/tree/etc/sv/": "/home/u/tree", "/opt/services": ""} {
		if got := RootOf(in); got != want {
			t.Errorf("RootOf(%q) = %q, want %q", in, got, want)
		}
	}
}
