package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// This file is sv-ctl --server: the same commands, done through sv-http's
// API instead of on the scan dir, with the same output and exit codes.
// The client (internal/svclient) is net/http's, which weighs 5 MB: it is
// linked into sv-http only (its "ctl" command, SetRemote), and the
// multi-call binary, which is also PID 1, execs that to run sv-ctl
// --server.

// Remote is sv-http's API as sv-ctl --server uses it.
type Remote interface {
	Services(ctx context.Context) ([]svctl.Info, error)
	Service(ctx context.Context, name string) (svctl.Info, error)
	// Act is POST /v1/services/NAME/ACTION, AppAct /v1/apps/NAME/ACTION.
	Act(ctx context.Context, name, action, signal string, wait bool, timeout string) error
	AppAct(ctx context.Context, name, action string, wait bool, timeout string) error
	Apps(ctx context.Context) ([]app.Status, error)
	Events(ctx context.Context, names []string, since uint64, follow bool, fn func(events.Event, []byte) error) error
	Wait(ctx context.Context, name, cond string, before svctl.Info) (svctl.Info, error)
	Log(ctx context.Context, name string, lines int, follow bool, w io.Writer) error
	Metrics(ctx context.Context, w io.Writer) error
	// NotFound: the error says the server has no such service or
	// application.
	NotFound(err error) bool
}

// TokenEnv holds sv-ctl --server's token: a secret is not given on a
// command line, which every user may read in /proc.
const TokenEnv = "SV_HTTP_TOKEN"

var newRemote func(server, token string) (Remote, error)

// SetRemote links sv-ctl --server's client in (sv-http does).
func SetRemote(f func(server, token string) (Remote, error)) { newRemote = f }

func (o *ctlOpts) client() (Remote, error) {
	if newRemote == nil {
		return nil, execRemote()
	}
	return newRemote(o.server, os.Getenv(TokenEnv))
}

// execRemote runs this sv-ctl command again as sv-http ctl, which links
// the client: beside this program, or in PATH.
func execRemote() error {
	name, rest := dispatch(filepath.Base(os.Args[0]), os.Args[1:], false)
	if name == "supervision" && len(rest) > 0 && rest[0] == "ctl" {
		rest = rest[1:]
	}
	path := ""
	if self, err := os.Executable(); err == nil {
		if beside := filepath.Join(filepath.Dir(self), "sv-http"); fileExists(beside) {
			path = beside
		}
	}
	if path == "" {
		var err error
		if path, err = exec.LookPath("sv-http"); err != nil {
			return errors.New("--server: sv-http, whose client it takes, is not installed beside sv-ctl nor in PATH")
		}
	}
	return syscall.Exec(path, append([]string{"sv-http", "ctl"}, rest...), os.Environ())
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// remoteErr turns the server's 404 into sv-ctl's exit 4 (unknown).
func remoteErr(cmd *cobra.Command, c Remote, err error) error {
	if err != nil && c.NotFound(err) {
		return &exitError{code: exitUnknown, msg: cmd.CommandPath() + ": " + err.Error()}
	}
	return err
}

func (o *ctlOpts) remoteStatus(cmd *cobra.Command, args []string, asJSON bool) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	all, err := c.Services(cmd.Context())
	if err != nil {
		return err
	}
	code := ExitOK
	var infos []svctl.Info
	if len(args) == 0 {
		args = []string{"all"}
	}
	for _, a := range args {
		picked := pick(all, a)
		if len(picked) == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s: %v on %s\n", cmd.CommandPath(), a, svctl.ErrUnknown, o.server)
			code = worse(code, exitUnknown)
		}
		infos = append(infos, picked...)
	}
	return reportStatus(cmd, infos, code, asJSON)
}

// pick is the services an argument names: all, @APP, or NAME.
func pick(all []svctl.Info, arg string) []svctl.Info {
	var out []svctl.Info
	app, isApp := strings.CutPrefix(arg, "@")
	for _, i := range all {
		if arg == "all" || (isApp && i.App == app) || (!isApp && i.Name == arg) {
			out = append(out, i)
		}
	}
	return out
}

