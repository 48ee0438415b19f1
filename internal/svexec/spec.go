// Package svexec is sv-exec: what every generated run script execs. It
// reads a service's layered OPTIONS, applies them to its own process
// (session, user, limits, environment, preconditions) and replaces itself
// with the daemon, so no wrapper stays resident.
package svexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// Spec is everything sv-exec will do, resolved before it does any of it,
// so that a permanent problem (a missing user or program) is found before
// anything has been changed.
type Spec struct {
	Name        string
	Path        string // the program
	Argv        []string
	Env         []string
	Dir         string // working directory
	Cred        *Cred  // nil: keep the supervisor's user
	Umask       int    // -1: inherit
	Nice        *int
	Limits      []Limit
	WaitPaths   []string
	WaitMounts  []string
	WaitTimeout time.Duration
	PreCmd      []string
	JoinStderr  bool // stderr goes where stdout goes (the log pipe)
	// Supervise is the supervise directory in which to mark the exec
	// (svdir.ExecFile); "" when run without a supervisor.
	Supervise string
}

// Cred is a user to become.
type Cred struct {
	User   string
	Uid    uint32
	Gid    uint32
	Groups []uint32
	Home   string
	Shell  string
}

// Limit is one rlimit to set, as the OPTIONS decode it.
type Limit = options.ResourceLimit

