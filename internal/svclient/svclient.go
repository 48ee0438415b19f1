// Package svclient is the client of sv-http's API (/v1, docs/API.md):
// what sv-ctl --server does over HTTP that it otherwise does on the scan
// dir itself. It speaks to a unix socket (unix:PATH) or a URL, with a
// token when it is given one. Only sv-http links it (its ctl command):
// net/http stays out of the multi-call binary, which is PID 1.
package svclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// Client talks to one sv-http.
type Client struct {
	base  string // http://HOST:PORT, or http://sv for a unix socket
	token string
	http  *http.Client
}

// New makes a client of server: unix:PATH, or http://HOST:PORT.
func New(server, token string) (*Client, error) {
	c := &Client{token: token, http: &http.Client{}}
	if path, ok := strings.CutPrefix(server, "unix:"); ok {
		c.base = "http://sv"
		c.http.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}
		return c, nil
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %s: want unix:PATH or http://HOST:PORT", server)
	}
	c.base = strings.TrimSuffix(u.String(), "/")
	return c, nil
}

// Error is an answer other than 2xx: the server's JSON error.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// NotFound: the server knows no such service or application.
func NotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %w", c.where(), err)
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &Error{res.StatusCode, fmt.Sprintf("%s: %s (%d)", c.where(), e.Error, res.StatusCode)}
	}
	return res, nil
}

func (c *Client) where() string {
	if c.base == "http://sv" {
		return "sv-http"
	}
	return c.base
}

// Get decodes the JSON answer of GET path into v.
func (c *Client) Get(ctx context.Context, path string, v any) error {
	res, err := c.do(ctx, http.MethodGet, path, nil, "application/json")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}

// GetText copies the answer of GET path to w.
func (c *Client) GetText(ctx context.Context, path string, w io.Writer) error {
	res, err := c.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(w, res.Body)
	return err
}

