package options

import (
	"syscall"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"0": 0, "5": 5 * time.Second, "0.5": 500 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "1m30s": 90 * time.Second, "2h": 2 * time.Hour,
	}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-1", "-5s", "1e300", "NaN", "Inf", "5 s"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestParseSignal(t *testing.T) {
	good := map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "term": syscall.SIGTERM,
		"15": syscall.SIGTERM, "HUP": syscall.SIGHUP, "usr1": syscall.SIGUSR1, "KILL": syscall.SIGKILL,
	}
	for in, want := range good {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "FOO", "SIG", "0", "65", "-1", "TERM "} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) accepted", in)
		}
	}
	if SignalName(syscall.SIGTERM) != "TERM" || SignalName(syscall.SIGUSR2) != "USR2" {
		t.Errorf("SignalName: %s %s", SignalName(syscall.SIGTERM), SignalName(syscall.SIGUSR2))
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "100": 100, "4k": 4096, "4K": 4096, "1M": 1 << 20, "2g": 2 << 30}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "1.5M", "1T", "99999999999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in    string
		bytes bool
		want  Limit
	}{
		{"1024", false, Limit{1024, 1024}},
		{"unlimited", false, Limit{Unlimited, Unlimited}},
		{"1024:4096", false, Limit{1024, 4096}},
		{"1024:infinity", false, Limit{1024, Unlimited}},
		{"1M", true, Limit{1 << 20, 1 << 20}},
	}
	for _, tt := range tests {
		if got, err := ParseLimit(tt.in, tt.bytes); err != nil || got != tt.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "x", "4096:1024", "1M", "1:2:3", "-1"} {
		if _, err := ParseLimit(in, false); err == nil {
			t.Errorf("ParseLimit(%q) accepted", in)
		}
	}
}

func TestParseRestartLimit(t *testing.T) {
	if r, err := ParseRestartLimit("5/60"); err != nil || r != (RestartLimit{5, time.Minute}) {
		t.Errorf("5/60: %v %v", r, err)
	}
	if r, err := ParseRestartLimit("3/1m"); err != nil || r != (RestartLimit{3, time.Minute}) {
		t.Errorf("3/1m: %v %v", r, err)
	}
	if r, err := ParseRestartLimit(""); err != nil || r.Count != 0 {
		t.Errorf("empty: %v %v", r, err)
	}
	for _, in := range []string{"5", "0/60", "x/60", "5/0", "5/", "/60", "5/-1"} {
		if _, err := ParseRestartLimit(in); err == nil {
			t.Errorf("ParseRestartLimit(%q) accepted", in)
		}
	}
}

func TestParseReady(t *testing.T) {
	tests := map[string]Ready{
		"":                      {Kind: ReadyNone},
		"none":                  {Kind: ReadyNone},
		"notify":                {Kind: ReadyNotify},
		"fd:3":                  {Kind: ReadyFD, FD: 3},
		"tcp:127.0.0.1:80":      {Kind: ReadyTCP, Addr: "127.0.0.1:80"},
		"tcp::6379":             {Kind: ReadyTCP, Addr: "127.0.0.1:6379"},
		"tcp:[::1]:5432":        {Kind: ReadyTCP, Addr: "[::1]:5432"},
		"path:/run/x.sock":      {Kind: ReadyPath, Path: "/run/x.sock"},
		"check:pg_isready -q":   {Kind: ReadyCheck, Cmd: []string{"pg_isready", "-q"}},
		"check:sh -c 'exit 0'":  {Kind: ReadyCheck, Cmd: []string{"sh", "-c", "exit 0"}},
		"tcp:localhost:11211":   {Kind: ReadyTCP, Addr: "localhost:11211"},
		"path:/var/run/a b.pid": {Kind: ReadyPath, Path: "/var/run/a b.pid"},
	}
	for in, want := range tests {
		got, err := ParseReady(in)
		if err != nil || got.Kind != want.Kind || got.FD != want.FD || got.Addr != want.Addr || got.Path != want.Path || JoinWords(got.Cmd) != JoinWords(want.Cmd) {
			t.Errorf("ParseReady(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"fd:1", "fd:x", "fd:", "tcp:80", "tcp:h:0", "tcp:h:70000", "path:rel", "check:", "sometimes", "none:x", "notify:1"} {
		if _, err := ParseReady(in); err == nil {
			t.Errorf("ParseReady(%q) accepted", in)
		}
	}
}

func TestDefaultsAreValid(t *testing.T) {
	s := NewSet(map[string]string{"SVC_NAME": "x"})
	for _, k := range Keys {
		if err := k.Kind().check(s.Get(k.Name)); err != nil {
			t.Errorf("default of %s: %v", k.Name, err)
		}
		if k.Doc == "" || k.Group == "" {
			t.Errorf("%s has no doc or group", k.Name)
		}
	}
	if got := s.Get("LOG_DIR"); got != "/var/log/sv/x" {
		t.Errorf("LOG_DIR default = %q", got)
	}
}

// FuzzValueParsers runs every value parser on the same input: none may
// panic, and what ParseReady accepts must read back the same from String.
func FuzzValueParsers(f *testing.F) {
	for _, s := range []string{"5", "500ms", "TERM", "15", "1M", "1024:4096", "unlimited", "5/60", "fd:3", "tcp:[::1]:80", "check:x 'y z'", "path:/a", "022", "shutdown:3", "stop-app"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseDuration(s)
		_, _ = ParseSignal(s)
		_, _ = ParseSize(s)
		_, _ = ParseLimit(s, true)
		_, _ = ParseLimit(s, false)
		_, _ = ParseUmask(s)
		_, _ = ParseRestartLimit(s)
		_, _ = ParseBool(s)
		_, _ = SplitWords(s)
		if o, err := ParseOnFailure(s); err == nil {
			if again, err := ParseOnFailure(o.String()); err != nil || again != o {
				t.Fatalf("ParseOnFailure(%q).String() = %q does not read back: %v", s, o.String(), err)
			}
		}
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("negative duration from %q", s)
		}
		r, err := ParseReady(s)
		if err != nil {
			return
		}
		again, err := ParseReady(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("ParseReady(%q).String() = %q does not read back: %v", s, r.String(), err)
		}
	})
}

func TestParseOnFailure(t *testing.T) {
	for in, want := range map[string]OnFailure{
		"": {Action: FailContinue}, "continue": {Action: FailContinue}, "restart-member": {Action: FailRestartMember},
		"stop-app": {Action: FailStopApp}, "restart-app": {Action: FailRestartApp},
		"shutdown": {Action: FailShutdown}, "shutdown:3": {Action: FailShutdown, Code: 3}, "shutdown:255": {Action: FailShutdown, Code: 255},
	} {
		if got, err := ParseOnFailure(in); err != nil || got != want {
			t.Errorf("ParseOnFailure(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"stop", "restart-app:3", "shutdown:256", "shutdown:-1", "shutdown:x", "Shutdown"} {
		if _, err := ParseOnFailure(bad); err == nil {
			t.Errorf("ParseOnFailure(%q) accepted", bad)
		}
	}
	if (OnFailure{Action: FailShutdown}).Rank() <= (OnFailure{Action: FailStopApp}).Rank() ||
		(OnFailure{Action: FailStopApp}).Rank() <= (OnFailure{Action: FailRestartApp}).Rank() ||
		(OnFailure{Action: FailRestartApp}).Rank() <= (OnFailure{Action: FailRestartMember}).Rank() {
		t.Error("the ranks are not shutdown > stop-app > restart-app > restart-member")
	}
}
