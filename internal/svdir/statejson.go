package svdir

import (
	"slices"
	"strconv"
	"time"
)

// decodeState reads state.json as sv-scan writes it, without
// encoding/json: every status read of a short-lived client (sv-rc start
// reads it at each change while it waits) would otherwise pay for paging
// in the reflection-driven decoder on its first use, about half a
// millisecond here, for a file of a dozen known fields. It takes what
// sv-scan writes: one object of State's fields, each at most once, with
// JSON's whitespace, strings with the short escapes, numbers, booleans,
// and the objects of last_exit and log. Anything else (an unknown field,
// null, \u escapes, bytes outside ASCII in a string) is not ok, and
// ReadState asks encoding/json instead: whatever this accepts, it decodes
// exactly as encoding/json would (FuzzDecodeState checks).
func decodeState(data []byte) (*State, bool) {
	d := stateDecoder{data: data}
	var st State
	ok := d.object(func(key string) bool { return d.stateField(&st, key) })
	d.space()
	return &st, ok && d.pos == len(d.data)
}

// stateDecoder walks the bytes of one JSON document. Each method consumes
// what it reads and reports whether it was well-formed and of the
// expected shape; after a false the position means nothing.
type stateDecoder struct {
	data []byte
	pos  int
}

func (d *stateDecoder) stateField(st *State, key string) bool {
	switch key {
	case "service":
		return d.readString(&st.Service)
	case "supervisor":
		return d.readString(&st.Supervisor)
	case "supervisor_pid":
		return d.readInt(&st.SupervisorPid)
	case "phase":
		return d.readString(&st.Phase)
	case "want":
		return d.readString(&st.Want)
	case "pid":
		return d.readInt(&st.Pid)
	case "pid_start":
		return d.readUint(&st.PidStart)
	case "since":
		return d.readTime(&st.Since)
	case "started":
		return d.readTime(&st.Started)
	case "ready":
		return d.readBool(&st.Ready)
	case "ready_at":
		return d.readTime(&st.ReadyAt)
	case "restarts":
		return d.readInt(&st.Restarts)
	case "last_exit":
		st.LastExit = &Exit{}
		return d.object(func(k string) bool { return d.exitField(st.LastExit, k) })
	case "fatal":
		return d.readString(&st.Fatal)
	case "error":
		return d.readString(&st.Error)
	case "next_start":
		return d.readTime(&st.NextStart)
	case "cgroup":
		return d.readString(&st.Cgroup)
	case "log":
		st.Log = &LogState{}
		return d.object(func(k string) bool { return d.logField(st.Log, k) })
	}
	return false
}

func (d *stateDecoder) exitField(e *Exit, key string) bool {
	switch key {
	case "code":
		return d.readInt(&e.Code)
	case "signal":
		return d.readString(&e.Signal)
	case "unknown":
		return d.readBool(&e.Unknown)
	case "at":
		return d.readTime(&e.At)
	case "uptime":
		return d.readFloat(&e.Uptime)
	}
	return false
}

func (d *stateDecoder) logField(l *LogState, key string) bool {
	switch key {
	case "kind":
		return d.readString(&l.Kind)
	case "dir":
		return d.readString(&l.Dir)
	case "error":
		return d.readString(&l.Error)
	case "since":
		return d.readTime(&l.Since)
	case "dropped":
		return d.readUint(&l.Dropped)
	case "pending":
		return d.readInt(&l.Pending)
	}
	return false
}

// object reads {"key": value, ...}, handing each key to field, which
// reads its value. A key seen twice is not ok: encoding/json would merge
// a repeated object into the first, which field does not.
func (d *stateDecoder) object(field func(key string) bool) bool {
	if !d.expect('{') {
		return false
	}
	d.space()
	if d.peek() == '}' {
		d.pos++
		return true
	}
	var seen []string
	for {
		var key string
		if !d.readString(&key) || !d.expect(':') || slices.Contains(seen, key) {
			return false
		}
		seen = append(seen, key)
		if !field(key) {
			return false
		}
		d.space()
		switch d.next() {
		case ',':
			d.space()
		case '}':
			return true
		default:
			return false
		}
	}
}

// expect skips whitespace and reads c.
func (d *stateDecoder) expect(c byte) bool {
	d.space()
	return d.next() == c
}

func (d *stateDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *stateDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *stateDecoder) next() byte {
	c := d.peek()
	d.pos++
	return c
}

// readString reads a string of printable ASCII and the escapes \" \\ \/ \b \f
// \n \r \t.
func (d *stateDecoder) readString(s *string) bool {
	raw, ok := d.rawString()
	if !ok {
		return false
	}
	var buf []byte
	for i := 1; i < len(raw)-1; i++ {
		c := raw[i]
		if c == '\\' {
			i++
			c = unescape[raw[i]]
		}
		buf = append(buf, c)
	}
	*s = string(buf)
	return true
}

// unescape maps the letter after a backslash to what it stands for; 0 for
// one readString does not take.
var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// rawString reads a string as readString takes it and returns it with its quotes
// and escapes as written.
func (d *stateDecoder) rawString() ([]byte, bool) {
	d.space()
	start := d.pos
	if d.next() != '"' {
		return nil, false
	}
	for d.pos < len(d.data) {
		c := d.next()
		switch {
		case c == '"':
			return d.data[start:d.pos], true
		case c == '\\':
			if unescape[d.peek()] == 0 {
				return nil, false
			}
			d.pos++
		case c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// number reads a number as JSON writes one.
func (d *stateDecoder) number() (string, bool) {
	d.space()
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	switch {
	case d.peek() == '0':
		d.pos++
	case d.digits() == 0:
		return "", false
	}
	if d.peek() == '.' {
		d.pos++
		if d.digits() == 0 {
			return "", false
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if d.digits() == 0 {
			return "", false
		}
	}
	return string(d.data[start:d.pos]), true
}

func (d *stateDecoder) digits() int {
	n := 0
	for c := d.peek(); c >= '0' && c <= '9'; c = d.peek() {
		d.pos++
		n++
	}
	return n
}

// readInt, readUint and readFloat take what encoding/json takes into those
// types, with the same conversions: an integer in range, or any number for
// a float.
func (d *stateDecoder) readInt(v *int) bool {
	return readNumber(d, v, func(s string) (int, error) {
		n, err := strconv.ParseInt(s, 10, 0)
		return int(n), err
	})
}

func (d *stateDecoder) readUint(v *uint64) bool {
	return readNumber(d, v, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
}

func (d *stateDecoder) readFloat(v *float64) bool {
	return readNumber(d, v, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

// readNumber reads a number and converts it with parse.
func readNumber[T any](d *stateDecoder, v *T, parse func(string) (T, error)) bool {
	s, ok := d.number()
	if !ok {
		return false
	}
	n, err := parse(s)
	*v = n
	return err == nil
}

func (d *stateDecoder) readBool(v *bool) bool {
	d.space()
	for _, lit := range []string{"true", "false"} {
		if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
			d.pos += len(lit)
			*v = lit == "true"
			return true
		}
	}
	return false
}

// readTime hands the quoted string to time.Time's own UnmarshalJSON, as
// encoding/json does.
func (d *stateDecoder) readTime(t *time.Time) bool {
	raw, ok := d.rawString()
	return ok && t.UnmarshalJSON(raw) == nil
}
