// Command docgen writes the generated reference documents: `make docs`.
package main

import (
	"fmt"
	"os"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: docgen OPTIONS.md")
		os.Exit(2)
	}
	if err := safefile.Write(os.Args[1], []byte(options.Reference()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}
