package xmlrpc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
)

// header starts every document written; Python writes the same declaration.
const header = `<?xml version="1.0"?>` + "\n"

// WriteCall writes a <methodCall> of method with params. It writes nothing
// if a param cannot be encoded.
func WriteCall(w io.Writer, method string, params ...any) error {
	if method == "" {
		return errors.New("xmlrpc: empty method name")
	}
	for _, p := range params {
		if err := check(p, 0); err != nil {
			return err
		}
	}
	e := newEncoder(w)
	e.s(header + "<methodCall><methodName>")
	e.text(method)
	e.s("</methodName><params>")
	for _, p := range params {
		e.s("<param>")
		e.value(p)
		e.s("</param>")
	}
	e.s("</params></methodCall>\n")
	return e.flush()
}

// WriteResponse writes a <methodResponse> carrying v. It writes nothing if v
// cannot be encoded, so the caller can still answer with a fault.
func WriteResponse(w io.Writer, v any) error {
	if err := check(v, 0); err != nil {
		return err
	}
	e := newEncoder(w)
	e.s(header + "<methodResponse><params><param>")
	e.value(v)
	e.s("</param></params></methodResponse>\n")
	return e.flush()
}

// WriteFault writes a <methodResponse> carrying a fault: a struct of
// faultCode and faultString, in that order, as Python writes it.
func WriteFault(w io.Writer, code int, msg string) error {
	e := newEncoder(w)
	e.s(header + "<methodResponse><fault>")
	e.value(Struct{{"faultCode", code}, {"faultString", msg}})
	e.s("</fault></methodResponse>\n")
	return e.flush()
}

// check walks v as value will write it, so that a type XML-RPC cannot carry,
// or nesting deeper than MaxDepth (a slice that contains itself), is found
// before anything is written. depth is the arrays and structs around v.
func check(v any, depth int) error {
	var err error
	switch v := v.(type) {
	case nil, string, int, int64, bool, float64, []byte:
		return nil
	case []string:
		return deeper(depth)
	case []any:
		err = deeper(depth)
		for i := 0; i < len(v) && err == nil; i++ {
			err = check(v[i], depth+1)
		}
	case []Struct:
		err = deeper(depth)
		for i := 0; i < len(v) && err == nil; i++ {
			err = checkStruct(v[i], depth+1)
		}
	case Struct:
		err = checkStruct(v, depth)
	case map[string]any:
		err = deeper(depth)
		for _, x := range v {
			if err == nil {
				err = check(x, depth+1)
			}
		}
	default:
		err = fmt.Errorf("xmlrpc: cannot encode %T", v)
	}
	return err
}

func checkStruct(s Struct, depth int) error {
	err := deeper(depth)
	for i := 0; i < len(s) && err == nil; i++ {
		err = check(s[i].Value, depth+1)
	}
	return err
}

func deeper(depth int) error {
	if depth >= MaxDepth {
		return fmt.Errorf("xmlrpc: arrays and structs nested deeper than %d", MaxDepth)
	}
	return nil
}

// encoder writes a document in chunks of about chunkSize bytes. It
// appends to a buffer, which costs less per tag than a bufio.Writer, but it
// never holds the whole document: a getAllProcessInfo answer for a thousand
// processes is over a megabyte, and building that whole in fresh memory took
// ten times as long as writing it in chunks.
type encoder struct {
	w   io.Writer
	b   []byte
	bp  *[]byte // where b came from in the pool
	err error   // the first error from w; later chunks are dropped
}

const chunkSize = 32 << 10

// bufs recycles the encoders' buffers.
var bufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 2*chunkSize)
	return &b
}}

func newEncoder(w io.Writer) *encoder {
	bp := bufs.Get().(*[]byte)
	return &encoder{w: w, b: (*bp)[:0], bp: bp}
}

// spill writes the buffer out once it holds a chunk.
func (e *encoder) spill() {
	if len(e.b) >= chunkSize {
		e.write()
	}
}

