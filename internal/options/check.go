package options

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Host answers the questions whose answer depends on the machine: does a
// user exist, is a program installed. Tests substitute their own.
type Host interface {
	LookupUser(name string) error
	LookupGroup(name string) error
	// Executable says whether path is a program that can run
	// (ErrNotFound when nothing is there).
	Executable(path string) error
	// Where names the host in messages: "on this system".
	Where() string
	// Stat says whether SVC_ENV_FILE is there, and a file sv-exec would
	// read: a *safefile.Refused error when it is not.
	Stat(path string) error
}

// RealHost asks this machine.
type RealHost struct{}

func (RealHost) LookupUser(name string) error {
	if isNumeric(name) {
		return nil
	}
	_, err := user.Lookup(name)
	return err
}

func (RealHost) LookupGroup(name string) error {
	if isNumeric(name) {
		return nil
	}
	_, err := user.LookupGroup(name)
	return err
}

func (RealHost) Stat(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return safefile.Check(path, fi, safefile.EnvLimit)
}

func (RealHost) Executable(path string) error { return executable(path) }

func (RealHost) Where() string { return "on this system" }

func isNumeric(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// ErrNotFound is returned by LookPath when a program is not installed.
var ErrNotFound = errors.New("not found")

// LookPath finds an executable like the shell does, in the given PATH.
// A name with a slash is taken as it is, relative to dir.
func LookPath(file, path, dir string) (string, error) {
	return lookPathOn(RealHost{}, file, path, dir)
}

// lookPathOn is LookPath on host's files.
func lookPathOn(host Host, file, path, dir string) (string, error) {
	if strings.Contains(file, "/") {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		return file, host.Executable(file)
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, file)
		if host.Executable(p) == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ErrNotFound
		}
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// Command is the argv the service runs: SVC_CMD + SVC_OPTS, or the
// alternative when SVC_CMD is not installed. Path is the resolved program.
type Command struct {
	Path string
	Argv []string
	Alt  bool // the SVC_ALT_CMD was chosen
}

// ResolveCommand finds the program to run. The error says which commands
// were tried.
func (svc *Service) ResolveCommand() (Command, error) { return svc.resolveCommandOn(RealHost{}) }

// resolveCommandOn is ResolveCommand among host's programs.
func (svc *Service) resolveCommandOn(host Host) (Command, error) {
	c := svc.Config
	if len(c.Cmd) == 0 {
		return Command{}, fmt.Errorf("SVC_CMD is not set: name the program to run")
	}
	primary := append(append([]string(nil), c.Cmd...), c.Opts...)
	p, err := lookPathOn(host, primary[0], c.Path, svc.Dir)
	if err == nil {
		return Command{Path: p, Argv: primary}, nil
	}
	if len(c.AltCmd) == 0 {
		return Command{}, fmt.Errorf("SVC_CMD %s: %v", primary[0], describeLookErr(err, primary[0], c.Path))
	}
	alt := append(append([]string(nil), c.AltCmd...), c.AltOpts...)
	ap, altErr := lookPathOn(host, alt[0], c.Path, svc.Dir)
	if altErr != nil {
		return Command{}, fmt.Errorf("SVC_CMD %s: %v, and SVC_ALT_CMD %s: %v", primary[0], describeLookErr(err, primary[0], c.Path), alt[0], describeLookErr(altErr, alt[0], c.Path))
	}
	return Command{Path: ap, Argv: alt, Alt: true}, nil
}

func describeLookErr(err error, file, path string) error {
	if errors.Is(err, ErrNotFound) && !strings.Contains(file, "/") {
		return fmt.Errorf("not found in SVC_PATH (%s)", path)
	}
	return err
}

// Check runs the checks that need every layer at once or the host: that
// there is a command, that users and files exist. Problems of the host are
// errors in what the user wrote, and warnings when they come from the
// catalog (the package that brings the daemon brings its user too).
func (svc *Service) Check(host Host) (errs, warns Errors) {
	c := svc.Config
	report := func(field any, userWritten bool, format string, args ...any) {
		path, line := c.at(field, filepath.Join(svc.DefDir, "OPTIONS"))
		e := &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
		if userWritten {
			errs = append(errs, e)
		} else {
			warns = append(warns, e)
		}
	}

	if len(c.Cmd) == 0 {
		report(&c.Cmd, true, "SVC_CMD is not set: name the program to run")
	} else if _, err := svc.resolveCommandOn(host); err != nil {
		report(&c.Cmd, false, "%v (the service will fail to start until it is installed)", err)
	}
	if c.Log.Kind == LogCustom && len(c.Log.Cmd) == 0 {
		report(&c.Log.Kind, true, "LOG=custom needs LOG_CMD, the logger to run")
	}
	for _, u := range []struct {
		key  string
		name *string
	}{{"SVC_USER", &c.User}, {"LOG_USER", &c.Log.User}} {
		if *u.name != "" && host.LookupUser(*u.name) != nil {
			report(u.name, c.userWritten(u.name), "%s: no user %q %s", u.key, *u.name, host.Where())
		}
	}
	if c.Group != "" && host.LookupGroup(c.Group) != nil {
		report(&c.Group, c.userWritten(&c.Group), "SVC_GROUP: no group %q %s", c.Group, host.Where())
	}
	for _, g := range c.Groups {
		if host.LookupGroup(g) != nil {
			report(&c.Groups, c.userWritten(&c.Groups), "SVC_GROUPS: no group %q %s", g, host.Where())
		}
	}
	if f := c.Env.File; f.Path != "" {
		written := c.userWritten(&c.Env.File)
		var refused *safefile.Refused
		switch err := host.Stat(f.Path); {
		case errors.As(err, &refused):
			// There, optional or not, but sv-exec would refuse it.
			report(&c.Env.File, written, "SVC_ENV_FILE: %s: %v", f.Path, refused)
		case err != nil && !f.Optional:
			report(&c.Env.File, written, "SVC_ENV_FILE: %v (write -%s if it is optional)", unwrapPathError(err), f.Path)
		}
	}
	return errs, warns
}
