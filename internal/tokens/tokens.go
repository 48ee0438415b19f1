// Package tokens reads the tokens file of sv-http, the HTTP server of a
// scan dir (SVDIR/.opt/http.tokens), and says which role a request's
// credentials carry. A line is NAME ROLE SECRET:
//
//	# NAME     ROLE     SECRET (at least 16 characters)
//	grafana    read     4f9c2d8e6a1b7c3d5e0f
//	ops        control  b7e1c9a4d2f6083e5a7c
//
// ROLE is read (status, events, logs, metrics) or control (read, and up,
// down, restart, signal, the applications' actions). A client gives its
// secret as "Authorization: Bearer SECRET", or with HTTP Basic
// authentication as NAME and SECRET (what supervisorctl's -u and -p and
// a browser's login send).
//
// The file holds secrets: one that users other than its owner may read,
// or owned by another user than root or the server's, is refused whole.
// The server checks a client's secret against them in constant time
// (package httpd).
package tokens

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// Role is what a client may do.
type Role int

const (
	None    Role = iota // nothing: no credentials where they are needed
	Read                // status, events, logs, metrics
	Control             // Read, and acting on services and applications
)

func (r Role) String() string {
	return [...]string{"none", "read", "control"}[r]
}

// roles are the ROLE words of the file.
var roles = map[string]Role{"read": Read, "control": Control}

// Token is one line of the file. sv-http compares secrets in constant
// time; this package, which sv-scan links to check the file at its start,
// carries no cryptography.
type Token struct {
	Name   string
	Role   Role
	Secret string
	Line   int
}

// Set is the tokens of one file.
type Set struct {
	Path   string
	Tokens []Token
}

// File is where the tokens of the service definitions in svDir are.
func File(svDir string) string { return filepath.Join(svDir, ".opt", "http.tokens") }

// MinSecret is the shortest secret taken: one that can be guessed is none.
const MinSecret = 16

// maxFile bounds what is read of a tokens file.
const maxFile = 1 << 20

// Load reads and checks the tokens file at path: its owner and mode
// first, then every line (options.Errors, one line each: path:line: why).
// A file with any error is refused whole: a server started with half its
// tokens would refuse clients for a reason nobody sees.
func Load(path string) (*Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrap(err))
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	data, err := safefile.ReadFile(path, maxFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrap(err))
	}
	return Parse(path, string(data))
}

// checkPrivate refuses a file others may read, or that another user owns.
func checkPrivate(path string, fi fs.FileInfo) error {
	if fi.Mode()&0o077 != 0 {
		return fmt.Errorf("%s: mode %04o lets other users read its secrets (chmod 600 it)", path, fi.Mode().Perm())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != uid {
		return fmt.Errorf("%s: owned by uid %d, neither root nor this server's user (uid %d)", path, st.Uid, uid)
	}
	return nil
}

// Parse reads the text of a tokens file; path names it in errors.
func Parse(path, text string) (*Set, error) {
	set := &Set{Path: path}
	var errs options.Errors
	seen := map[string]int{}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		t, err := parseLine(fields)
		if err == nil && seen[t.Name] > 0 {
			err = fmt.Errorf("%s: named already at line %d", t.Name, seen[t.Name])
		}
		if err != nil {
			errs = append(errs, &options.Error{Path: path, Line: n, Msg: err.Error()})
			continue
		}
		t.Line, seen[t.Name] = n, n
		set.Tokens = append(set.Tokens, t)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

func parseLine(fields []string) (Token, error) {
	if len(fields) != 3 {
		return Token{}, fmt.Errorf("want NAME ROLE SECRET, got %d fields", len(fields))
	}
	name, role, secret := fields[0], fields[1], fields[2]
	if err := checkName(name); err != nil {
		return Token{}, err
	}
	r, ok := roles[role]
	if !ok {
		return Token{}, fmt.Errorf("%s: role %q: want read or control", name, role)
	}
	if len(secret) < MinSecret {
		return Token{}, fmt.Errorf("%s: secret of %d characters: want at least %d", name, len(secret), MinSecret)
	}
	return Token{Name: name, Role: r, Secret: secret}, nil
}

// checkName: a name goes into logs and Basic authentication's user, which
// ends at a colon.
func checkName(name string) error {
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)) {
			return fmt.Errorf("name %q: want letters, digits, '.', '_', '-' or '@'", name)
		}
	}
	return nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckListen refuses to serve beyond this machine without tokens:
// supervisord's web server did, and anyone who reached it ran commands
// (CVE-2017-11610). addr is unix:PATH (its mode is the access control) or
// HOST:PORT.
func CheckListen(addr string, withTokens bool) error {
	if strings.HasPrefix(addr, "unix:") || addr == "unix" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: want unix:PATH or HOST:PORT", addr)
	}
	if withTokens || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("%s: not a loopback address, and no tokens file: anyone who reaches it could control the services (give a tokens file, or listen on 127.0.0.1 or a unix socket)", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
