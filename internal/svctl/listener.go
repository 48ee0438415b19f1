package svctl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// This file is sv-ctl events --supervisor-listener: the events of the
// scan dir, told to a program written for supervisord's event listener
// protocol (supervisord's docs, "Event Listener Notification Protocol").
// The listener writes READY; it is sent one event, a header line and a
// payload of the header's len; it answers RESULT N and N bytes, OK or
// FAIL (then the event is sent again); and READY for the next. Each such
// sv-ctl reads the event ring on its own, from where it stands: a
// listener that stalls holds up no other, and misses nothing.

// The states of supervisord's processes, by name (supervisor/states.py).
const (
	supStopped  = "STOPPED"
	supStarting = "STARTING"
	supRunning  = "RUNNING"
	supBackoff  = "BACKOFF"
	supStopping = "STOPPING"
	supExited   = "EXITED"
	supFatal    = "FATAL"
)

// supState is the supervisord state a phase stands for ("" for none:
// waiting, blocked, draining and finish are inside a change of ours).
var supState = map[string]string{
	"down": supStopped, "starting": supStarting, "up": supRunning, "stopping": supStopping,
	"backoff": supBackoff, "fatal": supFatal, "done": supExited,
}

// SupEvent is one event as supervisord tells it: PROCESS_STATE_X and its
// payload's fields, in order.
type SupEvent struct {
	Name    string
	Payload string
	Seq     uint64 // the event of ours it comes from
}

// SupervisorEvents is what a change of ours is to supervisord's listeners:
// none, one, or two (a crash is EXITED, then BACKOFF or FATAL or a start).
// group is the service's application, or the service itself as
// supervisord has it for a program outside any group.
func SupervisorEvents(ev events.Event, group string) []SupEvent {
	if ev.Service == "" || ev.Hook != "" || ev.App != "" || strings.HasSuffix(ev.Service, "/log") {
		return nil
	}
	if group == "" {
		group = ev.Service
	}
	var out []SupEvent
	add := func(to, from string, extra ...string) {
		p := fmt.Sprintf("processname:%s groupname:%s from_state:%s", ev.Service, group, from)
		for _, x := range extra {
			p += " " + x
		}
		out = append(out, SupEvent{Name: "PROCESS_STATE_" + to, Payload: p, Seq: ev.Seq})
	}
	pid := "pid:" + strconv.Itoa(ev.Pid)
	from := supState[ev.From]
	if ev.EndsRun() {
		if ev.Reason == "requested" || ev.Reason == "stop-timeout" || ev.Reason == "exit" {
			add(supStopped, supStopping, pid) // a stop asked for
		} else if ev.From == "starting" && ev.To != "done" {
			add(supBackoff, supStarting, "tries:"+strconv.Itoa(ev.Restarts)) // it did not come up
		} else {
			add(supExited, ranFrom(from), "expected:"+boolDigit(ev.Expected), pid)
		}
		if ev.To == "fatal" {
			add(supFatal, supBackoff)
		} else if ev.To == "backoff" && out[0].Name != "PROCESS_STATE_"+supBackoff {
			add(supBackoff, supExited, "tries:"+strconv.Itoa(ev.Restarts))
		}
		return out
	}
	to := supState[ev.To]
	if to == "" || from == to && ev.Reason != "adopted" {
		return nil
	}
	if from == "" {
		from = supStopped // waiting, blocked: it had not run
	}
	switch to {
	case supStarting:
		add(to, from, "tries:"+strconv.Itoa(ev.Restarts))
	case supRunning, supStopping:
		add(to, from, pid)
	case supBackoff:
		add(to, from, "tries:"+strconv.Itoa(ev.Restarts))
	case supFatal:
		add(to, supBackoff)
	case supStopped:
		if ev.From == "draining" || ev.From == "finish" || ev.From == "backoff" || ev.From == "fatal" || ev.From == "done" {
			return nil // its end was told already, or it was not running
		}
		add(to, from)
	}
	return out
}

// ranFrom is the state a run ended from: the one before, or RUNNING
// when that was none of a run's.
func ranFrom(from string) string {
	if from != "" && from != supStopped {
		return from
	}
	return supRunning
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ListenerQuery is how sv-ctl events --supervisor-listener was asked.
type ListenerQuery struct {
	Command string   // the listener, run with sh -c
	Pool    string   // the pool's name in the headers
	Events  []string // what it subscribes to: PROCESS_STATE, PROCESS_STATE_X, TICK_5, TICK_60, TICK_3600
	Since   uint64   // begin after this event; 0: with the events to come
	Log     io.Writer
}

// subscribed: the listener takes events of this name.
func (q ListenerQuery) subscribed(name string) bool {
	for _, e := range q.Events {
		if e == name || e == "EVENT" || (e == "PROCESS_STATE" && strings.HasPrefix(name, "PROCESS_STATE_")) {
			return true
		}
	}
	return false
}

// ticks are the TICK_ events subscribed to, by period.
func (q ListenerQuery) ticks() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, d := range map[string]time.Duration{"TICK_5": 5 * time.Second, "TICK_60": time.Minute, "TICK_3600": time.Hour} {
		if q.subscribed(name) {
			out[name] = d
		}
	}
	return out
}

