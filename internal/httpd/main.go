package httpd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

const usage = `sv-http serves a scan dir's services over HTTP: the JSON API (/v1), the
events as Server-Sent Events, a status page (/), Prometheus metrics
(/metrics) and supervisord's XML-RPC (/RPC2) for supervisorctl. sv-scan
runs it (sv-scan --http ADDR) and starts it again if it ends; it exits
when sv-scan does.

--listen unix:PATH serves on a unix socket of mode 0600: whoever may
connect controls. --listen HOST:PORT serves on TCP: with --tokens, each
client gives a token (Authorization: Bearer SECRET, or Basic NAME and
SECRET) whose role, read or control, says what it may do; without, only
on a loopback address, anyone may read and no one control.

Usage:
  sv-http --listen unix:PATH|HOST:PORT [flags]

Flags:
`

// Main runs sv-http with args; it returns the exit code.
func Main(args []string, stderr io.Writer) int {
	var cfg Config
	fs := flag.NewFlagSet("sv-http", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&cfg.Listen, "listen", "", "where to listen: `unix:PATH` or HOST:PORT")
	fs.StringVar(&cfg.Root, "root", "", "the tree's root (default $SV_ROOT, else /)")
	fs.StringVar(&cfg.ScanDir, "scandir", "", "the scan `DIR` (default: the tree's run/sv/service)")
	fs.StringVar(&cfg.Tokens, "tokens", "", "the tokens `FILE` (NAME ROLE SECRET lines, mode 0600)")
	node, _ := os.Hostname()
	fs.StringVar(&cfg.Node, "node", node, "the node label of the metrics, and the page's title")
	fs.IntVar(&cfg.ScannerPid, "scanner-pid", 0, "sv-scan's `PID`, for its process metrics (sv-scan gives it)")
	if err := fs.Parse(args); err != nil {
		return 100
	}
	if cfg.Listen == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "sv-http: want --listen unix:PATH or HOST:PORT, and no arguments (see sv-http --help)")
		return 100
	}
	cfg.Log = stderr
	s, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sv-http: %v\n", err)
		return 100
	}
	ln, err := s.Listen()
	if err != nil {
		fmt.Fprintf(stderr, "sv-http: %v\n", err)
		return 111
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if cfg.ScannerPid > 0 {
		ended, err := untilExit(cfg.ScannerPid)
		if err != nil {
			fmt.Fprintf(stderr, "sv-http: sv-scan (pid %d): %v\n", cfg.ScannerPid, err)
			return 111
		}
		go func() { <-ended; stop() }()
	}
	if path, ok := unixPath(cfg.Listen); ok {
		defer removeIfSame(path)()
	}
	addr, err := s.writeAddress(ln)
	if err != nil {
		fmt.Fprintf(stderr, "sv-http: %v\n", err)
		return 111
	}
	defer func() { // unless a newer server wrote its own there
		if data, _ := os.ReadFile(AddressFile(s.cfg.ScanDir)); string(data) == addr {
			os.Remove(AddressFile(s.cfg.ScanDir))
		}
	}()
	if err := s.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "sv-http: %v\n", err)
		return 111
	}
	return 0
}

func unixPath(listen string) (string, bool) {
	if len(listen) > 5 && listen[:5] == "unix:" {
		return listen[5:], true
	}
	return "", false
}

// untilExit's channel is closed when process pid ends: sv-http ends with
// the sv-scan that runs it, even one killed -9 (a pidfd becomes readable
// when its process exits).
func untilExit(pid int) (<-chan struct{}, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, err
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				return
			}
		}
	}()
	return ended, nil
}

// AddressFile is where sv-http says where it listens, once it does: one
// line, http://HOST:PORT or unix:PATH (the port it was given, or the one
// the kernel chose for port 0). sv-ctl --server takes that line.
func AddressFile(scanDir string) string { return filepath.Join(scanDir, ".sv-scan", "http") }

func (s *Server) writeAddress(ln net.Listener) (string, error) {
	addr := "http://" + ln.Addr().String()
	if path, ok := unixPath(s.cfg.Listen); ok {
		addr = "unix:" + path
	}
	addr += "\n"
	return addr, renameio.WriteFile(AddressFile(s.cfg.ScanDir), []byte(addr), 0o644)
}

// removeIfSame returns what removes the socket at path at exit, if it is
// still the one made now: a server started after this one may have
// replaced it.
func removeIfSame(path string) func() {
	made, err := os.Lstat(path)
	return func() {
		if now, nerr := os.Lstat(path); err == nil && nerr == nil && os.SameFile(made, now) {
			os.Remove(path)
		}
	}
}
