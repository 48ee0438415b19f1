package supervise

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/startreq"
	"github.com/supervision-suite/supervision/internal/syncstamp"
)

// upNow has newService start the service as soon as it is set up, and
// holds what the answer to a start request says of that start.
type upNow struct {
	sent     time.Time // when `u` was acted on
	restarts int       // the restart count before it
}

// openRequests makes and opens the start request FIFO and the answers'
// directory, for a scan dir that is a tree's (see startreq).
func (s *Scanner) openRequests() error {
	if s.cfg.Tree == nil {
		return nil
	}
	path := startreq.FIFOPath(s.dir)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeNamedPipe == 0 {
		// Not ours (a shell's `1<>` on a missing FIFO creates a file).
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("start requests: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(startreq.AnswerPath(s.dir, "x")), 0o755); err != nil {
		return fmt.Errorf("start requests: %w", err)
	}
	// Opened for reading and writing: it never reads EOF, and a request
	// written while the main loop is busy waits in the pipe.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("start requests: %w", err)
	}
	s.requestFIFO, s.requests = f, make(chan startreq.Request, 16)
	if s.cfg.SyncKey != nil {
		if s.verdicts, err = openVerdicts(s.dir); err != nil {
			return err
		}
	}
	return nil
}

// maxRequest bounds a request line; a longer one is dropped whole.
const maxRequest = 512

// readRequests passes each well-formed line of the FIFO to the main loop.
func (s *Scanner) readRequests(f *os.File) {
	r := bufio.NewReaderSize(f, maxRequest)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.logf("start request longer than %d bytes: dropped", maxRequest)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			return
		}
		req, err := startreq.ParseRequest(string(line))
		if err != nil {
			s.logf("%v", err)
			continue
		}
		s.requests <- req
	}
}

// answer acts on one request and writes the answer sv-rc waits for; an
// init script waiting for the verdict gets it once the start is verified
// (or at once, declined).
func (s *Scanner) answer(ctx context.Context, r startreq.Request) {
	a, svc := startreq.Answer{Reason: r.Invalid}, (*options.Service)(nil)
	if r.Invalid == "" {
		a, svc = s.startOnRequest(r.Name)
	}
	a.Token = r.Token
	if !a.Started {
		s.vlogf("%s: start request declined: %s", r.Name, a.Reason)
	}
	if err := safefile.Write(startreq.AnswerPath(s.dir, r.Name), a.Encode(), 0o644); err != nil {
		s.logf("%s: answering a start request: %v", r.Name, err)
	}
	if s.verdicts == nil || !s.isService(r.Name) {
		return
	}
	// Held before this request: its sender may be waiting on it. (A FIFO
	// made now is for the service's next start.)
	if !s.verdicts.hold(r.Name) || !r.Verdict {
		return
	}
	if !a.Started {
		v := startreq.Verdict{Token: r.Token, Outcome: "declined", Reason: a.Reason}
		if err := s.verdicts.say(r.Name, v.Encode()); err != nil {
			s.logf("%v", err)
		}
		return
	}
	settle := backend.DefaultSettle
	if r.HasSettle {
		settle = r.Settle
	}
	go s.verify(ctx, r, a, backend.FromOptions(svc, s.cfg.Tree.ScanDir, settle))
}

// isService says whether name is a service of the tree: only those get a
// verdict FIFO.
func (s *Scanner) isService(name string) bool {
	if options.CheckServiceName(name) != nil {
		return false
	}
	_, err := os.Stat(s.cfg.Tree.ServiceDir(name))
	return err == nil
}

// startOnRequest takes the service up and starts it, when nothing sv-rc
// would do first could change the outcome (see whyNotOnRequest); started,
// it also gives the service as its OPTIONS say.
func (s *Scanner) startOnRequest(name string) (startreq.Answer, *options.Service) {
	if err := options.CheckServiceName(name); err != nil {
		return startreq.Answer{Reason: err.Error()}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.cfg.Tree.ServiceDir(name)
	link := filepath.Join(s.dir, name)
	resolved, opts, why := s.whyNotOnRequest(name, dir, link)
	if why != "" {
		return startreq.Answer{Reason: why}, nil
	}
	if err := renameio.Symlink(dir, link); err != nil {
		return startreq.Answer{Reason: "link: " + err.Error()}, nil
	}
	up := &upNow{}
	svc, err := newService(s, name, link, resolved, up)
	if err != nil {
		os.Remove(link) // nothing half done: sv-rc starts it, or says why not
		return startreq.Answer{Reason: err.Error()}, nil
	}
	s.register(name, svc)
	return startreq.Answer{Started: true, Sent: up.sent, Restarts: up.restarts}, opts
}

// whyNotOnRequest says why the service may not be started on request, or
// "" (and its resolved dir and OPTIONS) when it is neither supervised nor
// linked yet, its dir is as its last sync left it, by a sync such as sv-rc
// would make, it is marked down (OpenRC decides when it runs), and its
// OPTIONS load and pass sv-rc's host checks. s.mu is held.
func (s *Scanner) whyNotOnRequest(name, dir, link string) (resolved string, svc *options.Service, why string) {
	if _, ok := s.services[name]; ok {
		return "", nil, "supervised already"
	}
	if _, err := os.Lstat(link); err == nil {
		return "", nil, "in the scan dir already"
	}
	stamp, err := syncstamp.Read(s.cfg.Tree.SyncStamp(name))
	if err != nil {
		return "", nil, "no sync stamp: " + err.Error()
	}
	if why := stamp.Stale(); why != "" {
		return "", nil, "not as last synced: " + why
	}
	if s.cfg.SyncKey != nil && stamp.Key != s.cfg.SyncKey() {
		return "", nil, "synced by another program or with other settings"
	}
	if _, err := os.Stat(filepath.Join(dir, "down")); err != nil {
		return "", nil, "not marked down"
	}
	resolved, err = filepath.EvalSymlinks(dir) // as a scan resolves a link
	if err != nil {
		return "", nil, err.Error()
	}
	cfg := s.configs.get(resolved)
	switch {
	case cfg.err != "":
		return "", nil, "OPTIONS: " + cfg.err
	case cfg.svc == nil:
		return "", nil, "no OPTIONS"
	}
	if errs, _ := cfg.svc.Check(options.RealHost{}); len(errs) > 0 {
		return "", nil, errs[0].Error()
	}
	return resolved, cfg.svc, ""
}