// Post sends body (JSON) to path and decodes the answer into v (nil:
// none wanted).
func (c *Client) Post(ctx context.Context, path string, body, v any) error {
	if body == nil {
		body = struct{}{}
	}
	res, err := c.do(ctx, http.MethodPost, path, body, "application/json")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if v == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// Stream reads the Server-Sent Events of GET path, calling fn with each
// event's id and data, until ctx ends (nil) or fn fails. A stream that
// breaks is opened again after the last id seen (Last-Event-ID), as a
// browser's EventSource does.
func (c *Client) Stream(ctx context.Context, path string, fn func(id, data string) error) error {
	last := ""
	for {
		err := c.streamOnce(ctx, path, &last, fn)
		if ctx.Err() != nil {
			return nil
		}
		var e *Error
		if errors.As(err, &e) || errors.Is(err, errStop) {
			return err
		}
		if err != nil && last == "" {
			return err // never got going: no server there
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

var errStop = errors.New("stop")

func (c *Client) streamOnce(ctx context.Context, path string, last *string, fn func(id, data string) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if *last != "" {
		req.Header.Set("Last-Event-ID", *last)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", c.where(), err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return &Error{res.StatusCode, fmt.Sprintf("%s: %s (%d)", c.where(), strings.TrimSpace(string(data)), res.StatusCode)}
	}
	return readSSE(res.Body, func(id, data string) error {
		if id != "" {
			*last = id
		}
		return fn(id, data)
	})
}

// readSSE reads a stream of Server-Sent Events (the WHATWG's
// text/event-stream): fields id and data (its lines joined by \n), an
// event ended by an empty line; comments (a line beginning with ':') and
// other fields are skipped. fn is called with each event that has data.
func readSSE(r io.Reader, fn func(id, data string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id string
	var data []string
	for sc.Scan() {
		field, value, _ := strings.Cut(strings.TrimSuffix(sc.Text(), "\r"), ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			if sc.Text() != "" || data == nil {
				continue // a comment, or an event with no data
			}
			if err := fn(id, strings.Join(data, "\n")); err != nil {
				return err
			}
			id, data = "", nil
		case "id":
			id = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}

// Services is GET /v1/services: every service of the scan dir.
func (c *Client) Services(ctx context.Context) ([]svctl.Info, error) {
	var infos []svctl.Info
	return infos, c.Get(ctx, "/v1/services", &infos)
}

// Service is GET /v1/services/NAME.
func (c *Client) Service(ctx context.Context, name string) (svctl.Info, error) {
	var info svctl.Info
	return info, c.Get(ctx, "/v1/services/"+url.PathEscape(name), &info)
}

// action is what POST /v1/services/NAME/ACTION and /v1/apps/NAME/ACTION
// take.
type action struct {
	Signal  string `json:"signal,omitempty"`
	Wait    bool   `json:"wait,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// Act is POST /v1/services/NAME/ACTION: the server sends the service its
// letters (signal, for the action signal), and with wait waits for the
// effect, within timeout.
func (c *Client) Act(ctx context.Context, name, act, signal string, wait bool, timeout string) error {
	return c.Post(ctx, "/v1/services/"+url.PathEscape(name)+"/"+act, action{signal, wait, timeout}, nil)
}

// AppAct is POST /v1/apps/NAME/ACTION (start, stop, restart).
func (c *Client) AppAct(ctx context.Context, name, act string, wait bool, timeout string) error {
	return c.Post(ctx, "/v1/apps/"+url.PathEscape(name)+"/"+act, action{Wait: wait, Timeout: timeout}, nil)
}

// Log writes the last lines of the service's log to w; with follow, then
// each line as it is written, until ctx ends.
func (c *Client) Log(ctx context.Context, name string, lines int, follow bool, w io.Writer) error {
	path := fmt.Sprintf("/v1/services/%s/log?lines=%d", url.PathEscape(name), lines)
	if !follow {
		return c.GetText(ctx, path, w)
	}
	return c.Stream(ctx, path+"&follow=1", func(_, line string) error {
		_, err := fmt.Fprintln(w, line)
		return err
	})
}

// Metrics writes GET /metrics to w.
func (c *Client) Metrics(ctx context.Context, w io.Writer) error {
	return c.GetText(ctx, "/metrics", w)
}

// NotFound: the server knows no such service or application.
func (c *Client) NotFound(err error) bool { return NotFound(err) }

// Apps is GET /v1/apps.
func (c *Client) Apps(ctx context.Context) ([]app.Status, error) {
	var apps []app.Status
	return apps, c.Get(ctx, "/v1/apps", &apps)
}

// Events calls fn with each event after since of the services named
// (none: all), as the server holds them; with follow, then each new one
// as it comes, until ctx ends.
func (c *Client) Events(ctx context.Context, names []string, since uint64, follow bool, fn func(events.Event, []byte) error) error {
	q := url.Values{"since": {strconv.FormatUint(since, 10)}}
	for _, n := range names {
		q.Add("service", n)
	}
	if follow {
		q.Set("follow", "1")
		return c.Stream(ctx, "/v1/events?"+q.Encode(), func(_, data string) error {
			ev, err := events.Decode([]byte(data))
			if err != nil {
				return err
			}
			return fn(ev, []byte(data))
		})
	}
	var b bytes.Buffer
	if err := c.GetText(ctx, "/v1/events?"+q.Encode(), &b); err != nil {
		return err
	}
	for line := range bytes.Lines(b.Bytes()) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		ev, err := events.Decode(line)
		if err != nil {
			return fmt.Errorf("%s: an event: %w", c.where(), err)
		}
		if err := fn(ev, line); err != nil {
			return err
		}
	}
	return nil
}

// Wait waits until cond (svctl.WaitUp, WaitReady, WaitDown) holds of the
// service, woken by its events, within ctx. The events are followed from
// the newest before the state is first read: a change in between is not
// missed.
func (c *Client) Wait(ctx context.Context, name, cond string, before svctl.Info) (svctl.Info, error) {
	since := c.last(ctx)
	check := svctl.After(before, cond)
	errMet := errors.New("met")
	var info svctl.Info
	probe := func() error {
		var err error
		if info, err = c.Service(ctx, name); err != nil {
			return err
		}
		ok, err := check(info)
		if err == nil && ok {
			return errMet
		}
		return err
	}
	err := probe()
	if err == nil {
		path := "/v1/events?follow=1&since=" + strconv.FormatUint(since, 10) + "&service=" + url.QueryEscape(name)
		err = c.Stream(ctx, path, func(string, string) error { return probe() })
	}
	switch {
	case errors.Is(err, errMet):
		return info, nil
	case err != nil:
		return info, err
	}
	return info, fmt.Errorf("%s: not %s after the timeout: %s", name, cond, info.State)
}

// last is the number of the server's newest event.
func (c *Client) last(ctx context.Context) uint64 {
	var idx struct {
		Last uint64 `json:"last_event"`
	}
	c.Get(ctx, "/v1", &idx)
	return idx.Last
}