func (o *ctlOpts) remoteAction(cmd *cobra.Command, action string, args []string, sig string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	names := args
	if len(args) == 1 && args[0] == "all" {
		all, err := c.Services(cmd.Context())
		if err != nil {
			return err
		}
		names = nil
		for _, i := range all {
			names = append(names, i.Name)
		}
	}
	timeout := ""
	if o.wait {
		timeout = o.timeout.String()
	}
	for _, n := range names {
		if err := c.Act(cmd.Context(), n, action, sig, o.wait, timeout); err != nil {
			if c.NotFound(err) {
				return remoteErr(cmd, c, err)
			}
			return &exitError{code: exitFailing, msg: cmd.CommandPath() + ": " + err.Error()}
		}
	}
	return nil
}

func (o *ctlOpts) remoteWait(cmd *cobra.Command, cond string, names []string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	for _, n := range names {
		before, err := c.Service(ctx, n)
		if err != nil {
			return remoteErr(cmd, c, err)
		}
		if _, err := c.Wait(ctx, n, cond, before); err != nil {
			return &exitError{code: exitFailing, msg: cmd.CommandPath() + ": " + err.Error()}
		}
	}
	return nil
}

func (o *ctlOpts) remoteLog(cmd *cobra.Command, name string, n int, follow bool) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return remoteErr(cmd, c, c.Log(ctx, name, n, follow, cmd.OutOrStdout()))
}

func (o *ctlOpts) remoteEvents(cmd *cobra.Command, q svctl.EventsQuery) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out := cmd.OutOrStdout()
	return c.Events(ctx, q.Names, q.Since, q.Follow, func(ev events.Event, raw []byte) error {
		if q.JSON {
			_, err := fmt.Fprintf(out, "%s\n", raw)
			return err
		}
		_, err := fmt.Fprintln(out, svctl.FormatEvent(ev))
		return err
	})
}

func (o *ctlOpts) remoteMetrics(cmd *cobra.Command) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	return c.Metrics(cmd.Context(), cmd.OutOrStdout())
}

func (o *ctlOpts) remoteAppStatus(cmd *cobra.Command, names []string, asJSON bool) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	all, err := c.Apps(cmd.Context())
	if err != nil {
		return err
	}
	code := app.ExitOK
	var shown []app.Status
	for _, a := range all {
		if len(names) == 0 || slices.Contains(names, a.Name) {
			shown = append(shown, a)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(shown, func(a app.Status) bool { return a.Name == n }) {
			code = app.Worse(code, app.ExitUnknown)
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s: no service of it on %s\n", cmd.CommandPath(), n, o.server)
		}
	}
	for _, a := range shown {
		code = app.Worse(code, a.Code())
		if !asJSON {
			fmt.Fprintln(cmd.OutOrStdout(), a.Line())
		}
	}
	if asJSON {
		out, _ := json.MarshalIndent(shown, "", "  ")
		fmt.Fprintln(cmd.OutOrStdout(), string(out))
	}
	if code != app.ExitOK {
		return &exitError{code: code}
	}
	return nil
}

func (o *ctlOpts) remoteAppAction(cmd *cobra.Command, action, name string, rolling bool) error {
	if rolling {
		return &usageError{errors.New("--rolling is not done over --server")}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	timeout := ""
	if o.wait || action == "restart" {
		timeout = o.timeout.String()
	}
	if err := c.AppAct(cmd.Context(), name, action, o.wait, timeout); err != nil {
		if c.NotFound(err) {
			return &exitError{code: app.ExitUnknown, msg: cmd.CommandPath() + ": " + err.Error()}
		}
		return &exitError{code: exitFailing, msg: cmd.CommandPath() + ": " + err.Error()}
	}
	return nil
}
