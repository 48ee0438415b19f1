package httpd

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/internal/svctl"
)

// This file is what the server streams: the events as Server-Sent
// Events (resumable: each carries its number as its id, and a client
// that reconnects with Last-Event-ID goes on after it), a service's log
// as it is written, and supervisorctl's tail -f.

// stream is one streaming answer: a slot taken of maxStreams, the
// connection's read deadline lifted (it reads nothing more), and each
// write bounded by writeTimeout, so that a client that stops reading is
// let go.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (s *Server) openStream(w http.ResponseWriter, r *http.Request, contentType string) (*stream, func(), bool) {
	select {
	case s.streams <- struct{}{}:
	default:
		s.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("too many streams open (%d)", maxStreams))
		return nil, nil, false
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not hold it back
	w.WriteHeader(http.StatusOK)
	st := &stream{w: w, rc: rc, timeout: s.limits.write}
	return st, func() { <-s.streams }, true
}

// write sends data at once, within writeTimeout.
func (st *stream) write(data []byte) error {
	st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	if _, err := st.w.Write(data); err != nil {
		return err
	}
	return st.rc.Flush()
}

// wantsStream: follow=true, or an EventSource's Accept.
func wantsStream(r *http.Request) bool {
	f := r.URL.Query().Get("follow")
	return f == "1" || f == "true" || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// eventFilter keeps the events of the services named (NAME, NAME/log,
// @APP); none named keeps all. A dropped record is kept whatever: it may
// hide any.
func eventFilter(r *http.Request) (func(held) bool, error) {
	names := r.URL.Query()["service"]
	for _, n := range names {
		if err := svctl.CheckEventName(n); err != nil {
			return nil, err
		}
	}
	return func(h held) bool {
		if len(names) == 0 || h.ev.Dropped > 0 {
			return true
		}
		name := h.ev.Service
		if h.ev.App != "" {
			name = "@" + h.ev.App
		}
		return slices.Contains(names, name)
	}, nil
}

// events answers GET /v1/events: the events after since (or the
// Last-Event-ID of a client reconnecting), as JSON Lines; or, with
// follow, as Server-Sent Events, then each new one as it comes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	since, err := strconv.ParseUint(cmp.Or(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("since"), "0"), 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "since: want an event's number")
		return
	}
	keep, err := eventFilter(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "service: "+err.Error())
		return
	}
	if !wantsStream(r) {
		evs, _ := s.hub.since(since)
		var b bytes.Buffer
		for _, h := range evs {
			if keep(h) {
				b.Write(h.json)
				b.WriteByte('\n')
			}
		}
		writeBody(w, http.StatusOK, "application/x-ndjson", b.Bytes())
		return
	}
	st, release, ok := s.openStream(w, r, "text/event-stream")
	if !ok {
		return
	}
	defer release()
	s.followEvents(r.Context(), st, since, keep)
}

func (s *Server) followEvents(ctx context.Context, st *stream, since uint64, keep func(held) bool) {
	if st.write([]byte("retry: 1000\n\n")) != nil {
		return
	}
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	var b bytes.Buffer
	for {
		evs, changed := s.hub.since(since)
		b.Reset()
		for _, h := range evs {
			since = h.ev.Seq
			if keep(h) {
				fmt.Fprintf(&b, "id: %d\ndata: %s\n\n", h.ev.Seq, h.json)
			}
		}
		if b.Len() > 0 && st.write(b.Bytes()) != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-beat.C:
			if st.write([]byte(": keep-alive\n\n")) != nil {
				return
			}
		}
	}
}

// maxLines bounds a log tail asked for.
const maxLines = 10000

// serviceLog answers GET /v1/services/NAME/log: its last lines (lines=N,
// default 10) as text; with follow, as Server-Sent Events, one line each,
// then each line as it is written.
func (s *Server) serviceLog(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.lookup(w, r)
	if !ok {
		return
	}
	n, err := queryInt(r, "lines", 10, maxLines)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	dir, err := svctl.LogDir(svc)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err.Error())
		return
	}
	var tail bytes.Buffer
	if err := svctl.Tail(dir, n, &tail); err != nil {
		s.fail(w, r, http.StatusInternalServerError, fmt.Sprintf("%s: %v", svc.Name, err))
		return
	}
	if !wantsStream(r) {
		writeBody(w, http.StatusOK, "text/plain; charset=utf-8", tail.Bytes())
		return
	}
	st, release, ok := s.openStream(w, r, "text/event-stream")
	if !ok {
		return
	}
	defer release()
	lw := &sseLines{st: st}
	if _, err := lw.Write(tail.Bytes()); err != nil {
		return
	}
	svctl.Follow(r.Context(), dir, lw)
}

// sseLines writes what it is given as one event per complete line.
type sseLines struct {
	st      *stream
	partial []byte
}

func (l *sseLines) Write(p []byte) (int, error) {
	data := append(l.partial, p...)
	end := bytes.LastIndexByte(data, '\n') + 1
	var b bytes.Buffer
	for line := range bytes.Lines(data[:end]) {
		b.WriteString("data: ")
		b.Write(bytes.TrimRight(line, "\r\n"))
		b.WriteString("\n\n")
	}
	l.partial = append(l.partial[:0], data[end:]...)
	if len(l.partial) > 64<<10 { // a line without end: sent as it is
		b.WriteString("data: ")
		b.Write(l.partial)
		b.WriteString("\n\n")
		l.partial = l.partial[:0]
	}
	if b.Len() == 0 {
		return len(p), nil
	}
	return len(p), l.st.write(b.Bytes())
}

// logtail answers supervisorctl's tail -f (GET /logtail/NAME/stdout):
// the log's last lines, then what is written, as bytes.
func (s *Server) logtail(w http.ResponseWriter, r *http.Request) {
	p, err := s.find(r.PathValue("name")) // supervisorctl's GROUP:NAME
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err.Error())
		return
	}
	svc := p.svc
	if stream := r.PathValue("stream"); stream != "stdout" && stream != "stderr" {
		s.fail(w, r, http.StatusNotFound, stream+": want stdout or stderr")
		return
	}
	dir, err := svctl.LogDir(svc)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err.Error())
		return
	}
	st, release, ok := s.openStream(w, r, "text/plain; charset=utf-8")
	if !ok {
		return
	}
	defer release()
	out := writerFunc(st.write)
	if svctl.Tail(dir, 10, out) == nil {
		svctl.Follow(r.Context(), dir, out)
	}
}

type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) { return len(p), f(p) }
