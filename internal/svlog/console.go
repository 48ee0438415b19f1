package svlog

import (
	"bytes"
	"io"
	"sync"
)

// Console is one stream shared by the loggers of many services
// (LOG=console): PID 1's standard output in a container, so that the
// runtime's log shows every service. Each line goes out whole, in one
// write, with its service's name before it, so that lines of different
// services never mix.
//
// A write that fails (the stream closed) loses the line: the daemon must
// not be held up by it. A stream that does not take more (a full pipe)
// holds the line, and the daemon then waits as it would on its own stdout.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsole shares w among loggers.
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

func (c *Console) writeLine(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.Write(b)
}

// toConsoleLocked gathers output into whole lines, each begun with the
// prefix, and writes each as it ends; a line longer than MaxLine is ended
// there and goes on as a new line, as in a log directory.
func (l *Logger) toConsoleLocked(p []byte) {
	prefix := len(l.cfg.Prefix)
	for len(p) > 0 {
		if len(l.conLine) == 0 {
			l.conLine = append(l.conLine, l.cfg.Prefix...)
		}
		room := MaxLine - (len(l.conLine) - prefix)
		i := bytes.IndexByte(p, '\n')
		switch {
		case i >= 0 && i <= room:
			l.conLine = append(l.conLine, p[:i+1]...)
			p = p[i+1:]
		case i < 0 && len(p) <= room:
			l.conLine = append(l.conLine, p...)
			return
		default:
			l.conLine = append(append(l.conLine, p[:room]...), '\n')
			p = p[room:]
		}
		l.emitConsoleLocked()
	}
}

// emitConsoleLocked writes the gathered line and starts a new one; a
// quiet service does not keep a long line's buffer.
func (l *Logger) emitConsoleLocked() {
	l.cfg.Console.writeLine(l.conLine)
	if cap(l.conLine) > 4<<10 {
		l.conLine = nil
	} else {
		l.conLine = l.conLine[:0]
	}
}
