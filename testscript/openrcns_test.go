package testscript_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/supervision-suite/supervision/test/rcsandbox"
)

// openrcnsMain runs a command in an OpenRC sandbox (see rcsandbox), in a
// private mount namespace of its own. The command's process is a child
// subreaper and reaps what daemons leave; when it ends, every process left
// in the namespace is ended by pid, TERM then KILL.
//
//	openrcns SCRATCH CMD [ARGS...]
//
// SCRATCH is a directory (made if missing) the namespace mounts its tmpfs
// on.
func openrcnsMain() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: openrcns SCRATCH CMD [ARGS...]")
		os.Exit(2)
	}
	if os.Getenv("OPENRCNS_INNER") != "1" {
		// By the name it was run as: the test binary dispatches on it.
		self, err := exec.LookPath(os.Args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "openrcns:", err)
			os.Exit(1)
		}
		cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", self}, os.Args[1:]...)...)
		cmd.Env = append(os.Environ(), "OPENRCNS_INNER=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode() & 0xff)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "openrcns:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if err := rcsandbox.Setup(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "openrcns:", err)
		os.Exit(1)
	}
	os.Exit(rcsandbox.Run(os.Args[2], os.Args[3:]))
}