func (e *encoder) write() {
	if e.err == nil {
		_, e.err = e.w.Write(e.b)
	}
	e.b = e.b[:0]
}

// flush writes what is left and returns the buffer to the pool, unless one
// huge string grew it.
func (e *encoder) flush() error {
	e.write()
	if cap(e.b) <= 4*chunkSize {
		*e.bp = e.b
		bufs.Put(e.bp)
	}
	return e.err
}

// s writes markup, which needs no escaping.
func (e *encoder) s(markup string) {
	e.b = append(e.b, markup...)
}

// value writes v, which check has passed, as a <value> element.
func (e *encoder) value(v any) {
	defer e.spill()
	switch v := v.(type) {
	case nil:
		e.s("<value><nil/></value>")
	case string:
		e.s("<value><string>")
		e.text(v)
		e.s("</string></value>")
	case int:
		e.int(int64(v))
	case int64:
		e.int(v)
	case bool:
		if v {
			e.s("<value><boolean>1</boolean></value>")
		} else {
			e.s("<value><boolean>0</boolean></value>")
		}
	case float64:
		e.s("<value><double>")
		e.b = appendDouble(e.b, v)
		e.s("</double></value>")
	case []byte:
		e.s("<value><base64>")
		e.b = base64.StdEncoding.AppendEncode(e.b, v)
		e.s("</base64></value>")
	case []any:
		e.s("<value><array><data>")
		for _, x := range v {
			e.value(x)
		}
		e.s("</data></array></value>")
	case []string:
		e.s("<value><array><data>")
		for _, x := range v {
			e.value(x)
		}
		e.s("</data></array></value>")
	case []Struct:
		e.s("<value><array><data>")
		for _, x := range v {
			e.structure(x)
		}
		e.s("</data></array></value>")
	case Struct:
		e.structure(v)
	case map[string]any:
		e.structure(sortedStruct(v))
	}
}

// int writes <int> when n fits in 32 bits, as the spec demands, and Python's
// <i8> extension otherwise (Python reads it, but will not write it).
func (e *encoder) int(n int64) {
	start, end := "<value><i8>", "</i8></value>"
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		start, end = "<value><int>", "</int></value>"
	}
	e.s(start)
	e.b = strconv.AppendInt(e.b, n, 10)
	e.s(end)
}

// appendDouble writes f in decimal notation, as the spec asks, unless that
// would take dozens of digits; Python itself writes exponents and reads
// both. NaN and infinities, which the spec cannot carry, are written as Go
// spells them; Python reads those too.
func appendDouble(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

func (e *encoder) structure(s Struct) {
	e.s("<value><struct>")
	for _, m := range s {
		e.s("<member><name>")
		e.text(m.Name)
		e.s("</name>")
		e.value(m.Value)
		e.s("</member>")
	}
	e.s("</struct></value>")
}

func sortedStruct(m map[string]any) Struct {
	s := make(Struct, 0, len(m))
	for k, v := range m {
		s = append(s, Member{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

// plain marks the ASCII bytes text copies as they are: all printable ones
// but &, < and >, and tab and newline. A table, because text sees every byte
// of every string written.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '&' && c != '<' && c != '>'
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// text writes s as XML character data. A carriage return is written as
// &#xD; because a reader turns a raw one into a newline. What XML 1.0 cannot
// carry at all, even as a character reference (C0 controls other than tab,
// newline and return; U+FFFE; U+FFFF; bytes that are not UTF-8), becomes
// U+FFFD: Python writes such characters raw, and then cannot read its own
// document.
func (e *encoder) text(s string) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && plain[c] {
			i++
			continue
		}
		var esc string
		size := 1
		switch {
		case c >= utf8.RuneSelf:
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size != 1) && r != 0xFFFE && r != 0xFFFF {
				i += size
				continue
			}
			esc = "\uFFFD"
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case c < ' ':
			esc = "\uFFFD"
		}
		e.b = append(e.b, s[start:i]...)
		e.b = append(e.b, esc...)
		i += size
		start = i
	}
	e.b = append(e.b, s[start:]...)
}
