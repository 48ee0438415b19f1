package options

import (
	"sort"
	"syscall"
	"time"
)

// Key describes one OPTIONS key: its type, default, meaning, and the
// Config field it decodes into. The table below is the single source of
// the vocabulary: validation, decoding, `sv-gen show` and
// docs/OPTIONS.md all come from it.
type Key struct {
	Name    string
	Group   string
	Default string
	Doc     string
	field   binding // the kind of its value and where Decode puts it
}

// Kind is the type of the key's value.
func (k *Key) Kind() Kind {
	if k.field.decode == nil { // a builtin: set by the suite, never decoded
		return kindText.Kind
	}
	return k.field.kind
}

// Builtin variables are set by the suite for every service and may be used
// in values ($SVC_NAME) but never assigned.
var Builtins = []Key{
	{Name: "SVC_NAME", Doc: "The service's full name, for example `getty@tty2`."},
	{Name: "SVC_BASE", Doc: "The name without the instance, for example `getty`."},
	{Name: "SVC_INSTANCE", Doc: "The instance, for example `tty2`; empty for a plain service."},
	{Name: "SV_ROOT", Doc: "The root the tree is relocated to (`--root`, `SV_ROOT`); empty for `/`."},
}

const (
	groupProcess = "Process"
	groupBefore  = "Before start"
	groupReady   = "Readiness"
	groupStop    = "Stop and reload"
	groupRestart = "Restarts"
	groupKind    = "Kind and grouping"
	groupLog     = "Logging"
	groupHooks   = "Hooks"
	groupHealth  = "Health"
	groupMeta    = "Definition"
)