// Listen runs the listener and tells it the scan dir's events, until ctx
// ends; a listener that exits is started again (after a second, then up
// to a minute), and goes on from the first event it had not answered OK.
func Listen(ctx context.Context, scanDir string, q ListenerQuery) error {
	if fi, err := os.Stat(scanDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: no such scan dir", scanDir)
	}
	if q.Since == 0 {
		evs, err := events.Since(events.Dir(scanDir), 0)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			q.Since = evs[len(evs)-1].Seq
		}
	}
	feed := make(chan SupEvent)
	go func() {
		events.Follow(ctx, events.Dir(scanDir), q.Since, func(ev events.Event) error {
			if ev.Dropped > 0 {
				fmt.Fprintf(q.Log, "sv-ctl events: %d events were dropped before the listener could be told (the ring holds %d)\n", ev.Dropped, 2*events.PerFile)
				return nil
			}
			for _, se := range SupervisorEvents(ev, groupOf(scanDir, ev.Service)) {
				if !q.subscribed(se.Name) {
					continue
				}
				select {
				case feed <- se:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}()
	for name, every := range q.ticks() {
		go tick(ctx, feed, name, every)
	}
	l := &listener{q: q, serial: 0}
	wait := time.Second
	for ctx.Err() == nil {
		began := time.Now()
		err := l.run(ctx, feed)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > time.Minute {
			wait = time.Second
		}
		fmt.Fprintf(q.Log, "sv-ctl events: the listener ended (%v): starting it again in %s\n", err, wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
	return nil
}

// tick sends TICK_ events, as supervisord does: when:SECONDS.
func tick(ctx context.Context, feed chan<- SupEvent, name string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			select {
			case feed <- SupEvent{Name: name, Payload: "when:" + strconv.FormatInt(now.Unix(), 10)}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// groupOf is the application the service belongs to, as sv-scan last said.
func groupOf(scanDir, name string) string {
	st, err := svdir.ReadState(filepath.Join(scanDir, name, "supervise"))
	if err != nil {
		return ""
	}
	return st.App
}

// listener is one run of the listener program.
type listener struct {
	q       ListenerQuery
	serial  int
	pending *SupEvent // taken from the feed, not yet answered OK
}

var errProtocol = errors.New("it broke the protocol")

// run starts the program and speaks the protocol with it until it exits,
// breaks the protocol, or ctx ends.
func (l *listener) run(ctx context.Context, feed <-chan SupEvent) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", l.q.Command)
	// A group of its own, ended whole: sh may run the listener as its child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Stderr = l.q.Log
	cmd.Env = append(os.Environ(), "SUPERVISOR_SERVER_URL=", "SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME="+l.q.Pool)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		in.Close()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	out := bufio.NewReader(outPipe)
	for {
		if err := expectReady(out); err != nil {
			return err
		}
		if l.pending == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case se := <-feed:
				l.pending = &se
			}
		}
		l.serial++
		se := l.pending
		serial := se.Seq
		if serial == 0 {
			serial = uint64(l.serial)
		}
		fmt.Fprintf(in, "ver:3.0 server:supervisor serial:%d pool:%s poolserial:%d eventname:%s len:%d\n%s",
			serial, l.q.Pool, l.serial, se.Name, len(se.Payload), se.Payload)
		result, err := readResult(out)
		if err != nil {
			return err
		}
		if result == "OK" {
			l.pending = nil
		} // FAIL: the same event again, as supervisord does
	}
}

// expectReady reads the listener's READY line.
func expectReady(r *bufio.Reader) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("it exited: %w", err)
	}
	if line != "READY\n" {
		return fmt.Errorf("%w: %q where READY was due", errProtocol, strings.TrimSpace(line))
	}
	return nil
}

// readResult reads RESULT N and its N bytes.
func readResult(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("it exited: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(line, "\n"), "RESULT "))
	if !strings.HasPrefix(line, "RESULT ") || err != nil || n < 0 || n > 1<<16 {
		return "", fmt.Errorf("%w: %q where RESULT N was due", errProtocol, strings.TrimSpace(line))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", fmt.Errorf("it exited: %w", err)
	}
	return string(buf), nil
}
