// Package companion keeps a helper program of the suite running beside
// sv-scan, as long as sv-scan runs: sv-http, the HTTP server that
// sv-scan --http asks for. It is started once sv-scan holds its scan
// dir, started again when it ends (at once, then later and later, up to a
// minute), and stopped with sv-scan. It is an addon (supervise.Addon):
// the engine knows nothing of it, and sv-scan without --http carries
// nothing of it but this.
package companion

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
	"github.com/supervision-suite/supervision/internal/supervise"
)

// Companion is one helper program.
type Companion struct {
	Name string   // the program, found beside sv-scan or in PATH
	Args []string // its arguments
	path string
	done chan struct{} // closed when Run has returned, the helper stopped
}

// Open finds the program: a flag that asks for it fails sv-scan's start
// when it is not installed, rather than a server that never comes.
func (c *Companion) Open(sc *supervise.Scanner) error {
	if c.path = sc.Helper(c.Name); c.path == "" {
		return fmt.Errorf("%s: not installed beside sv-scan, nor in PATH", c.Name)
	}
	c.done = make(chan struct{})
	return nil
}

// Wait waits until Run has stopped the helper, at most a little more
// than the stop itself may take.
func (c *Companion) Wait() {
	if c.done == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(stopWait + time.Second):
	}
}

// Backoff between two starts of a helper that ended: doubled each time,
// and back to the first after a run longer than maxDelay.
const (
	firstDelay = time.Second
	maxDelay   = time.Minute
	stopWait   = 5 * time.Second // after TERM, before KILL
)

// Run keeps the helper running until ctx ends, then stops it.
func (c *Companion) Run(ctx context.Context, sc *supervise.Scanner) {
	defer close(c.done)
	delay := time.Duration(0)
	for {
		began := time.Now()
		exited := make(chan proc.Exit, 1)
		p, err := sc.Spawn(proc.Spec{Path: c.path, Argv: append([]string{c.Name}, c.Args...), Env: sc.Environ(),
			Dir: "/", Files: []*os.File{nil, os.Stderr, os.Stderr}, CgroupFD: -1,
			OnExit: func(e proc.Exit) { exited <- e }})
		if err != nil {
			sc.Logf("%s: cannot start it: %v", c.Name, err)
		} else {
			select {
			case e := <-exited:
				sc.Logf("%s: %s", c.Name, describe(e))
			case <-ctx.Done():
				stop(p, exited)
				return
			}
		}
		if time.Since(began) > maxDelay {
			delay = 0
		}
		delay = min(max(2*delay, firstDelay), maxDelay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// stop ends the helper's process group: TERM, then KILL after stopWait.
func stop(p *proc.Process, exited <-chan proc.Exit) {
	syscall.Kill(-p.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopWait):
		syscall.Kill(-p.Pid, syscall.SIGKILL)
		<-exited
	}
}

func describe(e proc.Exit) string {
	if e.Status.Signaled() {
		return fmt.Sprintf("killed by %s; starting it again", options.SignalName(e.Status.Signal()))
	}
	return fmt.Sprintf("exited %d; starting it again", e.Status.ExitStatus())
}
