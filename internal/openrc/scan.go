package openrc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/supervise"
	"github.com/supervision-suite/supervision/internal/svdir"
	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// StartRequests is sv-scan's part of OpenRC's fast start (see request.go),
// an addon of the engine: it reads the start requests of a tree's scan
// dir, has the scanner take up and start each service that nothing sv-rc
// would do first could change, answers, and, asked for a verdict, judges
// the start from the scanner's own state of the service.
type StartRequests struct {
	Tree layout.Layout
	// SyncKey is the key of a sync as sv-rc would make it now
	// (gen.Generator.SyncKeyNow): a service synced under another is not
	// started on request. Without it sv-rc checks the key, so no verdicts
	// are given (the init script then always runs sv-rc).
	SyncKey func() string

	fifo     *os.File
	verdicts *verdicts // nil: no verdicts given
}

// Open makes and opens the start request FIFO and the answers' directory,
// and holds the verdict FIFOs an earlier sv-scan left.
func (r *StartRequests) Open(sc *supervise.Scanner) error {
	path := FIFOPath(sc.Dir())
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeNamedPipe == 0 {
		// Not ours (a shell's `1<>` on a missing FIFO creates a file).
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("start requests: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(AnswerPath(sc.Dir(), "x")), 0o755); err != nil {
		return fmt.Errorf("start requests: %w", err)
	}
	// Opened for reading and writing: it never reads EOF, and a request
	// written while the scanner is busy waits in the pipe.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("start requests: %w", err)
	}
	r.fifo = f
	if r.SyncKey != nil {
		if r.verdicts, err = openVerdicts(sc.Dir()); err != nil {
			return err
		}
		r.prepareFirstStarts(sc)
	}
	return nil
}

// prepareFirstStarts readies, at the scanner's start (after a boot, which
// empties /run), what a service's first start on request needs to be
// made and judged by sv-scan alone: the run dir's directories, which its
// sync stamp says exist (a sync makes them), and a verdict FIFO for each
// service with a stamp (kept across boots, in ROOT/var/lib), so that the
// init script waits for the verdict from the first request on.
func (r *StartRequests) prepareFirstStarts(sc *supervise.Scanner) {
	if sc.Dir() != r.Tree.ScanDir {
		return
	}
	for _, d := range []string{r.Tree.SuperviseDir, r.Tree.LogSuperviseDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			sc.Logf("start requests: %v", err)
		}
	}
	ents, err := os.ReadDir(filepath.Dir(gen.SyncStampPath(r.Tree, "x")))
	if err != nil {
		return // no stamps yet
	}
	for _, e := range ents {
		if e.Type().IsRegular() && r.isService(e.Name()) {
			r.verdicts.hold(e.Name())
		}
	}
}

// maxRequest bounds a request line; a longer one is dropped whole.
const maxRequest = 512

// Run answers each well-formed line of the FIFO, in turn, until ctx ends.
func (r *StartRequests) Run(ctx context.Context, sc *supervise.Scanner) {
	go func() { <-ctx.Done(); r.fifo.Close() }() // ends the read
	in := bufio.NewReaderSize(r.fifo, maxRequest)
	for {
		line, err := in.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			sc.Logf("start request longer than %d bytes: dropped", maxRequest)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = in.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return
		}
		req, err := ParseRequest(string(line))
		if err != nil {
			sc.Logf("%v", err)
			continue
		}
		r.answer(ctx, sc, req)
	}
}

// answer acts on one request and writes the answer sv-rc waits for; an
// init script waiting for the verdict gets it once the start is verified
// (or at once, declined).
func (r *StartRequests) answer(ctx context.Context, sc *supervise.Scanner, req Request) {
	a, taken := Answer{Reason: req.Invalid}, (*supervise.Taken)(nil)
	if req.Invalid == "" {
		a, taken = r.start(sc, req.Name)
	}
	a.Token = req.Token
	if !a.Started {
		sc.Vlogf("%s: start request declined: %s", req.Name, a.Reason)
	}
	if err := safefile.Write(AnswerPath(sc.Dir(), req.Name), a.Encode(), 0o644); err != nil {
		sc.Logf("%s: answering a start request: %v", req.Name, err)
	}
	// A verdict FIFO held before this request: its sender may be waiting
	// on it. (One made now is for the service's next start.)
	if r.verdicts == nil || !r.isService(req.Name) || !r.verdicts.hold(req.Name) || !req.Verdict {
		if taken != nil {
			taken.Watch.Close()
		}
		return
	}
	if !a.Started {
		v := Verdict{Token: req.Token, Outcome: "declined", Reason: a.Reason}
		if err := r.verdicts.say(req.Name, v.Encode()); err != nil {
			sc.Logf("%v", err)
		}
		return
	}
	settle := backend.DefaultSettle
	if req.HasSettle {
		settle = req.Settle
	}
	go r.verify(ctx, sc, req, taken, backend.FromOptions(taken.Service, r.Tree.ScanDir, settle))
}

