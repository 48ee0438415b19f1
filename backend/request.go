package backend

import (
	"context"
	"errors"
	"time"

	"github.com/supervision-suite/supervision/internal/svctl"
)

// A StatusSource is where a watch reads a service's state from. sv-rc
// reads the supervise files (files, the default); sv-scan, judging a start
// it made itself, reads its own state in process (package openrc).
type StatusSource interface {
	// Status is the service's state now.
	Status() (svctl.Info, error)
	// Wait calls done with the state, then with each new one, until
	// done says so or fails, or ctx ends; what names the wait in errors.
	Wait(ctx context.Context, what string, done func(svctl.Info) (bool, error)) (svctl.Info, error)
}

// files reads the state through the service's supervise directory.
type files struct{ svc svctl.Service }

func (f files) Status() (svctl.Info, error) { return svctl.Status(f.svc) }

func (f files) Wait(ctx context.Context, what string, done func(svctl.Info) (bool, error)) (svctl.Info, error) {
	return svctl.WaitFor(ctx, f.svc, what, done)
}

// WatchStarted follows a start that the scanner made on request: its
// start was made at sent, the restart count being restarts, so it is
// watched as Start watches the start it makes itself (up, ready,
// settled), and a failure leaves the service stopped.
func WatchStarted(ctx context.Context, sup Supervisor, svc Service, sent time.Time, restarts int) error {
	return startedWatch(svc, sent, restarts, nil).follow(ctx, sup)
}

// Verify is WatchStarted for the scanner that made the start, reading its
// own state from src: the same checks, but a failure is only reported,
// and leaves the service as it is (the init script then runs sv-rc, which
// stops it and reports this failure: FailStarted).
func Verify(ctx context.Context, svc Service, sent time.Time, restarts int, src StatusSource) error {
	return startedWatch(svc, sent, restarts, src).verify(ctx)
}

// FailStarted ends a start that the scanner made on request and found
// failed (reason; see Verify): the service is stopped, and the failure
// comes with its log's last lines, as one Start sees itself.
func FailStarted(ctx context.Context, sup Supervisor, svc Service, reason string) error {
	w := &watch{svc: svc}
	return w.fail(ctx, sup, errors.New(reason))
}

func startedWatch(svc Service, sent time.Time, restarts int, src StatusSource) *watch {
	return &watch{svc: svc, sent: sent, src: src,
		before: svctl.Info{Name: svc.Name, Dir: svc.link(), Restarts: &restarts}}
}
