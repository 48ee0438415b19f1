package svctl

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/options"
)

// EventsQuery is what sv-ctl events asks of sv-scan's event stream.
type EventsQuery struct {
	// Names keeps the events of these services only (none: all). NAME is
	// the service alone: its logger, NAME/log, is asked for by that name,
	// so that a service's own story is not interleaved with its logger's.
	// A dropped record is kept whatever the names: it may hide any.
	Names  []string
	Since  uint64 // only the events after this number; 0: every one kept
	Follow bool   // then the new ones as they come, until the context ends
	JSON   bool   // JSON Lines, each line as the ring holds it
}

// CheckEventName checks a name sv-ctl events may filter on: a service's
// name, NAME/log for its logger, or @APP for an application.
func CheckEventName(name string) error {
	if app, ok := strings.CutPrefix(name, "@"); ok {
		return options.CheckServiceName(app)
	}
	svc, ok := strings.CutSuffix(name, "/log")
	if err := options.CheckServiceName(svc); err != nil {
		if ok {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fmt.Errorf("%w; a logger is NAME/log", err)
	}
	return nil
}

// Events writes to w the events of the scan dir that q asks for. Without
// Follow it writes those held now and returns; a scan dir whose sv-scan
// never ran has none. With Follow it waits for more, and for the stream
// to exist, until ctx ends (nil).
func Events(ctx context.Context, scanDir string, q EventsQuery, w io.Writer) error {
	if fi, err := os.Stat(scanDir); errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
		return fmt.Errorf("%s: no such scan dir", scanDir)
	} else if err != nil {
		return err
	}
	out := bufio.NewWriter(w)
	show := func(ev events.Event) error {
		name := ev.Service
		if ev.App != "" {
			name = "@" + ev.App
		}
		if ev.Dropped == 0 && len(q.Names) > 0 && !slices.Contains(q.Names, name) {
			return nil
		}
		if err := writeEvent(out, ev, q.JSON); err != nil {
			return err
		}
		if q.Follow { // a follower's reader sees each event as it comes
			return out.Flush()
		}
		return nil
	}
	dir := events.Dir(scanDir)
	var err error
	if q.Follow {
		err = events.Follow(ctx, dir, q.Since, show)
	} else {
		var evs []events.Event
		evs, err = events.Since(dir, q.Since)
		for _, ev := range evs {
			if err = show(ev); err != nil {
				break
			}
		}
	}
	return errors.Join(err, out.Flush())
}

func writeEvent(w *bufio.Writer, ev events.Event, asJSON bool) error {
	if asJSON {
		line, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		w.Write(line)
		return w.WriteByte('\n')
	}
	_, err := fmt.Fprintln(w, FormatEvent(ev))
	return err
}

// FormatEvent is an event as sv-ctl events prints it for a person: time,
// number, service, the change of phase and its reason, then the process,
// how its run ended, and the restarts so far. The time is local, to the
// millisecond.
//
//	2026-12-06 04:55:30.123 #12 web: up -> backoff (crashed), pid 4242, exit 1, restarts 3
//	2026-12-06 04:55:31.002 #2047 dropped 2046 events
//	2026-12-06 04:55:31.050 #2048 web: hook crash exec:/usr/local/bin/page: killed after HOOK_TIMEOUT=1m0s
func FormatEvent(ev events.Event) string {
	at := ev.Time.Local().Format("2006-01-02 15:04:05.000")
	if ev.Dropped > 0 {
		unit := "events"
		if ev.Dropped == 1 {
			unit = "event"
		}
		return fmt.Sprintf("%s #%d dropped %d %s", at, ev.Seq, ev.Dropped, unit)
	}
	var b strings.Builder
	if ev.Hook != "" {
		return fmt.Sprintf("%s #%d %s: hook %s %s: %s", at, ev.Seq, ev.Service, ev.Hook, ev.Action, ev.Reason)
	}
	if ev.App != "" {
		fmt.Fprintf(&b, "%s #%d @%s: %s -> %s, major=%s minor=%s", at, ev.Seq, ev.App, cmp.Or(ev.From, "-"), ev.To, app.YesNo(ev.Major), app.YesNo(ev.Minor))
		if ev.Reason != "" {
			fmt.Fprintf(&b, " (%s)", ev.Reason)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s #%d %s: %s -> %s (%s)", at, ev.Seq, ev.Service, ev.From, ev.To, ev.Reason)
	if ev.Pid != 0 {
		fmt.Fprintf(&b, ", pid %d", ev.Pid)
	}
	switch {
	case ev.ExitCode == nil:
	case ev.Signal != "":
		fmt.Fprintf(&b, ", killed by %s", ev.Signal)
	default:
		fmt.Fprintf(&b, ", exit %d", *ev.ExitCode)
	}
	if ev.Expected {
		b.WriteString(" (expected)")
	}
	fmt.Fprintf(&b, ", restarts %d", ev.Restarts)
	return b.String()
}
