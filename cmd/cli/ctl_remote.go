package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svclient"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// This file is sv-ctl --server: the same commands, done through sv-http's
// API (package svclient) instead of on the scan dir, with the same output
// and exit codes.

func (o *ctlOpts) client() (*svclient.Client, error) {
	return svclient.New(o.server, os.Getenv(svclient.TokenEnv))
}

// remoteErr turns the server's 404 into sv-ctl's exit 4 (unknown).
func remoteErr(cmd *cobra.Command, err error) error {
	if svclient.NotFound(err) {
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
	for _, i := range infos {
		code = worse(code, statusCode(i))
	}
	if asJSON {
		if err := writeJSON(cmd.OutOrStdout(), infos); err != nil {
			return err
		}
	} else {
		writeStatus(cmd.OutOrStdout(), infos, isTerminal(cmd.OutOrStdout()))
	}
	if code != ExitOK {
		return &exitError{code: code}
	}
	return nil
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
	a := svclient.Action{Signal: sig, Wait: o.wait}
	if o.wait {
		a.Timeout = o.timeout.String()
	}
	for _, n := range names {
		if err := c.Act(cmd.Context(), n, action, a); err != nil {
			if svclient.NotFound(err) {
				return remoteErr(cmd, err)
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
			return remoteErr(cmd, err)
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
	path := fmt.Sprintf("/v1/services/%s/log?lines=%d", name, n)
	if !follow {
		return remoteErr(cmd, c.GetText(cmd.Context(), path, cmd.OutOrStdout()))
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return remoteErr(cmd, c.Stream(ctx, path+"&follow=1", func(_, line string) error {
		_, err := fmt.Fprintln(cmd.OutOrStdout(), line)
		return err
	}))
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
	return c.GetText(cmd.Context(), "/metrics", cmd.OutOrStdout())
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
	a := svclient.Action{Wait: o.wait}
	if o.wait || action == "restart" {
		a.Timeout = o.timeout.String()
	}
	if err := c.AppAct(cmd.Context(), name, action, a); err != nil {
		if svclient.NotFound(err) {
			return &exitError{code: app.ExitUnknown, msg: cmd.CommandPath() + ": " + err.Error()}
		}
		return &exitError{code: exitFailing, msg: cmd.CommandPath() + ": " + err.Error()}
	}
	return nil
}
