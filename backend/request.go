package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/startreq"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// AwaitAnswer waits for the scanner's answer to the start request token
// for name (see internal/startreq), as long as the scanner answers on
// scanDir and at most takeUpWait. The answer is usually there before this
// process has started; what it waits for is a scanner busy with other
// starts.
//
// It goes on past ctx's end: a start interrupted after its request must
// still learn whether the scanner took the service up, or a take-up after
// it gave up would leave the service running.
func AwaitAnswer(ctx context.Context, sup Supervisor, scanDir, name, token string) (startreq.Answer, error) {
	ctx = context.WithoutCancel(ctx)
	path := startreq.AnswerPath(scanDir, name)
	if a, ok := readAnswer(path, token); ok {
		return a, nil
	}
	w, err := inotify.New()
	if err != nil {
		return startreq.Answer{}, err
	}
	defer w.Close()
	// The answer is renamed into place: a watch on its directory sees it.
	if err := w.Add(filepath.Dir(path), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		return startreq.Answer{}, fmt.Errorf("%s: no start answers in %s: %w", name, filepath.Dir(path), err)
	}
	deadline := time.Now().Add(takeUpWait)
	for {
		if a, ok := readAnswer(path, token); ok {
			return a, nil
		}
		if !sup.ScannerReady(scanDir) {
			return startreq.Answer{}, &Failure{Service: name, Reason: fmt.Sprintf("the %s scanner on %s stopped answering before it answered the start request", sup.Name(), scanDir)}
		}
		if time.Now().After(deadline) {
			return startreq.Answer{}, &Failure{Service: name, Reason: fmt.Sprintf("the %s scanner on %s did not answer the start request within %s", sup.Name(), scanDir, takeUpWait)}
		}
		if _, err := w.Next(ctx, recheck); err != nil {
			return startreq.Answer{}, err
		}
	}
}

// readAnswer is the answer in path, if it is the one to token. Anything
// but a small regular file there is no answer.
func readAnswer(path, token string) (startreq.Answer, bool) {
	data, err := safefile.ReadFile(path, safefile.StateLimit)
	if err != nil {
		return startreq.Answer{}, false
	}
	a, err := startreq.ParseAnswer(data)
	return a, err == nil && a.Token == token
}

// WatchStarted follows a start that the scanner made on request: `u` was
// acted on at a.Sent, the restart count being a.Restarts, so it is
// watched as Start watches the start it makes itself (up, ready, settled),
// and a failure leaves the service stopped.
func WatchStarted(ctx context.Context, sup Supervisor, svc Service, a startreq.Answer) error {
	w := startedWatch(svc, a)
	return w.follow(ctx, sup)
}

// Verify is WatchStarted for the scanner that made the start, which says
// the verdict to an init script waiting for it: the same checks, but a
// failure is only reported, and leaves the service as it is (the init
// script then runs sv-rc, which stops it and reports this failure:
// FailStarted).
func Verify(ctx context.Context, svc Service, a startreq.Answer) error {
	return startedWatch(svc, a).verify(ctx)
}

// FailStarted ends a start that the scanner made on request and found
// failed (reason; see Verify): the service is stopped, and the failure
// comes with its log's last lines, as one Start sees itself.
func FailStarted(ctx context.Context, sup Supervisor, svc Service, reason string) error {
	w := &watch{svc: svc}
	return w.fail(ctx, sup, errors.New(reason))
}

func startedWatch(svc Service, a startreq.Answer) *watch {
	restarts := a.Restarts
	return &watch{svc: svc, sent: a.Sent,
		before: svctl.Info{Name: svc.Name, Dir: svc.link(), Restarts: &restarts}}
}
