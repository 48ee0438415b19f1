package options

import (
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// applied is a set of defaults with text applied as a service's OPTIONS.
func applied(t *testing.T, text string) *Set {
	t.Helper()
	s := NewSet(map[string]string{"SVC_NAME": "web", "SVC_BASE": "web"})
	f, err := Parse("/etc/sv/web/OPTIONS", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(f, LayerService); err != nil {
		t.Fatal(err)
	}
	return s
}

func decoded(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Decode(applied(t, text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDecodeDefaults(t *testing.T) {
	c := decoded(t, "")
	want := Config{
		Umask: 0o22, Path: DefaultPath,
		Env:          Env{Keep: []string{"TZ", "LANG", "LC_ALL"}},
		Wait:         Wait{Timeout: time.Minute},
		Ready:        Ready{Kind: ReadyNone},
		ReadyTimeout: 30 * time.Second,
		Stop:         Stop{Signal: syscall.SIGTERM, Group: true, Timeout: 10 * time.Second},
		ReloadSignal: syscall.SIGHUP,
		Restart:      Restart{Mode: RestartAlways, MaxDelay: time.Minute},
		Type:         Longrun, Enable: true, AppOnFailure: OnFailure{Action: FailContinue},
		Log: Log{Kind: LogBuiltin, Dir: "/var/log/sv/web", Size: 1 << 20, Files: 10, Timestamp: StampISO},
	}
	sameConfig(t, c, &want)
}

// Every kind of value decodes into its Go type.
func TestDecodeEveryKind(t *testing.T) {
	c := decoded(t, `SVC_DESCRIPTION='a web server'
SVC_CMD='/usr/bin/httpd -f' SVC_OPTS="-p 80 'a b'" SVC_ALT_CMD='busybox httpd' SVC_ALT_OPTS=-v
SVC_USER=www-data SVC_GROUP=1000 SVC_GROUPS='adm audio' SVC_DIR=/srv SVC_UMASK=027 SVC_NICE=-5
SVC_PATH=/bin SVC_ENV='A=1 B="two words"' SVC_ENV_FILE=-/etc/default/web SVC_ENV_KEEP='*'
SVC_LIMIT_NOFILE=1024:4096 SVC_LIMIT_NPROC=unlimited SVC_LIMIT_CORE=1M SVC_LIMIT_AS=2G
SVC_LIMIT_DATA=1K SVC_LIMIT_STACK=8M SVC_LIMIT_MEMLOCK=0 SVC_LIMIT_FSIZE=unlimited SVC_LIMIT_CPU=60
SVC_NEED='db cache' SVC_USE=net SVC_WANT=ntpd SVC_AFTER=log SVC_BEFORE='getty@tty1'
SVC_WAIT_PATH='/run/a /run/b' SVC_WAIT_MOUNT=/srv SVC_WAIT_TIMEOUT=1m30s PRE_CMD='mkdir -p /run/web'
SVC_READY=tcp::80 SVC_READY_TIMEOUT=0.5
SVC_STOP_SIGNAL=QUIT SVC_STOP_GROUP=no SVC_STOP_TIMEOUT=20 SVC_RELOAD_SIGNAL=USR1 FIN_CMD='/bin/cleanup x'
SVC_RESTART=on-failure SVC_RESTART_DELAY=2 SVC_RESTART_MAX_DELAY=5m SVC_RESTART_LIMIT=5/60
SVC_TYPE=oneshot SVC_GROUP_NAME=web-app SVC_REQUIRED=yes SVC_ENABLE=no SVC_NEED_RESTART=yes SVC_APP_ON_FAILURE=shutdown:3
LOG=custom LOG_DIR=/var/log/web LOG_SIZE=64k LOG_FILES=3 LOG_TIMESTAMP=tai64n LOG_USER=log LOG_CMD='logger -t web'
SVC_CATALOG=httpd SV_PROFILE=prod
ON_START='logger started' ON_READY=start:db ON_EXIT='exec:echo "$SV_SERVICE" >x' ON_CRASH=mail:root@example.com
ON_RESTART=restart:cache ON_FATAL=shutdown:4 ON_STOP=webhook:https://h.example/x HOOK_TIMEOUT=5 HOOK_RATE=3/1m HOOK_USER=hooks ON_UNHEALTHY=app-restart
SVC_HEALTH=http://127.0.0.1:8080/ok=204 SVC_HEALTH_INTERVAL=10 SVC_HEALTH_TIMEOUT=2 SVC_HEALTH_RETRIES=5 SVC_HEALTH_RESTART=no SVC_MEMORY_MAX=512M
export TZ=UTC
`)
	nice := -5
	limit := func(soft, hard uint64) *Limit { return &Limit{soft, hard} }
	want := Config{
		Description: "a web server",
		Cmd:         []string{"/usr/bin/httpd", "-f"}, Opts: []string{"-p", "80", "a b"},
		AltCmd: []string{"busybox", "httpd"}, AltOpts: []string{"-v"},
		User: "www-data", Group: "1000", Groups: []string{"adm", "audio"}, Dir: "/srv", Umask: 0o27, Nice: &nice,
		Path: "/bin",
		Env: Env{Vars: []string{"A=1", "B=two words"}, File: EnvFile{Path: "/etc/default/web", Optional: true},
			Keep: []string{"*"}, Exported: []string{"TZ=UTC"}},
		Limits: Limits{NoFile: limit(1024, 4096), NProc: limit(Unlimited, Unlimited), Core: limit(1<<20, 1<<20),
			AS: limit(2<<30, 2<<30), Data: limit(1024, 1024), Stack: limit(8<<20, 8<<20), MemLock: limit(0, 0),
			FSize: limit(Unlimited, Unlimited), CPU: limit(60, 60)},
		Deps: Deps{Need: []string{"db", "cache"}, Use: []string{"net"}, Want: []string{"ntpd"},
			After: []string{"log"}, Before: []string{"getty@tty1"}, NeedRestart: true},
		Wait:         Wait{Paths: []string{"/run/a", "/run/b"}, Mounts: []string{"/srv"}, Timeout: 90 * time.Second},
		PreCmd:       []string{"mkdir", "-p", "/run/web"},
		Ready:        Ready{Kind: ReadyTCP, Addr: "127.0.0.1:80"},
		ReadyTimeout: 500 * time.Millisecond,
		Stop:         Stop{Signal: syscall.SIGQUIT, Group: false, Timeout: 20 * time.Second},
		ReloadSignal: syscall.SIGUSR1,
		FinCmd:       []string{"/bin/cleanup", "x"},
		Restart:      Restart{Mode: RestartOnFailure, Delay: 2 * time.Second, MaxDelay: 5 * time.Minute, Limit: RestartLimit{5, time.Minute}},
		Type:         Oneshot, GroupName: "web-app", Required: true, Enable: false,
		AppOnFailure: OnFailure{Action: FailShutdown, Code: 3},
		Log: Log{Kind: LogCustom, Dir: "/var/log/web", Size: 64 << 10, Files: 3, Timestamp: StampTAI64N,
			User: "log", Cmd: []string{"logger", "-t", "web"}},
		Catalog: "httpd", Profile: "prod",
		Hooks: &Hooks{On: [NumHookEvents]Action{
			HookStart: {Verb: ActExec, Arg: "logger started"}, HookReady: {Verb: ActStart, Arg: "db"},
			HookExit: {Verb: ActExec, Arg: `echo "$SV_SERVICE" >x`}, HookCrash: {Verb: ActMail, Arg: "root@example.com"},
			HookRestart: {Verb: ActRestart, Arg: "cache"}, HookFatal: {Verb: ActShutdown, Code: 4},
			HookStop: {Verb: ActWebhook, Arg: "https://h.example/x"}, HookUnhealthy: {Verb: ActAppRestart},
		}, Timeout: 5 * time.Second, Rate: Rate{3, time.Minute}, User: "hooks"},
		Health: &Health{Check: HealthCheck{Kind: "http", URL: "http://127.0.0.1:8080/ok", Status: 204}, Interval: 10 * time.Second,
			Timeout: 2 * time.Second, Retries: 5, KeepRunning: true, MemoryMax: 512 << 20},
	}
	sameConfig(t, c, &want)
	if got := c.ResourceLimits(); len(got) != 9 || got[0] != (ResourceLimit{"SVC_LIMIT_NOFILE", unix.RLIMIT_NOFILE, Limit{1024, 4096}}) ||
		got[8] != (ResourceLimit{"SVC_LIMIT_CPU", unix.RLIMIT_CPU, Limit{60, 60}}) {
		t.Errorf("ResourceLimits() = %+v", got)
	}
}

// A value that does not decode is an error at the file and line that set
// it (Apply refuses such values first; the decoder does not rely on it),
// and the other keys are decoded all the same.
func TestDecodeErrors(t *testing.T) {
	bad := map[string]string{
		"SVC_CMD": "a;b", "SVC_OPTS": "'open", "SVC_USER": "Root", "SVC_GROUP": "a b", "SVC_GROUPS": "-x",
		"SVC_DIR": "rel", "SVC_UMASK": "999", "SVC_NICE": "20", "SVC_ENV": "NOEQUALS", "SVC_ENV_FILE": "rel",
		"SVC_LIMIT_NOFILE": "lots", "SVC_LIMIT_CORE": "2:1", "SVC_NEED": "a/b", "SVC_WANT": ".x",
		"SVC_WAIT_PATH": "rel", "SVC_WAIT_TIMEOUT": "-1", "SVC_READY": "fd:1", "SVC_READY_TIMEOUT": "soon",
		"SVC_STOP_SIGNAL": "NOPE", "SVC_STOP_GROUP": "maybe", "SVC_RESTART": "sometimes",
		"SVC_RESTART_LIMIT": "5", "SVC_TYPE": "forking", "SVC_REQUIRED": "2", "LOG": "file",
		"LOG_SIZE": "big", "LOG_FILES": "0", "LOG_TIMESTAMP": "unix", "SVC_CATALOG": "a b",
		"ON_EXIT": "stpo:web", "ON_FATAL": "webhook:ftp://x", "ON_CRASH": "mail:a b", "HOOK_RATE": "3", "HOOK_TIMEOUT": "-1",
		"SVC_HEALTH": "udp:1", "SVC_HEALTH_RETRIES": "0", "SVC_MEMORY_MAX": "lots",
	}
	for key, text := range bad {
		s := NewSet(nil)
		s.put(key, &Value{Text: text, Source: Source{Layer: LayerService, Path: "/etc/sv/web/OPTIONS", Line: 7}})
		c, err := Decode(s)
		es, ok := err.(Errors)
		if !ok || len(es) != 1 {
			t.Errorf("%s=%q: %v, want one error", key, text, err)
			continue
		}
		if want := "/etc/sv/web/OPTIONS:7: " + key + ": "; !strings.HasPrefix(es[0].Error(), want) || strings.Contains(es[0].Error(), "\n") {
			t.Errorf("%s=%q: %q, want one line starting %q", key, text, es[0], want)
		}
		if c == nil || c.ReloadSignal != syscall.SIGHUP || c.Log.Files != 10 && key != "LOG_FILES" {
			t.Errorf("%s=%q: the other keys were not decoded", key, text)
		}
	}
}

// Every key of the table decodes into a Config field of its own, and every
// field of Config but the exported names is some key's: a key cannot be
// added without its field, nor a field without its key.
func TestEveryKeyHasItsField(t *testing.T) {
	c := &Config{}
	byAddr := map[any]string{}
	for i := range Keys {
		k := &Keys[i]
		if k.field.decode == nil || k.field.addr == nil {
			t.Errorf("%s has no Config field", k.Name)
			continue
		}
		addr := k.field.addr(c)
		if other, dup := byAddr[addr]; dup {
			t.Errorf("%s and %s decode into the same field", k.Name, other)
		}
		byAddr[addr] = k.Name
		if got := c.keyOf(addr); got != k.Name {
			t.Errorf("the key of %s's field is %q", k.Name, got)
		}
	}
	for _, f := range leafFields(reflect.ValueOf(c).Elem(), "") {
		if _, ok := byAddr[f.addr]; !ok && f.path != "Env.Exported" {
			t.Errorf("Config.%s is no key's field", f.path)
		}
	}
}

// sameConfig compares the decoded fields of got and want, one by one.
func sameConfig(t *testing.T, got, want *Config) {
	t.Helper()
	wants := leafFields(reflect.ValueOf(want).Elem(), "")
	for i, g := range leafFields(reflect.ValueOf(got).Elem(), "") {
		gv, wv := reflect.ValueOf(g.addr).Elem().Interface(), reflect.ValueOf(wants[i].addr).Elem().Interface()
		if !reflect.DeepEqual(gv, wv) && !(isEmptySlice(gv) && isEmptySlice(wv)) {
			t.Errorf("%s = %#v, want %#v", g.path, gv, wv)
		}
	}
}

func isEmptySlice(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Slice && r.Len() == 0
}

type leaf struct {
	path string
	addr any
}

// leafFields lists the exported fields of a struct value, descending into
// the struct fields that group keys (not into values such as Ready).
func leafFields(v reflect.Value, prefix string) []leaf {
	var out []leaf
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		f := v.Field(i)
		switch f.Addr().Interface().(type) {
		case *Env, *Limits, *Deps, *Wait, *Stop, *Restart, *Log:
			out = append(out, leafFields(f, prefix+sf.Name+".")...)
		case **Hooks, **Health: // lazy parts: their fields, made if need be
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			}
			out = append(out, leafFields(f.Elem(), prefix+sf.Name+".")...)
		case *[NumHookEvents]Action:
			for j := range f.Len() {
				out = append(out, leaf{fmt.Sprintf("%s%s[%d]", prefix, sf.Name, j), f.Index(j).Addr().Interface()})
			}
		default:
			out = append(out, leaf{prefix + sf.Name, f.Addr().Interface()})
		}
	}
	return out
}

// The source of every setting is kept: per key and per field, with the
// layer, the file and the line; exported names come after the keys.
func TestSettingsKeepSources(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".opt/SVC_OPTIONS": "SVC_STOP_TIMEOUT=20\n",
		"web/OPTIONS":      "SVC_CATALOG=httpd\n\nSVC_USER=www-data\nexport TZ=UTC\n",
	})
	l := &Loader{SvDir: dir, Catalog: mapCatalog{"httpd": "SVC_CMD=httpd\nSVC_READY=tcp::80\n"}}
	svc, err := l.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	c := svc.Config
	if c == nil || c.User != "www-data" || c.Stop.Timeout != 20*time.Second {
		t.Fatalf("Load did not decode: %+v", c)
	}
	for field, want := range map[any]Source{
		&c.User:         {Layer: LayerService, Path: dir + "/web/OPTIONS", Line: 3},
		&c.Stop.Timeout: {Layer: LayerSite, Path: dir + "/.opt/SVC_OPTIONS", Line: 1},
		&c.Ready:        {Layer: LayerCatalog, Path: "catalog:httpd", Line: 2},
		&c.Umask:        {Layer: LayerDefault},
	} {
		s, ok := c.SettingOf(field)
		if !ok || s.Source != want {
			t.Errorf("%s: source %+v, want %+v", s.Key, s.Source, want)
		}
	}
	if s, ok := c.SettingOf(&c.Ready); !ok || s.Key != "SVC_READY" || s.Text != "tcp::80" {
		t.Errorf("SettingOf(&c.Ready) = %+v, %v", s, ok)
	}
	if _, ok := c.SettingOf(new(int)); ok {
		t.Error("SettingOf found a setting for a field outside the Config")
	}
	if s, ok := c.Setting("SVC_STOP_TIMEOUT"); !ok || s.Text != "20" || s.Source.Line != 1 {
		t.Errorf("Setting(SVC_STOP_TIMEOUT) = %+v, %v", s, ok)
	}
	all := c.Settings()
	if len(all) != len(Keys)+1 || all[0].Key != Keys[0].Name || all[len(all)-1].Key != "TZ" || !all[len(all)-1].Export {
		t.Errorf("Settings(): %d settings, first %q, last %+v", len(all), all[0].Key, all[len(all)-1])
	}
	if s, ok := c.Setting("TZ"); !ok || s.Text != "UTC" || s.Source.Line != 4 {
		t.Errorf("Setting(TZ) = %+v, %v", s, ok)
	}
}
