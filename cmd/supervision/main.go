// Command supervision is the multicall binary of the suite: installed as
// sv-gen, sv-exec, ... it runs that tool; `supervision TOOL` works too.
package main

import (
	"os"

	"github.com/supervision-suite/supervision/cmd/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr))
}
