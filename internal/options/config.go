package options

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config is a service's OPTIONS decoded once: every key as the Go value
// its effect needs, and where each was set. Every consumer (sv-exec,
// sv-scan, sv-rc, sv-ctl, sv-gen) takes it rather than reading keys by
// name, so a key is added in one place: its entry in Keys names its
// field here and the kind that decodes it.
type Config struct {
	Description string   // SVC_DESCRIPTION
	Cmd         []string // SVC_CMD: the program and fixed arguments; empty when not set
	Opts        []string // SVC_OPTS
	AltCmd      []string // SVC_ALT_CMD: used when SVC_CMD is not installed
	AltOpts     []string // SVC_ALT_OPTS
	User        string   // SVC_USER, a name or uid; "": the supervisor's user
	Group       string   // SVC_GROUP; "": the user's primary group
	Groups      []string // SVC_GROUPS: beside the user's own
	Dir         string   // SVC_DIR; "": the service directory
	Umask       int      // SVC_UMASK; -1: the supervisor's
	Nice        *int     // SVC_NICE; nil: the supervisor's
	Path        string   // SVC_PATH: where programs are found, and the daemon's PATH
	Env         Env
	Limits      Limits
	Deps        Deps
	Wait        Wait
	PreCmd      []string // PRE_CMD; empty: none

	Ready        Ready         // SVC_READY
	ReadyTimeout time.Duration // SVC_READY_TIMEOUT

	Stop         Stop
	ReloadSignal syscall.Signal // SVC_RELOAD_SIGNAL
	FinCmd       []string       // FIN_CMD; empty: none

	Restart   Restart
	Type      ServiceType // SVC_TYPE
	Enable    bool        // SVC_ENABLE: no leaves it out of the run
	GroupName string      // SVC_GROUP_NAME: the application it belongs to
	Required  bool        // SVC_REQUIRED
	// AppOnFailure: SVC_APP_ON_FAILURE.
	AppOnFailure OnFailure

	Log Log

	// Hooks and Health are allocated only when one of their keys is set:
	// most services have none, and sv-scan keeps every service's Config.
	Hooks  *Hooks
	Health *Health

	Catalog string // SVC_CATALOG
	Profile string // SV_PROFILE as the files set it (Service.Profile is the one applied)

	// set is what was decoded: each setting's text and source are read
	// from it when asked for (sv-gen show, messages), not copied into
	// every service's Config, which sv-scan keeps for each service.
	set *Set
}

// Env is what the daemon's environment is made of, beside the
// supervisor's user and PATH.
type Env struct {
	Vars     []string // SVC_ENV: NAME=VALUE words
	File     EnvFile  // SVC_ENV_FILE
	Keep     []string // SVC_ENV_KEEP: names kept from the supervisor's; "*": all
	Exported []string // NAME=VALUE of every `export`ed name, in assignment order
}

// Limits are the SVC_LIMIT_* keys; nil is the inherited limit.
type Limits struct {
	NoFile, NProc, Core, AS, Data, Stack, MemLock, FSize, CPU *Limit
}

// Deps are the services this one depends on, by name.
type Deps struct {
	Need   []string // SVC_NEED
	Use    []string // SVC_USE
	Want   []string // SVC_WANT
	After  []string // SVC_AFTER
	Before []string // SVC_BEFORE
	// NeedRestart: restart after a needed service restarts
	// (SVC_NEED_RESTART).
	NeedRestart bool
}

// Wait is what must exist before the daemon starts.
type Wait struct {
	Paths   []string      // SVC_WAIT_PATH
	Mounts  []string      // SVC_WAIT_MOUNT
	Timeout time.Duration // SVC_WAIT_TIMEOUT
}

// Any reports whether the start waits for anything at all.
func (w Wait) Any() bool { return len(w.Paths)+len(w.Mounts) > 0 }

// Stop is how the daemon is asked to stop.
type Stop struct {
	Signal  syscall.Signal // SVC_STOP_SIGNAL
	Group   bool           // SVC_STOP_GROUP: to the whole process group
	Timeout time.Duration  // SVC_STOP_TIMEOUT: then KILL
}

// Restart is what happens after the daemon exits.
type Restart struct {
	Mode     RestartMode   // SVC_RESTART
	Delay    time.Duration // SVC_RESTART_DELAY
	MaxDelay time.Duration // SVC_RESTART_MAX_DELAY
	Limit    RestartLimit  // SVC_RESTART_LIMIT; Count 0: never give up
}

// Log is where the daemon's output goes.
type Log struct {
	Kind      LogKind   // LOG
	Dir       string    // LOG_DIR
	Size      int64     // LOG_SIZE: rotate current at this size
	Files     int       // LOG_FILES: rotated files kept
	Timestamp Timestamp // LOG_TIMESTAMP
	User      string    // LOG_USER
	Cmd       []string  // LOG_CMD: the logger of LOG=custom
}

// RestartMode is SVC_RESTART.
type RestartMode string

// The values of SVC_RESTART.
const (
	RestartAlways    RestartMode = "always"
	RestartOnFailure RestartMode = "on-failure"
	RestartNever     RestartMode = "never"
)

// ServiceType is SVC_TYPE.
type ServiceType string

// The values of SVC_TYPE.
const (
	Longrun ServiceType = "longrun"
	Oneshot ServiceType = "oneshot"
)

// LogKind is LOG.
type LogKind string

