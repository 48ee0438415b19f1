// Command sv-scan is the scanner on its own: a program that links only
// the engine, so that the process that runs as long as the machine does
// holds as few pages of code as it can. The multi-call binary runs the
// same code as `sv-scan` and `supervision scan`.
package main

import (
	"os"

	"github.com/supervision-suite/supervision/internal/scancmd"
)

func main() {
	os.Exit(scancmd.Main("sv-scan", os.Args[1:], os.Stdout, os.Stderr))
}