// permanentError is a problem that retrying will not fix: exit 100.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// BuildSpec resolves a loaded service into a Spec. environ is the
// supervisor's environment, from which SVC_ENV_KEEP picks.
func BuildSpec(svc *options.Service, environ []string) (*Spec, error) {
	c := svc.Config
	spec := &Spec{Name: svc.Name, Dir: svc.Dir, Umask: c.Umask, Nice: c.Nice, JoinStderr: c.Log.Kind != options.LogNone}
	if fi, err := os.Stat(filepath.Join(svc.Dir, "supervise")); err == nil && fi.IsDir() {
		spec.Supervise = filepath.Join(svc.Dir, "supervise")
	}
	cmd, err := svc.ResolveCommand()
	if err != nil {
		return nil, permanent("%v", err)
	}
	spec.Path, spec.Argv = cmd.Path, cmd.Argv
	if c.Dir != "" {
		spec.Dir = c.Dir
	}
	spec.Limits = c.ResourceLimits()
	if spec.Cred, err = resolveCred(c.User, c.Group, c.Groups); err != nil {
		return nil, err
	}
	if err := canBecome(spec.Cred); err != nil {
		return nil, err
	}
	spec.WaitPaths, spec.WaitMounts, spec.WaitTimeout = c.Wait.Paths, c.Wait.Mounts, c.Wait.Timeout
	spec.PreCmd = c.PreCmd
	if spec.Env, err = buildEnv(svc, spec.Cred, environ); err != nil {
		return nil, err
	}
	if err := noNUL(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// noNUL refuses a spec with a NUL byte in a string execve takes: execve
// would fail with EINVAL, a temporary failure (111) to the supervisor,
// retried for ever. The OPTIONS parser refuses such values already; this
// holds whatever the strings came from.
func noNUL(sp *Spec) error {
	has := func(s string) bool { return strings.IndexByte(s, 0) >= 0 }
	if has(sp.Path) {
		return permanent("the program's path holds a NUL byte")
	}
	for i, a := range sp.Argv {
		if has(a) {
			return permanent("argument %d of %s holds a NUL byte", i, sp.Path)
		}
	}
	for _, a := range sp.PreCmd {
		if has(a) {
			return permanent("PRE_CMD holds a NUL byte")
		}
	}
	for _, kv := range sp.Env {
		if has(kv) {
			name, _, _ := strings.Cut(kv, "=")
			return permanent("environment variable %q holds a NUL byte", name)
		}
	}
	return nil
}

// resolveCred looks up the user to run as: its uid, primary group (or
// group), and supplementary groups (the user's own, plus extra ones).
func resolveCred(userName, groupName string, extra []string) (*Cred, error) {
	if userName == "" && groupName == "" && len(extra) == 0 {
		return nil, nil
	}
	c := &Cred{}
	var u *user.User
	var err error
	if userName == "" {
		u, err = user.LookupId(strconv.Itoa(os.Geteuid()))
	} else if isNumeric(userName) {
		u, err = user.LookupId(userName)
		if err != nil { // a uid without a passwd entry is allowed
			u, err = &user.User{Uid: userName, Gid: userName, Username: userName, HomeDir: "/"}, nil
		}
	} else {
		u, err = user.Lookup(userName)
	}
	if err != nil {
		return nil, permanent("SVC_USER %s: no such user", userName)
	}
	c.User, c.Home = u.Username, u.HomeDir
	c.Uid = parseID(u.Uid)
	c.Gid = parseID(u.Gid)
	c.Shell = loginShell(u.Username)
	if groupName != "" {
		if c.Gid, err = lookupGroup(groupName); err != nil {
			return nil, permanent("SVC_GROUP %s: no such group", groupName)
		}
	}
	ids, _ := u.GroupIds() // a uid without a passwd entry has no groups
	seen := map[uint32]bool{}
	add := func(id uint32) {
		if !seen[id] {
			seen[id] = true
			c.Groups = append(c.Groups, id)
		}
	}
	add(c.Gid)
	for _, id := range ids {
		add(parseID(id))
	}
	for _, g := range extra {
		id, err := lookupGroup(g)
		if err != nil {
			return nil, permanent("SVC_GROUPS %s: no such group", g)
		}
		add(id)
	}
	return c, nil
}

// canBecome: only root can switch to another user; anyone may "switch"
// to who they already are.
func canBecome(c *Cred) error {
	if c == nil || os.Geteuid() == 0 {
		return nil
	}
	if uint32(os.Geteuid()) == c.Uid && uint32(os.Getegid()) == c.Gid {
		return nil
	}
	return permanent("SVC_USER %s: cannot become another user without root", c.User)
}

func lookupGroup(name string) (uint32, error) {
	if isNumeric(name) {
		return parseID(name), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return parseID(g.Gid), nil
}

func isNumeric(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

func parseID(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// loginShell reads the user's shell from /etc/passwd (os/user does not
// expose it); /bin/sh when it cannot tell.
func loginShell(name string) string {
	data, err := os.ReadFile("/etc/passwd")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if len(f) == 7 && f[0] == name && f[6] != "" {
				return f[6]
			}
		}
	}
	return "/bin/sh"
}

// buildEnv makes the daemon's environment: what SVC_ENV_KEEP keeps of the
// supervisor's, the user's identity, PATH, then SVC_ENV_FILE, SVC_ENV and
// exported names, later ones winning.
func buildEnv(svc *options.Service, cred *Cred, environ []string) ([]string, error) {
	c := svc.Config
	env := map[string]string{}
	keepAll := len(c.Env.Keep) == 1 && c.Env.Keep[0] == "*"
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if keepAll || k == "NOTIFY_SOCKET" || contains(c.Env.Keep, k) {
			env[k] = v
		}
	}
	if cred != nil {
		env["HOME"], env["USER"], env["LOGNAME"], env["SHELL"] = cred.Home, cred.User, cred.User, cred.Shell
	} else if u, err := user.LookupId(strconv.Itoa(os.Geteuid())); err == nil {
		env["HOME"], env["USER"], env["LOGNAME"] = u.HomeDir, u.Username, u.Username
	}
	env["PATH"] = c.Path
	if c.Env.File.Path != "" {
		if err := readEnvFile(svc, c.Env.File, env); err != nil {
			return nil, err
		}
	}
	for _, vars := range [][]string{c.Env.Vars, c.Env.Exported} {
		for _, kv := range vars {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// readEnvFile reads NAME=VALUE lines in OPTIONS syntax; every name in it
// goes to the environment. An optional file may be missing.
func readEnvFile(svc *options.Service, file options.EnvFile, env map[string]string) error {
	data, err := safefile.ReadFile(file.Path, safefile.EnvLimit)
	if err != nil {
		if file.Optional && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return permanent("SVC_ENV_FILE %s: %v", file.Path, unwrap(err))
	}
	vars, err := svc.EnvFileVars(file.Path, data)
	if err != nil {
		return permanent("%v", err)
	}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// String describes the spec, one setting a line, for --print.
func (sp *Spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "path %s\nargv %s\ndir %s\n", sp.Path, options.JoinWords(sp.Argv), sp.Dir)
	if sp.Cred != nil {
		fmt.Fprintf(&b, "user %s uid %d gid %d groups %v\n", sp.Cred.User, sp.Cred.Uid, sp.Cred.Gid, sp.Cred.Groups)
	}
	if sp.Umask >= 0 {
		fmt.Fprintf(&b, "umask %03o\n", sp.Umask)
	}
	if sp.Nice != nil {
		fmt.Fprintf(&b, "nice %d\n", *sp.Nice)
	}
	for _, l := range sp.Limits {
		fmt.Fprintf(&b, "limit %s %s:%s\n", l.Key, limitText(l.Value.Soft), limitText(l.Value.Hard))
	}
	if len(sp.WaitPaths)+len(sp.WaitMounts) > 0 {
		fmt.Fprintf(&b, "wait paths %v mounts %v timeout %s\n", sp.WaitPaths, sp.WaitMounts, sp.WaitTimeout)
	}
	if len(sp.PreCmd) > 0 {
		fmt.Fprintf(&b, "pre %s\n", options.JoinWords(sp.PreCmd))
	}
	for _, e := range sp.Env {
		fmt.Fprintf(&b, "env %s\n", e)
	}
	return b.String()
}

func limitText(v uint64) string {
	if v == options.Unlimited {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// UserCred is the credential that runs a program as the user name (or
// uid) with its own groups, for what sv-scan starts that is no daemon
// (HOOK_USER): nil when that is this process's user.
func UserCred(name string) (*syscall.Credential, error) {
	c, err := resolveCred(name, "", nil)
	if err != nil {
		return nil, fmt.Errorf("%s: no such user", name)
	}
	if c == nil || int(c.Uid) == os.Geteuid() {
		return nil, nil
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("cannot become %s: not root", name)
	}
	return &syscall.Credential{Uid: c.Uid, Gid: c.Gid, Groups: c.Groups}, nil
}
