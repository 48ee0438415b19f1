package openrc

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/supervise"
	"github.com/supervision-suite/supervision/internal/svctl"
)

// engineSource is a service's state as the scanner itself holds it
// (supervise.Watch), for backend.Verify: sv-scan judges a start it made
// from its own state, not from state.json read back. The one thing the
// engine does not see is sv-exec's exec of the daemon: sv-exec marks it
// in supervise/ (svdir.ExecFile), and that directory is watched for it.
type engineSource struct {
	w     *supervise.Watch
	svc   svctl.Service
	marks *inotify.Watch // nil: none could be set; a wait then ends at its recheck
}

func newEngineSource(w *supervise.Watch, name, link string) *engineSource {
	s := &engineSource{w: w, svc: svctl.Service{Name: name, Dir: link}}
	if m, err := inotify.New(); err == nil {
		if m.Add(filepath.Join(link, "supervise"), unix.IN_MOVED_TO|unix.IN_CREATE) == nil {
			s.marks = m
		} else {
			m.Close()
		}
	}
	return s
}

func (s *engineSource) close() {
	if s.marks != nil {
		s.marks.Close()
	}
}

// Status is the service's state as the engine last wrote it.
func (s *engineSource) Status() (svctl.Info, error) {
	st, err := s.w.State()
	if err != nil {
		return svctl.Info{Name: s.svc.Name, Dir: s.svc.Dir}, fmt.Errorf("%s: %w", s.svc.Dir, svctl.ErrNoStatus)
	}
	return svctl.FromState(s.svc, st), nil
}

// Wait calls done with each state the engine hands over, and again when
// sv-exec marks its exec, until done says so or fails, or ctx ends.
func (s *engineSource) Wait(ctx context.Context, what string, done func(svctl.Info) (bool, error)) (svctl.Info, error) {
	for {
		info, err := s.Status()
		if err == nil {
			if ok, err := done(info); ok || err != nil {
				return info, err
			}
		}
		if err := s.next(ctx); err != nil {
			return info, fmt.Errorf("%s: not %s: %w", s.svc.Name, what, err)
		}
	}
}

// next waits for a new state, an exec mark, or ctx's end.
func (s *engineSource) next(ctx context.Context) error {
	var mark <-chan struct{}
	var recheck <-chan time.Time
	if s.marks != nil {
		mark = s.marks.Wake()
	} else {
		t := time.NewTimer(backend.Recheck)
		defer t.Stop()
		recheck = t.C
	}
	select {
	case <-s.w.C:
	case <-mark:
		s.marks.Next(ctx, 0)
	case <-recheck:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