// DefaultPath is the PATH daemons get unless SVC_PATH says otherwise.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Keys is every known key, in documentation order.
var Keys = []Key{
	{Name: "SVC_DESCRIPTION", Group: groupProcess, field: kindText.to(func(c *Config) *string { return &c.Description }),
		Doc: "One line saying what the service is; shown by `sv-gen list`."},
	{Name: "SVC_CMD", Group: groupProcess, field: kindOptCommand.to(func(c *Config) *[]string { return &c.Cmd }),
		Doc: "The program to run in the foreground, optionally with fixed arguments. A bare name is looked up in `SVC_PATH`. Required."},
	{Name: "SVC_OPTS", Group: groupProcess, field: kindWords.to(func(c *Config) *[]string { return &c.Opts }),
		Doc: "Arguments appended to `SVC_CMD`, split like sh words (quotes group words). Extend a lower layer's with `SVC_OPTS=\"$SVC_OPTS -v\"`."},
	{Name: "SVC_ALT_CMD", Group: groupProcess, field: kindOptCommand.to(func(c *Config) *[]string { return &c.AltCmd }),
		Doc: "Used instead of `SVC_CMD` when that is not installed, for example `busybox crond` for `cron`."},
	{Name: "SVC_ALT_OPTS", Group: groupProcess, field: kindWords.to(func(c *Config) *[]string { return &c.AltOpts }),
		Doc: "Arguments for `SVC_ALT_CMD` (`SVC_OPTS` is not used with the alternative)."},
	{Name: "SVC_USER", Group: groupProcess, field: kindUser.to(func(c *Config) *string { return &c.User }),
		Doc: "Run as this user (name or uid). Empty: the supervisor's user. Supplementary groups become the user's own."},
	{Name: "SVC_GROUP", Group: groupProcess, field: kindGroup.to(func(c *Config) *string { return &c.Group }),
		Doc: "Primary group (name or gid). Empty: the user's primary group."},
	{Name: "SVC_GROUPS", Group: groupProcess, field: kindGroups.to(func(c *Config) *[]string { return &c.Groups }),
		Doc: "Extra supplementary groups, beside the user's own."},
	{Name: "SVC_DIR", Group: groupProcess, field: kindPath.to(func(c *Config) *string { return &c.Dir }),
		Doc: "Working directory. Empty: the service directory, as with runit."},
	{Name: "SVC_UMASK", Group: groupProcess, field: kindUmask.to(func(c *Config) *int { return &c.Umask }), Default: "022",
		Doc: "File creation mask, octal."},
	{Name: "SVC_NICE", Group: groupProcess, field: kindNice.to(func(c *Config) **int { return &c.Nice }),
		Doc: "Scheduling priority, from -20 (highest) to 19. Empty: inherited."},
	{Name: "SVC_PATH", Group: groupProcess, field: kindText.to(func(c *Config) *string { return &c.Path }), Default: DefaultPath,
		Doc: "`PATH` used to find the program and given to it."},
	{Name: "SVC_ENV", Group: groupProcess, field: kindEnv.to(func(c *Config) *[]string { return &c.Env.Vars }),
		Doc: "Environment for the daemon, as `NAME=VALUE` words. `export NAME=VALUE` lines do the same."},
	{Name: "SVC_ENV_FILE", Group: groupProcess, field: kindEnvFile.to(func(c *Config) *EnvFile { return &c.Env.File }),
		Doc: "A file of `NAME=VALUE` lines (OPTIONS syntax) added to the environment. `-/path` makes it optional."},
	{Name: "SVC_ENV_KEEP", Group: groupProcess, field: kindWords.to(func(c *Config) *[]string { return &c.Env.Keep }), Default: "TZ LANG LC_ALL",
		Doc: "Names passed through from the supervisor's environment; the rest is not (`*` keeps everything). `NOTIFY_SOCKET` always passes."},
	{Name: "SVC_LIMIT_NOFILE", Group: groupProcess, field: kindLimit.to(func(c *Config) **Limit { return &c.Limits.NoFile }),
		Doc: "Open files (`ulimit -n`): `N`, `unlimited` or `SOFT:HARD`. Empty: inherited. Likewise the other `SVC_LIMIT_*`."},
	{Name: "SVC_LIMIT_NPROC", Group: groupProcess, field: kindLimit.to(func(c *Config) **Limit { return &c.Limits.NProc }), Doc: "Processes of the user (`ulimit -u`)."},
	{Name: "SVC_LIMIT_CORE", Group: groupProcess, field: kindByteLimit.to(func(c *Config) **Limit { return &c.Limits.Core }), Doc: "Core file size in bytes (K, M, G suffixes)."},
	{Name: "SVC_LIMIT_AS", Group: groupProcess, field: kindByteLimit.to(func(c *Config) **Limit { return &c.Limits.AS }), Doc: "Address space in bytes. Set at the execve itself, so it may be far below what sv-exec (a Go program) has mapped."},
	{Name: "SVC_LIMIT_DATA", Group: groupProcess, field: kindByteLimit.to(func(c *Config) **Limit { return &c.Limits.Data }), Doc: "Data segment in bytes."},
	{Name: "SVC_LIMIT_STACK", Group: groupProcess, field: kindByteLimit.to(func(c *Config) **Limit { return &c.Limits.Stack }), Doc: "Stack in bytes."},
	{Name: "SVC_LIMIT_MEMLOCK", Group: groupProcess, field: kindByteLimit.to(func(c *Config) **Limit { return &c.Limits.MemLock }), Doc: "Locked memory in bytes."},
	{Name: "SVC_LIMIT_FSIZE", Group: groupProcess, field: kindByteLimit.to(func(c *Config) **Limit { return &c.Limits.FSize }), Doc: "Largest file written, in bytes."},
	{Name: "SVC_LIMIT_CPU", Group: groupProcess, field: kindLimit.to(func(c *Config) **Limit { return &c.Limits.CPU }), Doc: "CPU time in seconds."},

	{Name: "SVC_NEED", Group: groupBefore, field: kindNames.to(func(c *Config) *[]string { return &c.Deps.Need }),
		Doc: "Services this one needs (OpenRC `need`). sv-scan starts it once each is ready (per its `SVC_READY`; a oneshot once it exited 0); while one is given up, down or missing, this one shows `blocked` with the reason, and starts by itself when the need comes back. Stopping a needed service stops this one first. A supervised service NAME is `sv.NAME` to OpenRC."},
	{Name: "SVC_USE", Group: groupBefore, field: kindNames.to(func(c *Config) *[]string { return &c.Deps.Use }), Doc: "Services started first when they are in the tree (OpenRC `use`): sv-scan waits while their start is under way, and starts this one whatever its outcome."},
	{Name: "SVC_WANT", Group: groupBefore, field: kindNames.to(func(c *Config) *[]string { return &c.Deps.Want }),
		Doc: "Waits for the named services' start to end, then starts whatever its outcome (OpenRC `want`); `sv-ctl up` brings them up too."},
	{Name: "SVC_AFTER", Group: groupBefore, field: kindNames.to(func(c *Config) *[]string { return &c.Deps.After }), Doc: "Order only: start after these when both start, stop before them (OpenRC `after`)."},
	{Name: "SVC_BEFORE", Group: groupBefore, field: kindNames.to(func(c *Config) *[]string { return &c.Deps.Before }), Doc: "Order only: start before these, stop after them (OpenRC `before`)."},
	{Name: "SVC_NEED_RESTART", Group: groupBefore, field: kindBool.to(func(c *Config) *bool { return &c.Deps.NeedRestart }), Default: "no",
		Doc: "When a service this one needs restarts (a crash, a restart asked for), sv-scan stops this one too, and starts it again once that service is ready (OpenRC's users ask for it: openrc#333)."},
	{Name: "SVC_WAIT_PATH", Group: groupBefore, field: kindPaths.to(func(c *Config) *[]string { return &c.Wait.Paths }),
		Doc: "Paths that must exist before the daemon starts (a socket, a device). Watched with inotify."},
	{Name: "SVC_WAIT_MOUNT", Group: groupBefore, field: kindPaths.to(func(c *Config) *[]string { return &c.Wait.Mounts }),
		Doc: "Mount points that must be mounted before the daemon starts, woken by the kernel (`/proc/self/mountinfo`), not by polling. sv-scan holds the start itself, for as long as it takes, and shows the service `waiting: mount PATH` (what needs it waits too); under another supervisor sv-exec waits, up to `SVC_WAIT_TIMEOUT`."},
	{Name: "SVC_WAIT_TIMEOUT", Group: groupBefore, field: kindDuration.to(func(c *Config) *time.Duration { return &c.Wait.Timeout }), Default: "60s",
		Doc: "How long sv-exec waits for `SVC_WAIT_PATH` (and, under a supervisor other than sv-scan, `SVC_WAIT_MOUNT`); then the start fails (and is retried by the supervisor)."},
	{Name: "PRE_CMD", Group: groupBefore, field: kindOptCommand.to(func(c *Config) *[]string { return &c.PreCmd }),
		Doc: "A command run before the daemon, as the supervisor's user (to create a runtime directory, say). It must exit 0."},

	{Name: "SVC_READY", Group: groupReady, field: kindReady.to(func(c *Config) *Ready { return &c.Ready }), Default: "none",
		Doc: "How the daemon says it is ready: `none` (when it runs), `fd:N` (writes a line to fd N, s6's notification-fd), `notify` (sd_notify `READY=1`), `check:CMD` (CMD exits 0), `tcp:HOST:PORT` (accepts a connection), `path:FILE` (FILE exists)."},
	{Name: "SVC_READY_TIMEOUT", Group: groupReady, field: kindDuration.to(func(c *Config) *time.Duration { return &c.ReadyTimeout }), Default: "30s",
		Doc: "How long a start waits for readiness before it counts as failed: sv-scan then stops the daemon and starts it again as after a crash (backoff, `SVC_RESTART_LIMIT`)."},

	{Name: "SVC_STOP_SIGNAL", Group: groupStop, field: kindSignal.to(func(c *Config) *syscall.Signal { return &c.Stop.Signal }), Default: "TERM",
		Doc: "Signal that asks the daemon to stop; sent to its whole process group, followed by CONT."},
	{Name: "SVC_STOP_GROUP", Group: groupStop, field: kindBool.to(func(c *Config) *bool { return &c.Stop.Group }), Default: "yes",
		Doc: "Send `SVC_STOP_SIGNAL` to the daemon's whole process group (`yes`), or to the daemon alone (`no`, for daemons such as PostgreSQL that stop their children themselves). KILL at the timeout always goes to the whole group."},
	{Name: "SVC_STOP_TIMEOUT", Group: groupStop, field: kindDuration.to(func(c *Config) *time.Duration { return &c.Stop.Timeout }), Default: "10s",
		Doc: "How long a stop waits before it sends KILL to what is left."},
	{Name: "SVC_RELOAD_SIGNAL", Group: groupStop, field: kindSignal.to(func(c *Config) *syscall.Signal { return &c.ReloadSignal }), Default: "HUP",
		Doc: "Signal for `reload`."},
	{Name: "FIN_CMD", Group: groupStop, field: kindOptCommand.to(func(c *Config) *[]string { return &c.FinCmd }),
		Doc: "A command run after the daemon exits (the `finish` script), with two arguments: the exit code (-1 if killed by a signal) and the signal number (0 if none)."},

	{Name: "SVC_RESTART", Group: groupRestart, field: kindEnum(RestartAlways, RestartOnFailure, RestartNever).to(func(c *Config) *RestartMode { return &c.Restart.Mode }), Default: "always",
		Doc: "When to restart after the daemon exits: `always`, `on-failure` (not after exit 0), `never`."},
	{Name: "SVC_RESTART_DELAY", Group: groupRestart, field: kindDuration.to(func(c *Config) *time.Duration { return &c.Restart.Delay }), Default: "0",
		Doc: "Delay before the first restart of a crash loop; later restarts back off exponentially."},
	{Name: "SVC_RESTART_MAX_DELAY", Group: groupRestart, field: kindDuration.to(func(c *Config) *time.Duration { return &c.Restart.MaxDelay }), Default: "60s",
		Doc: "The longest delay the backoff reaches."},
	{Name: "SVC_RESTART_LIMIT", Group: groupRestart, field: kindRestartLimit.to(func(c *Config) *RestartLimit { return &c.Restart.Limit }),
		Doc: "`N/SECONDS`: after N restarts within SECONDS the service is `fatal` and stays down until an explicit `up`. Empty: never give up."},

	{Name: "SVC_TYPE", Group: groupKind, field: kindEnum(Longrun, Oneshot).to(func(c *Config) *ServiceType { return &c.Type }), Default: "longrun",
		Doc: "`longrun` runs until stopped; `oneshot` runs once per `up` and succeeds by exiting 0: it is then `done`, which satisfies what needs it; a failure is retried as `SVC_RESTART` and `SVC_RESTART_LIMIT` say."},
	{Name: "SVC_ENABLE", Group: groupKind, field: kindBool.to(func(c *Config) *bool { return &c.Enable }), Default: "yes",
		Doc: "`no` leaves the service out of the tree's run, in a profile's or a host's overlay (`OPTIONS.dev`: the developers' machines have no NFS mount to wait for): sv-scan does not take it up, and what depends on it does not wait for it."},
	{Name: "SVC_APP_ON_FAILURE", Group: groupKind, field: kindOnFailure.to(func(c *Config) *OnFailure { return &c.AppOnFailure }), Default: "continue",
		Doc: "What this member's failure (given up, or ended on a failure with no restart to come) does to its application: `continue`; `restart-member` (it starts afresh); `stop-app`; `restart-app` (every member stops, in reverse dependency order, then starts); `shutdown` or `shutdown:CODE` (sv-scan stops every service and exits with CODE; in a container, sv-init then exits with it). Set it in the site's SVC_OPTIONS or a member's OPTIONS; two failures at once: the stronger action wins (shutdown, stop-app, restart-app, restart-member, continue). A restart is not a loop: a member restarted by `restart-member`, or whose application was restarted by `restart-app`, that fails for good again with no sound run since (one that lasted 10s, or a oneshot's exit 0) is left as it is. A restart under way, and what was restarted, outlive sv-scan's restart (`kill -9` too)."},
	{Name: "SVC_GROUP_NAME", Group: groupKind, field: kindName.to(func(c *Config) *string { return &c.GroupName }),
		Doc: "The application this service belongs to, for listing and acting on several services together."},
	{Name: "SVC_REQUIRED", Group: groupKind, field: kindBool.to(func(c *Config) *bool { return &c.Required }), Default: "no",
		Doc: "A failure of this service is a major failure of its application."},

	{Name: "LOG", Group: groupLog, field: kindEnum(LogBuiltin, LogConsole, LogSvlogd, LogS6, LogMultilog, LogSyslog, LogNone, LogCustom).to(func(c *Config) *LogKind { return &c.Log.Kind }), Default: "builtin",
		Doc: "Where the daemon's output goes: `builtin` (the suite's logger: in sv-scan itself, or `sv-log` as log/run under other supervisors), `console` (each line, after the service's name and `: `, to the supervisor's standard output: PID 1's in a container, where the runtime's log shows it; no timestamps, no files), `svlogd`, `s6-log`, `multilog` (a log/ service running that logger), `syslog` (`logger`), `none` (the supervisor's own output, as it comes), `custom` (`LOG_CMD`). Standard error is joined to standard output unless `none`. With `builtin`, no line is lost when the daemon or the logger restarts, and a full disk never blocks the daemon (see docs/LOGGING.md)."},
	{Name: "LOG_DIR", Group: groupLog, field: kindPath.to(func(c *Config) *string { return &c.Log.Dir }), Default: "${SV_ROOT}/var/log/sv/${SVC_NAME}",
		Doc: "The log directory: `current` and rotated files."},
	{Name: "LOG_SIZE", Group: groupLog, field: kindSize.to(func(c *Config) *int64 { return &c.Log.Size }), Default: "1M",
		Doc: "Rotate `current` when it reaches this size."},
	{Name: "LOG_FILES", Group: groupLog, field: kindCount.to(func(c *Config) *int { return &c.Log.Files }), Default: "10",
		Doc: "How many rotated files to keep."},
	{Name: "LOG_TIMESTAMP", Group: groupLog, field: kindEnum(StampNone, StampTAI64N, StampISO).to(func(c *Config) *Timestamp { return &c.Log.Timestamp }), Default: "iso",
		Doc: "Prefix each line with a timestamp: `tai64n` (for `tai64nlocal`), `iso` (ISO 8601, UTC) or `none`."},
	{Name: "LOG_USER", Group: groupLog, field: kindUser.to(func(c *Config) *string { return &c.Log.User }),
		Doc: "The logger runs as this user, which owns `LOG_DIR`. Empty: the supervisor's user."},
	{Name: "LOG_CMD", Group: groupLog, field: kindOptCommand.to(func(c *Config) *[]string { return &c.Log.Cmd }),
		Doc: "The logger for `LOG=custom`: it reads the daemon's output on standard input."},

	{Name: "ON_START", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookStart] }),
		Doc: "When sv-scan starts the daemon (not a restart: `ON_RESTART`). The value of each `ON_*` key is an action: a command (run directly, or with `sh -c` when it holds anything of the shell's), or one of `exec:COMMAND`, `stop:NAME`, `start:NAME`, `restart:NAME`, `app-stop`, `app-restart`, `shutdown[:CODE]`, `webhook:URL`, `mail:ADDRESS` (see docs/HOOKS.md). A command gets the event in its environment (`SV_SERVICE`, `SV_EVENT`, `SV_EXIT_CODE`, `SV_LOG_TAIL`...). Quote it with single quotes so that `$SV_...` is left for it."},
	{Name: "ON_READY", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookReady] }),
		Doc: "When the daemon becomes ready (`SVC_READY`; at once when it asks none)."},
	{Name: "ON_EXIT", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookExit] }),
		Doc: "When a run ends, however it ended: `SV_EXIT_CODE`, `SV_SIGNAL` and `SV_EXPECTED` say how."},
	{Name: "ON_CRASH", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookCrash] }),
		Doc: "When a run ends by itself on a failure (a non-zero exit, a signal nobody asked for, a start that was not ready in time): supervisord's crashmail."},
	{Name: "ON_RESTART", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookRestart] }),
		Doc: "When sv-scan starts the daemon again after a run ended: a crash (`SV_REASON` says why), or a restart asked for."},
	{Name: "ON_FATAL", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookFatal] }),
		Doc: "When the service is given up (`SVC_RESTART_LIMIT`)."},
	{Name: "ON_STOP", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookStop] }),
		Doc: "When the daemon stopped as asked and stays down (`sv-ctl down`, sv-scan stopping)."},
	{Name: "ON_UNHEALTHY", Group: groupHooks, field: kindAction.toLazy(func(c *Config) *Action { return &hooksOf(c).On[HookUnhealthy] }),
		Doc: "When the health check (`SVC_HEALTH`, `SVC_MEMORY_MAX`) failed `SVC_HEALTH_RETRIES` times in a row: `SV_DETAIL` holds the last check's output."},
	{Name: "HOOK_TIMEOUT", Group: groupHooks, field: kindDuration.toLazy(func(c *Config) *time.Duration { return &hooksOf(c).Timeout }),
		Doc: "How long a hook's command may run (empty: 60s): past it, its process group is killed with KILL, and that is logged and recorded in the events. A hook never delays the service: the next event still runs its hook."},
	{Name: "HOOK_RATE", Group: groupHooks, field: kindRate.toLazy(func(c *Config) *Rate { return &hooksOf(c).Rate }),
		Doc: "`N/SECONDS`: at most N runs of each hook (a command, a webhook, a mail; also the site's hooks.d and rules) within SECONDS. Past it, the events are coalesced: one run, when the window allows it, with the latest event and `SV_COALESCED` saying how many events it stands for. Empty: no limit (a hook falling 100 runs behind is coalesced the same way). Actions on services (`stop:NAME`...) are never coalesced."},
	{Name: "HOOK_USER", Group: groupHooks, field: kindUser.toLazy(func(c *Config) *string { return &hooksOf(c).User }),
		Doc: "Hook commands run as this user. Empty: the supervisor's user (root for the system's sv-scan), which the actions on other services need. `HOOK_USER=$SVC_USER` runs them as the service's."},

	{Name: "SVC_HEALTH", Group: groupHealth, field: kindHealth.toLazy(func(c *Config) *HealthCheck { return &healthOf(c).Check }),
		Doc: "A check of the running daemon, every `SVC_HEALTH_INTERVAL` once it is ready: `tcp:HOST:PORT` (it accepts a connection), `http://HOST[:PORT]/PATH` (a GET answers 2xx or 3xx; `URL=STATUS` for that status; http only: for https, `check:curl -fsS URL`), `check:COMMAND` (it exits 0). After `SVC_HEALTH_RETRIES` failures in a row the service is unhealthy: an event says so with the last check's output, `ON_UNHEALTHY` runs, and it is restarted as after a crash (`SVC_HEALTH_RESTART`). superlance's httpok, built in. A service without a check has no timer."},
	{Name: "SVC_HEALTH_INTERVAL", Group: groupHealth, field: kindDuration.toLazy(func(c *Config) *time.Duration { return &healthOf(c).Interval }),
		Doc: "How often the check runs, counted from the end of the one before. Empty: 30s."},
	{Name: "SVC_HEALTH_TIMEOUT", Group: groupHealth, field: kindDuration.toLazy(func(c *Config) *time.Duration { return &healthOf(c).Timeout }),
		Doc: "How long one check may take: past it, it failed (a check: command is killed). Empty: 5s."},
	{Name: "SVC_HEALTH_RETRIES", Group: groupHealth, field: kindCount.toLazy(func(c *Config) *int { return &healthOf(c).Retries }),
		Doc: "How many checks in a row must fail for the service to be unhealthy. Empty: 3."},
	{Name: "SVC_HEALTH_RESTART", Group: groupHealth, field: kindNoBool.toLazy(func(c *Config) *bool { return &healthOf(c).KeepRunning }),
		Doc: "Empty or `yes`: restart an unhealthy service (as after a crash: the backoff and `SVC_RESTART_LIMIT` count it). `no`: only say it, and run `ON_UNHEALTHY`."},
	{Name: "SVC_MEMORY_MAX", Group: groupHealth, field: kindOptSize.toLazy(func(c *Config) *int64 { return &healthOf(c).MemoryMax }),
		Doc: "The most memory the service may use (K, M, G suffixes). Where its cgroup has the memory controller, it is the kernel's limit (`memory.max`): the kernel kills it past it, and its end says `oom`. Elsewhere sv-scan measures the resident memory of its processes at each `SVC_HEALTH_INTERVAL`, and a measure above it is a failed check (superlance's memmon, built in)."},

	{Name: "SVC_CATALOG", Group: groupMeta, field: kindName.to(func(c *Config) *string { return &c.Catalog }),
		Doc: "The catalog entry this service builds on (written by `sv-gen add`). Its settings come below this file's. Must be a plain word."},
	{Name: "SV_PROFILE", Group: groupMeta, field: kindName.to(func(c *Config) *string { return &c.Profile }),
		Doc: "Selects `OPTIONS.<profile>` files. The environment's `SV_PROFILE` wins over this key."},
}

