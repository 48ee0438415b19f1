package testscript_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// httprecvMain is httprecv -port-file FILE OUT: a webhook's receiver for
// tests, on 127.0.0.1. It listens on the port FILE holds, or, when there
// is no FILE yet, on a free port that it then writes to FILE (so that it
// can be stopped and started again on the same port). Each POST's body
// is appended to OUT as one line, and answered 200. It exits on TERM or
// INT.
func httprecvMain() {
	sig := make(chan os.Signal, 1) // before the sign that it listens
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fs := flag.NewFlagSet("httprecv", flag.ExitOnError)
	portFile := fs.String("port-file", "", "")
	fs.Parse(os.Args[1:])
	if fs.NArg() != 1 || *portFile == "" {
		fmt.Fprintln(os.Stderr, "usage: httprecv -port-file FILE OUT")
		os.Exit(2)
	}
	out := fs.Arg(0)
	addr := "127.0.0.1:0"
	if data, err := os.ReadFile(*portFile); err == nil {
		addr = "127.0.0.1:" + strings.TrimSpace(string(data))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httprecv:", err)
		os.Exit(1)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	tmp := *portFile + ".tmp"
	os.WriteFile(tmp, []byte(port+"\n"), 0o644)
	os.Rename(tmp, *portFile)
	// The port file again each time, as a sign that it listens.
	os.WriteFile(filepath.Join(filepath.Dir(out), "httprecv.up"), []byte(port+"\n"), 0o644)
	var mu sync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			f.Write(append(bytes.TrimSpace(body), '\n'))
			f.Close()
		}
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})}
	go func() { <-sig; srv.Close() }()
	srv.Serve(ln)
}