// isService says whether name is a service of the tree: only those get a
// verdict FIFO.
func (r *StartRequests) isService(name string) bool {
	if options.CheckServiceName(name) != nil {
		return false
	}
	_, err := os.Stat(r.Tree.ServiceDir(name))
	return err == nil
}

// start has the scanner take the service up and start it, when nothing
// sv-rc would do first could change the outcome: its dir is as its last
// sync left it, by a sync such as sv-rc would make, it is marked down
// (OpenRC decides when it runs), and its OPTIONS load and pass sv-rc's
// host checks.
func (r *StartRequests) start(sc *supervise.Scanner, name string) (Answer, *supervise.Taken) {
	if err := options.CheckServiceName(name); err != nil {
		return Answer{Reason: err.Error()}, nil
	}
	dir := r.Tree.ServiceDir(name)
	taken, why := sc.TakeUp(name, dir, supervise.Vet{
		Dir: func() string { return r.asSynced(name, dir) },
		Loaded: func(svc *options.Service) string {
			if errs, _ := svc.Check(options.RealHost{}); len(errs) > 0 {
				return errs[0].Error()
			}
			return ""
		},
	})
	if why != "" {
		return Answer{Reason: why}, nil
	}
	return Answer{Started: true, Sent: taken.Sent, Restarts: taken.Restarts}, taken
}

// asSynced says why the service dir may differ from what sv-rc's sync
// would make, or is not left to OpenRC; "" if neither.
func (r *StartRequests) asSynced(name, dir string) string {
	stamp, err := syncstamp.Read(gen.SyncStampPath(r.Tree, name))
	if err != nil {
		return "no sync stamp: " + err.Error()
	}
	if why := stamp.Stale(); why != "" {
		return "not as last synced: " + why
	}
	if r.SyncKey != nil && stamp.Key != r.SyncKey() {
		return "synced by another program or with other settings"
	}
	if _, err := os.Stat(filepath.Join(dir, "down")); err != nil {
		return "not marked down"
	}
	return ""
}

// verify watches a start made on request as sv-rc would, from the
// scanner's own state of the service, and says the verdict. Before "ok"
// the daemon is recorded for OpenRC, as sv-rc does.
func (r *StartRequests) verify(ctx context.Context, sc *supervise.Scanner, req Request, taken *supervise.Taken, svc backend.Service) {
	defer taken.Watch.Close()
	link := filepath.Join(r.Tree.ScanDir, req.Name)
	src := newEngineSource(taken.Watch, req.Name, link)
	defer src.close()
	v := Verdict{Token: req.Token, OK: true}
	if err := backend.Verify(ctx, svc, taken.Sent, taken.Restarts, src); err != nil {
		v = Verdict{Token: req.Token, Outcome: "failed", Reason: err.Error()}
	} else if req.OpenRC != "" {
		pidfile := filepath.Join(link, "supervise", "pid")
		if err := MarkDaemon(req.OpenRC, Prefix+req.Name, pidfile); err != nil {
			v = Verdict{Token: req.Token, Outcome: "failed", Reason: "recording its daemon for OpenRC: " + err.Error()}
		}
	}
	if !v.OK {
		r.failed(sc, req, link, v.Reason)
	}
	if err := r.verdicts.say(req.Name, v.Encode()); err != nil {
		sc.Logf("%v", err)
	}
}

// failed takes a start that failed its verdict down at once, not
// restarting until sv-rc stops it: the init script may never get that far
// (killed), and a failed start leaves the service down. The reason goes
// to the answer for sv-rc, which the init script runs next to stop it and
// say why: what sv-rc would see by then may be a later state (the daemon
// restarted by its own readiness timeout).
func (r *StartRequests) failed(sc *supervise.Scanner, req Request, link, reason string) {
	sc.Vlogf("%s: start on request not verified: %s", req.Name, reason)
	err := svdir.SendControl(link, "d")
	if err != nil && !errors.Is(err, svdir.ErrNotSupervised) { // not supervised: stopped already
		sc.Logf("%s: taking a failed start down: %v", req.Name, err)
	}
	a := Answer{Token: req.Token, Started: true, Failed: true, Reason: reason}
	if err := safefile.Write(AnswerPath(sc.Dir(), req.Name), a.Encode(), 0o644); err != nil {
		sc.Logf("%s: answering a start request: %v", req.Name, err)
	}
}
