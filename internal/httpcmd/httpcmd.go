// Package httpcmd is sv-http's command line: the server (package httpd),
// and "sv-http ctl ARGS", which is sv-ctl with its --server client
// (package svclient) linked in. The multi-call binary, which is also
// PID 1, links no HTTP: its sv-ctl --server execs sv-http ctl.
package httpcmd

import (
	"io"

	"github.com/supervision-suite/supervision/cmd/cli"
	"github.com/supervision-suite/supervision/internal/httpd"
	"github.com/supervision-suite/supervision/internal/svclient"
)

// Main runs sv-http with args (without the program's name).
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ctl" {
		cli.SetRemote(func(server, token string) (cli.Remote, error) {
			return svclient.New(server, token)
		})
		return cli.Main(append([]string{"sv-ctl"}, args[1:]...), stdout, stderr)
	}
	return httpd.Main(args, stderr)
}
