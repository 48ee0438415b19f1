// Command sv-http is the HTTP server of a scan dir (package httpd), which
// sv-scan runs with --http, and sv-ctl --server's client (sv-http ctl):
// a binary of its own so that HTTP weighs on neither sv-scan nor PID 1.
package main

import (
	"os"

	"github.com/supervision-suite/supervision/internal/httpcmd"
)

func main() {
	os.Exit(httpcmd.Main(os.Args[1:], os.Stdout, os.Stderr))
}
