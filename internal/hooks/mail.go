package hooks

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// message writes the mail of a run, as sendmail -t reads it, to a file
// of its own, and opens it for sendmail's standard input (the name is
// gone: nothing is left behind).
func (r *Runner) message(rn *run) (*os.File, error) {
	data := r.compose(rn, time.Now())
	if err := os.MkdirAll(r.filesDir(), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(r.filesDir(), rn.c.Event.Service+".*.mail")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// compose is the mail: the subject says where, what and how; the body
// the event and the log's last lines (superlance's crashmail leaves them
// out, and its users ask for them).
func (r *Runner) compose(rn *run, now time.Time) []byte {
	ev := rn.c.Event
	var b bytes.Buffer
	code, sig := exitOf(ev)
	how := ""
	switch {
	case sig != "":
		how = ", killed by " + sig
	case code != "":
		how = ", exit " + code
	}
	fmt.Fprintf(&b, "To: %s\n", rn.todo.action.Arg)
	fmt.Fprintf(&b, "Subject: [%s] %s: %s (%s%s, restarts %d)\n", r.cfg.Host, ev.Service, rn.kind, ev.Reason, how, ev.Restarts)
	fmt.Fprintf(&b, "Date: %s\n", now.Format(time.RFC1123Z))
	b.WriteString("Auto-Submitted: auto-generated\n")
	fmt.Fprintf(&b, "X-Supervision-Event: %s\n", rn.kind)
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
	fmt.Fprintf(&b, "%s on %s: %s.\n\n", ev.Service, r.cfg.Host, rn.kind)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-12s %s\n", k+":", v)
		}
	}
	row("time", ev.Time.Format(time.RFC3339Nano))
	row("event", fmt.Sprintf("#%d %s -> %s (%s)", ev.Seq, ev.From, ev.To, ev.Reason))
	row("pid", intOrEmpty(ev.Pid))
	row("exit code", code)
	row("signal", sig)
	row("expected", expectedOf(ev))
	row("restarts", fmt.Sprint(ev.Restarts))
	row("application", rn.c.App)
	row("hook", rn.todo.source)
	if rn.count > 1 {
		fmt.Fprintf(&b, "\nThis mail stands for %d events (HOOK_RATE): the latest is above.\n", rn.count)
	}
	if rn.c.LogDir != "" {
		tail, err := r.tail(rn.c)
		fmt.Fprintf(&b, "\nThe last lines of its log (%s):\n\n", filepath.Join(rn.c.LogDir, "current"))
		if err != nil {
			fmt.Fprintf(&b, "(cannot read it: %v)\n", err)
		}
		b.Write(tail)
		if len(tail) > 0 && tail[len(tail)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