// The values of LOG.
const (
	LogBuiltin  LogKind = "builtin"
	LogConsole  LogKind = "console"
	LogSvlogd   LogKind = "svlogd"
	LogS6       LogKind = "s6-log"
	LogMultilog LogKind = "multilog"
	LogSyslog   LogKind = "syslog"
	LogNone     LogKind = "none"
	LogCustom   LogKind = "custom"
)

// Timestamp is LOG_TIMESTAMP.
type Timestamp string

// The values of LOG_TIMESTAMP.
const (
	StampNone   Timestamp = "none"
	StampTAI64N Timestamp = "tai64n"
	StampISO    Timestamp = "iso"
)

// Setting is one name's effective text and where it was set.
type Setting struct {
	Key string
	Value
}

// Decode reads every key of s into a Config, with each setting's text and
// source. A value that does not decode is an error at the file and line
// that set it, and its field keeps its zero value; the other keys are
// decoded all the same. Set.Apply checks each value with the parser that
// decodes it, so a Set built by Apply decodes without error: the decoder
// is where values are interpreted, Apply where they are refused first.
func Decode(s *Set) (*Config, error) {
	c := &Config{set: s}
	var errs Errors
	for _, k := range Keys {
		v := c.value(k.Name)
		if k.field.decode == nil {
			continue // TestEveryKeyHasItsField fails for it
		}
		if err := k.field.decode(c, v.Text); err != nil {
			errs = append(errs, decodeError(k.Name, v.Source, err))
		}
	}
	c.Env.Exported = s.Exported()
	if len(errs) > 0 {
		return c, errs
	}
	return c, nil
}

// decodeError is a value that does not decode, at the place that set it.
func decodeError(key string, src Source, err error) *Error {
	path := src.Path
	if path == "" {
		path = src.String() // a default: a bug of the key table
	}
	return &Error{Path: path, Line: src.Line, Msg: fmt.Sprintf("%s: %v", key, err)}
}

// Settings returns every key's setting in documentation order, then each
// other name exported to the daemon's environment: what `sv-gen show`
// prints.
func (c *Config) Settings() []Setting {
	out := make([]Setting, 0, len(Keys)+len(c.Env.Exported))
	for _, k := range Keys {
		out = append(out, Setting{Key: k.Name, Value: c.value(k.Name)})
	}
	for _, kv := range c.Env.Exported {
		if name, _, _ := strings.Cut(kv, "="); !isKey(name) {
			out = append(out, Setting{Key: name, Value: c.value(name)})
		}
	}
	return out
}

// Setting returns the setting of one key or exported name.
func (c *Config) Setting(name string) (Setting, bool) {
	if isKey(name) {
		return Setting{Key: name, Value: c.value(name)}, true
	}
	if c.set != nil {
		if v, ok := c.set.Lookup(name); ok && v.Export {
			return Setting{Key: name, Value: *v}, true
		}
	}
	return Setting{}, false
}

// value is name's value as decoded; a key never set is its default's
// place, with no text.
func (c *Config) value(name string) Value {
	if c.set != nil {
		if v, ok := c.set.Lookup(name); ok {
			return *v
		}
	}
	return Value{Source: Source{Layer: LayerDefault}}
}

// isKey reports whether name is a key of the table (not a builtin name).
func isKey(name string) bool {
	_, ok := keyIndex[name]
	return ok && !isBuiltin(name)
}

// SettingOf returns the setting a field of c was decoded from, given the
// field's address (&c.Stop.Timeout), so that a consumer can say where a
// value came from without naming its key.
func (c *Config) SettingOf(field any) (Setting, bool) {
	if key := c.keyOf(field); key != "" {
		return c.Setting(key)
	}
	return Setting{}, false
}

// keyOf is the key whose value field (an address within c) holds; "" if
// none does.
func (c *Config) keyOf(field any) string {
	for _, k := range Keys {
		if k.field.addr != nil && k.field.addr(c) == field {
			return k.Name
		}
	}
	return ""
}

// at is where a field's value was set, for a message: its file and line,
// or the service's OPTIONS file when a default is at fault.
func (c *Config) at(field any, optionsFile string) (string, int) {
	s, _ := c.SettingOf(field)
	if s.Source.Path == "" {
		return optionsFile, 0
	}
	return s.Source.Path, s.Source.Line
}

// userWritten reports whether a field's value comes from a file the user
// edits (Source.UserWritten).
func (c *Config) userWritten(field any) bool {
	s, _ := c.SettingOf(field)
	return s.Source.UserWritten()
}

// ResourceLimit is one SVC_LIMIT_* to set: its key (for messages), the
// resource setrlimit takes, and the value.
type ResourceLimit struct {
	Key      string
	Resource int
	Value    Limit
}

// ResourceLimits are the limits that are set, in the key table's order.
func (c *Config) ResourceLimits() []ResourceLimit {
	l := &c.Limits
	var out []ResourceLimit
	for _, r := range []struct {
		field    **Limit
		resource int
	}{
		{&l.NoFile, unix.RLIMIT_NOFILE}, {&l.NProc, unix.RLIMIT_NPROC}, {&l.Core, unix.RLIMIT_CORE},
		{&l.AS, unix.RLIMIT_AS}, {&l.Data, unix.RLIMIT_DATA}, {&l.Stack, unix.RLIMIT_STACK},
		{&l.MemLock, unix.RLIMIT_MEMLOCK}, {&l.FSize, unix.RLIMIT_FSIZE}, {&l.CPU, unix.RLIMIT_CPU},
	} {
		if *r.field != nil {
			out = append(out, ResourceLimit{Key: c.keyOf(r.field), Resource: r.resource, Value: **r.field})
		}
	}
	return out
}
