package initsys

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// LastResort is what PID 1 does when sv-init itself cannot run the
// system (Run returned, or panicked in its main goroutine): it must not
// exit, for the kernel panics when init does. A shell on the console,
// started again each time it exits, lets someone mend the machine;
// without one, PID 1 waits for ever. It never returns.
func LastResort(console io.Writer) {
	fmt.Fprintln(console, "sv-init: a shell on the console in its place (PID 1 must not exit)")
	keepShell(console, "/bin/sh", func() bool { return true })
	select {}
}

// keepShell runs sh on the console while again says so, a second apart
// at least (a shell that exits at once must not spin), and returns when
// sh cannot be started or again says no more.
func keepShell(console io.Writer, sh string, again func() bool) {
	for {
		began := time.Now()
		p, err := os.StartProcess(sh, []string{"-sh"}, &os.ProcAttr{
			Env:   os.Environ(),
			Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
		if err != nil {
			fmt.Fprintf(console, "sv-init: %s: %v: waiting for ever\n", sh, err)
			return
		}
		p.Wait() // an error: reaped by someone else; it has ended all the same
		if !again() {
			return
		}
		fmt.Fprintf(console, "sv-init: the shell exited: starting it again\n")
		time.Sleep(time.Second - time.Since(began))
	}
}
