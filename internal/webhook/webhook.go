// Package webhook sends the deliveries of a webhook's on-disk queue
// (package hookq): oldest first, one at a time, each a POST of its JSON;
// a delivery is removed once the receiver answered 2xx, and retried with
// backoff while the receiver is down or failing, so that they arrive in
// order when it comes back (monit's event queue). It is the program
// sv-webhook, a binary of its own that sv-scan starts while a queue holds
// deliveries: the HTTP client, and TLS, are in neither sv-scan nor the
// multi-call binary that is PID 1.
package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/hookq"
	"github.com/supervision-suite/supervision/internal/inotify"
)

// The waits between two tries of a delivery that failed: doubled from
// firstRetry up to maxRetry, which bounds how late a receiver that came
// back hears of what it missed.
const (
	firstRetry = 500 * time.Millisecond
	maxRetry   = 15 * time.Second
	// linger is how long the deliverer waits for a new delivery once the
	// queue is empty, before it exits (sv-scan starts it again).
	linger = 10 * time.Second
	// postTimeout bounds a POST, from the connection to the answer's end.
	postTimeout = 10 * time.Second
)

// Deliverer sends one queue.
type Deliverer struct {
	Dir    string
	Log    io.Writer // its messages: sv-scan's log
	Client *http.Client

	url      string
	failures int // tries in a row that failed
}

// Run delivers until the queue stays empty for linger, or ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	url, err := hookq.URL(d.Dir)
	if err != nil {
		return fmt.Errorf("webhook queue %s: %w", d.Dir, err)
	}
	d.url = url
	if d.Client == nil {
		d.Client = &http.Client{Timeout: postTimeout}
	}
	w, err := inotify.New()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.Add(d.Dir, unix.IN_MOVED_TO|unix.IN_CREATE); err != nil {
		return err
	}
	wait := firstRetry
	for ctx.Err() == nil {
		names, err := hookq.List(d.Dir)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			if evs, err := w.Next(ctx, linger); err != nil || len(evs) == 0 {
				return nil
			}
			continue
		}
		if d.send(ctx, names[0]) {
			wait = firstRetry
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetry)
	}
	return nil
}

// send tries one delivery: true when it is done with (delivered, or
// refused for good), false to try it again later.
func (d *Deliverer) send(ctx context.Context, name string) bool {
	body, err := hookq.Read(d.Dir, name)
	if err != nil {
		d.logf("delivery %s cannot be read, dropped: %v", name, err)
		hookq.Done(d.Dir, name)
		return true
	}
	dropped := hookq.Unreported(d.Dir)
	if dropped > 0 {
		body = withDropped(body, dropped)
	}
	status, err := d.post(ctx, body)
	switch {
	case err == nil && status/100 == 2:
		if d.failures > 0 {
			d.logf("delivered again, after %s that failed", tries(d.failures))
		}
		d.failures = 0
		if dropped > 0 {
			hookq.Reported(d.Dir, dropped)
		}
		hookq.Done(d.Dir, name)
		return true
	case err == nil && refused(status):
		d.logf("delivery %s refused for good (%d %s): dropped", name, status, http.StatusText(status))
		hookq.Done(d.Dir, name)
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if d.failures == 0 {
		why := fmt.Sprintf("%d %s", status, http.StatusText(status))
		if err != nil {
			why = err.Error()
		}
		n, _ := hookq.List(d.Dir)
		d.logf("%s: retrying until it answers (%d queued, at most %d)", why, len(n), hookq.Bound)
	}
	d.failures++
	return false
}

// refused: an answer that says the delivery will never be taken (a bad
// request, a wrong URL), as against one worth trying again (a server
// error, too many requests, a timeout).
func refused(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return false
	}
	return status/100 == 4
}

func (d *Deliverer) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "supervision-webhook")
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// withDropped adds to a delivery how many were dropped before it.
func withDropped(body []byte, n uint64) []byte {
	if len(body) < 2 || body[len(body)-1] != '}' {
		return body
	}
	return hookq.Join(body, []byte(`{"dropped_deliveries":`+strconv.FormatUint(n, 10)+`}`))
}

func (d *Deliverer) logf(format string, args ...any) {
	fmt.Fprintf(d.Log, "sv-webhook: %s: "+format+"\n", append([]any{d.url}, args...)...)
}

// Main is sv-webhook QUEUE_DIR: it delivers the queue until it stays
// empty, or SIGTERM or SIGINT. Exit 0, or 111 on a failure (sv-scan
// starts it again), 100 on a usage error.
func Main(args []string, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: sv-webhook QUEUE_DIR (sv-scan runs it to send a webhook's queue: see docs/HOOKS.md)")
		return 100
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := &Deliverer{Dir: args[0], Log: stderr}
	if err := d.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "sv-webhook: %v\n", err)
		return 111
	}
	return 0
}

func tries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return strconv.Itoa(n) + " tries"
}