var keyIndex = func() map[string]*Key {
	m := make(map[string]*Key, len(Keys)+len(Builtins))
	for i := range Keys {
		m[Keys[i].Name] = &Keys[i]
	}
	for i := range Builtins {
		m[Builtins[i].Name] = &Builtins[i]
	}
	return m
}()

// Lookup returns the key called name, if it is known.
func Lookup(name string) (*Key, bool) {
	k, ok := keyIndex[name]
	return k, ok
}

func isBuiltin(name string) bool {
	for _, b := range Builtins {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Suggest returns the known key closest to name, if one is close enough to
// be a likely typo.
func Suggest(name string) string {
	// Allow about one edit per four letters: enough for a typo, not so
	// much that every short name "resembles" some key.
	best, bestDist := "", 1+len(name)/4
	names := make([]string, 0, len(Keys))
	for _, k := range Keys {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	// Ties go to a key that contains the name's letters in order: a
	// dropped letter (SVC_USR for SVC_USER) is the likelier typo.
	bestScore := 2 * bestDist
	for _, n := range names {
		d := editDistance(name, n)
		if d >= bestDist {
			continue
		}
		score := 2 * d
		if isSubsequence(upper(name), n) {
			score--
		}
		if score < bestScore {
			best, bestScore = n, score
		}
	}
	return best
}

func isSubsequence(s, of string) bool {
	i := 0
	for j := 0; i < len(s) && j < len(of); j++ {
		if s[i] == of[j] {
			i++
		}
	}
	return i == len(s)
}

// editDistance is the Levenshtein distance, case-insensitive.
func editDistance(a, b string) int {
	a, b = upper(a), upper(b)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
