// Command sv-http is the HTTP server of a scan dir (package httpd):
// sv-scan runs it with --http. It is a binary of its own so that the HTTP
// server weighs on neither sv-scan nor PID 1.
package main

import (
	"os"

	"github.com/supervision-suite/supervision/internal/httpd"
)

func main() {
	os.Exit(httpd.Main(os.Args[1:], os.Stderr))
}
