// Package httpd is sv-http, the HTTP server of a scan dir that sv-scan
// runs beside itself (sv-scan --http). On one listener it serves the JSON
// API (/v1/...), the events as Server-Sent Events, the status page (/),
// Prometheus' metrics (/metrics) and supervisord's XML-RPC (/RPC2) for
// supervisorctl. It reads what sv-scan writes (each service's state.json
// and status, the event ring, the counters) and controls services through
// their control FIFOs, as sv-ctl does: sv-scan itself carries no HTTP
// server, and nothing of it when the server is off.
package httpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/tokens"
)

// Config is what sv-http is asked to serve.
type Config struct {
	Listen  string // unix:PATH, or HOST:PORT
	Root    string // the tree's root ("" for /): where OPTIONS and the tokens file are
	ScanDir string // default: the tree's scan dir
	Tokens  string // the tokens file; "" for none
	Node    string // the metrics' node label
	// ScannerPid is sv-scan's pid, for its process metrics; 0: none.
	ScannerPid int
	Log        io.Writer
}

// Limits on what one client may take: none of them can hold up sv-scan
// (which knows nothing of them) or another client beyond these.
const (
	maxConns        = 256             // connections at once; more wait in the kernel's backlog
	maxStreams      = 128             // SSE streams at once (events, logs)
	maxBody         = 64 << 10        // a request's body to /v1
	maxRPCBody      = 1 << 20         // an XML-RPC call
	headerTimeout   = 5 * time.Second // the request line and headers
	readTimeout     = 30 * time.Second
	writeTimeout    = 30 * time.Second // an answer; a stream, each write
	idleTimeout     = 60 * time.Second
	maxHeaderBytes  = 16 << 10
	streamHeartbeat = 15 * time.Second // a comment on a quiet stream: a dead client is found
)

// Server is sv-http.
type Server struct {
	cfg     Config
	layout  layout.Layout
	res     svctl.Resolver
	tokens  *tokens.Set // nil: none configured
	keys    keyring
	unix    bool // listening on a unix socket: its mode is the access control
	log     *log.Logger
	model   *model
	hub     *hub
	streams chan struct{} // a slot per SSE stream
	limits  limits
}

// limits are the server's bounds on its clients: the constants above,
// smaller in the tests.
type limits struct {
	header, read, write, idle time.Duration
	conns                     int
}

var defaultLimits = limits{header: headerTimeout, read: readTimeout, write: writeTimeout, idle: idleTimeout, conns: maxConns}

// New checks cfg and reads the tokens: every mistake is said before
// anything listens.
func New(cfg Config) (*Server, error) {
	l, err := layout.FromEnv(cfg.Root)
	if err != nil {
		return nil, err
	}
	if cfg.ScanDir == "" {
		cfg.ScanDir = l.ScanDir
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	s := &Server{cfg: cfg, layout: l, res: svctl.Resolver{ScanDir: cfg.ScanDir, SvDir: l.SvDir},
		log: log.New(cfg.Log, "sv-http: ", 0), streams: make(chan struct{}, maxStreams),
		limits: defaultLimits}
	s.unix = strings.HasPrefix(cfg.Listen, "unix:")
	if cfg.Tokens != "" {
		if s.tokens, err = tokens.Load(cfg.Tokens); err != nil {
			return nil, err
		}
		s.keys = newKeyring(s.tokens)
	}
	if !s.unix {
		if err := tokens.CheckListen(cfg.Listen, s.tokens != nil); err != nil {
			return nil, err
		}
	}
	s.hub = newHub(cfg.ScanDir)
	s.model = newModel(s.res)
	s.hub.onEvent = s.model.forget
	return s, nil
}

// Listen opens the listener: a unix socket only its owner may use (mode
// 0600: the access control), replacing one a previous server left; or
// TCP.
func (s *Server) Listen() (net.Listener, error) {
	if path, ok := strings.CutPrefix(s.cfg.Listen, "unix:"); ok {
		return listenUnix(path, s.limits.conns)
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, err
	}
	return limitListener(ln, s.limits.conns), nil
}

func listenUnix(path string, conns int) (net.Listener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("unix:%s: the socket's path must be absolute", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s: exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another server listens on it", path)
		}
		os.Remove(path) // left by a server that is gone
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// Made private before anyone can connect: the umask applies to bind.
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, err
	}
	return limitListener(ln, conns), nil
}

// Serve serves on ln until ctx ends, then closes the streams and waits
// (briefly) for the answers under way.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.limits.header,
		ReadTimeout:       s.limits.read,
		WriteTimeout:      s.limits.write,
		IdleTimeout:       s.limits.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0), // TLS-less scanners' noise
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.hub.run(ctx, s.log)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(shut)
		cancel()
		err = <-errc
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
