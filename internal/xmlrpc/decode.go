package xmlrpc

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReadCall reads a <methodCall> document. Params is nil when the call has
// none; a call without <params> at all is accepted, as Python accepts it.
func ReadCall(r io.Reader) (Call, error) {
	p := newReader(r)
	root, err := p.root("methodCall")
	if err != nil {
		return Call{}, err
	}
	c, err := p.call(root)
	if err == nil {
		err = p.eof(root)
	}
	if err != nil {
		return Call{}, err
	}
	return c, nil
}

// ReadResponse reads a <methodResponse> document and returns its one value.
// When the document is a fault, the error is a *Fault.
func ReadResponse(r io.Reader) (any, error) {
	p := newReader(r)
	root, err := p.root("methodResponse")
	if err != nil {
		return nil, err
	}
	v, fault, err := p.response()
	if err == nil {
		err = p.end(root)
	}
	if err == nil {
		err = p.eof(root)
	}
	switch {
	case err != nil:
		return nil, err
	case fault != nil:
		return nil, fault
	}
	return v, nil
}

// call reads the rest of a <methodCall>: a <methodName>, then <params>
// unless there are none, then the end tag.
func (p *reader) call(root xml.Name) (Call, error) {
	t, err := p.next()
	if err != nil {
		return Call{}, err
	}
	st, ok := t.(xml.StartElement)
	if !ok || st.Name.Local != "methodName" {
		return Call{}, p.errorf("methodCall: no methodName, got %s", describe(t))
	}
	var c Call
	if c.Method, err = p.text(st.Name); err != nil {
		return Call{}, err
	}
	if c.Method == "" {
		return Call{}, p.errorf("methodCall: empty methodName")
	}
	if t, err = p.next(); err != nil {
		return Call{}, err
	}
	if st, ok := t.(xml.StartElement); ok && st.Name.Local == "params" {
		if c.Params, err = p.params(st.Name); err != nil {
			return Call{}, err
		}
		return c, p.end(root)
	}
	return c, p.isEnd(t, root)
}

// response reads the inside of a <methodResponse>: <params> holding one
// value, or a <fault>.
func (p *reader) response() (any, *Fault, error) {
	t, err := p.next()
	if err != nil {
		return nil, nil, err
	}
	st, ok := t.(xml.StartElement)
	switch {
	case ok && st.Name.Local == "params":
		params, err := p.params(st.Name)
		if err == nil && len(params) != 1 {
			err = p.errorf("methodResponse: %d params, want 1", len(params))
		}
		if err != nil {
			return nil, nil, err
		}
		return params[0], nil, nil
	case ok && st.Name.Local == "fault":
		f, err := p.fault(st.Name)
		return nil, f, err
	}
	return nil, nil, p.errorf("methodResponse: want <params> or <fault>, got %s", describe(t))
}

// fault reads the rest of a <fault>: a struct of faultCode and faultString.
func (p *reader) fault(name xml.Name) (*Fault, error) {
	vn, err := p.start("value")
	if err != nil {
		return nil, err
	}
	v, err := p.value(vn)
	if err != nil {
		return nil, err
	}
	if err := p.end(name); err != nil {
		return nil, err
	}
	s, ok := v.(Struct)
	if !ok {
		return nil, p.errorf("fault: %T, not a struct", v)
	}
	code, _ := s.Get("faultCode")
	msg, _ := s.Get("faultString")
	f := &Fault{}
	if f.Code, ok = code.(int); !ok {
		return nil, p.errorf("fault: faultCode is not an int")
	}
	if f.String, ok = msg.(string); !ok {
		return nil, p.errorf("fault: faultString is not a string")
	}
	return f, nil
}

// reader is a recursive-descent parser over encoding/xml's tokens. It uses
// RawToken, which leaves matching end tags to the caller: the grammar checks
// every end tag anyway, and RawToken skips the namespace work XML-RPC never
// needs.
type reader struct {
	d     *xml.Decoder
	depth int // arrays and structs open around the current token
}

func newReader(r io.Reader) *reader {
	return &reader{d: xml.NewDecoder(r)}
}

// errorf returns a one-line error that says where in the document it arose.
func (p *reader) errorf(format string, args ...any) error {
	line, _ := p.d.InputPos()
	return fmt.Errorf("xmlrpc: line %d: %s", line, fmt.Sprintf(format, args...))
}

// tokenErr turns the decoder's error into ours. The end of input is only
// ever reached here inside the document; other errors keep their identity
// (an *http.MaxBytesError, a *xml.SyntaxError) for errors.As.
func (p *reader) tokenErr(err error) error {
	if err == io.EOF {
		return p.errorf("unexpected EOF")
	}
	return fmt.Errorf("xmlrpc: %w", err)
}

// next returns the next token that carries structure: a start or end tag,
// or text that is not all whitespace. Comments, processing instructions and
// whitespace are skipped; a DOCTYPE or other directive is refused.
func (p *reader) next() (xml.Token, error) {
	for {
		t, err := p.d.RawToken()
		if err != nil {
			return nil, p.tokenErr(err)
		}
		switch t := t.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return t, nil
			}
		case xml.Comment, xml.ProcInst:
		case xml.Directive:
			return nil, p.errorf("unexpected %s", describe(t))
		default:
			return t, nil
		}
	}
}

// root reads up to the start tag of the document's element, which must be
// called local.
func (p *reader) root(local string) (xml.Name, error) {
	t, err := p.next()
	if err != nil {
		return xml.Name{}, err
	}
	if st, ok := t.(xml.StartElement); ok && st.Name.Local == local {
		return st.Name, nil
	}
	return xml.Name{}, p.errorf("want <%s>, got %s", local, describe(t))
}

// eof reads what follows the root element's end tag, which may be
// whitespace, comments and processing instructions, and nothing else.
func (p *reader) eof(root xml.Name) error {
	for {
		t, err := p.d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.tokenErr(err)
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if !isSpace(t) {
				return p.errorf("%s after </%s>", describe(t), root.Local)
			}
		default:
			return p.errorf("%s after </%s>", describe(t), root.Local)
		}
	}
}

// start reads a start tag called local (in any namespace, as Python ignores
// prefixes) and returns its name, for the matching end tag.
func (p *reader) start(local string) (xml.Name, error) {
	t, err := p.next()
	if err != nil {
		return xml.Name{}, err
	}
	if st, ok := t.(xml.StartElement); ok && st.Name.Local == local {
		return st.Name, nil
	}
	return xml.Name{}, p.errorf("want <%s>, got %s", local, describe(t))
}

// end reads the end tag of the element called name.
func (p *reader) end(name xml.Name) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	return p.isEnd(t, name)
}

func (p *reader) isEnd(t xml.Token, name xml.Name) error {
	if et, ok := t.(xml.EndElement); ok && et.Name == name {
		return nil
	}
	return p.errorf("want </%s>, got %s", qname(name), describe(t))
}

// params reads the rest of a <params>: the value of each <param>.
func (p *reader) params(name xml.Name) ([]any, error) {
	var params []any
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		st, ok := t.(xml.StartElement)
		if !ok || st.Name.Local != "param" {
			return params, p.isEnd(t, name)
		}
		vn, err := p.start("value")
		if err != nil {
			return nil, err
		}
		v, err := p.value(vn)
		if err != nil {
			return nil, err
		}
		if err := p.end(st.Name); err != nil {
			return nil, err
		}
		params = append(params, v)
	}
}

// chars reads the character data inside the element called name. It stops
// at that element's end tag, or at the start tag of a child, whose name it
// returns (Local is never empty in a tag read). Text split by comments is
// joined, as expat joins it.
func (p *reader) chars(name xml.Name) (string, xml.Name, error) {
	// A builder, not +=, so that text cut into many pieces by comments or
	// CDATA sections costs linear time, not quadratic.
	var b strings.Builder
	for {
		t, err := p.d.RawToken()
		if err != nil {
			return "", xml.Name{}, p.tokenErr(err)
		}
		switch t := t.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.Comment, xml.ProcInst:
		case xml.Directive:
			return "", xml.Name{}, p.errorf("unexpected %s", describe(t))
		case xml.StartElement:
			return b.String(), t.Name, nil
		case xml.EndElement:
			return b.String(), xml.Name{}, p.isEnd(t, name)
		}
	}
}

// text reads the character data of an element that may not have children.
func (p *reader) text(name xml.Name) (string, error) {
	s, child, err := p.chars(name)
	if err == nil && child.Local != "" {
		err = p.errorf("<%s> inside <%s>", qname(child), qname(name))
	}
	return s, err
}

// value reads the rest of a <value> element. Text alone is a string, as the
// spec says; otherwise the value is its one typed child.
func (p *reader) value(name xml.Name) (any, error) {
	s, child, err := p.chars(name)
	if err != nil || child.Local == "" {
		return s, err
	}
	if !isSpace(s) {
		return nil, p.errorf("text %s beside <%s> in <value>", clip(s), qname(child))
	}
	v, err := p.typed(child)
	if err != nil {
		return nil, err
	}
	return v, p.end(name)
}

// typed reads the rest of the element that types a value.
func (p *reader) typed(name xml.Name) (any, error) {
	switch name.Local {
	case "array":
		return p.array(name)
	case "struct":
		return p.structure(name)
	}
	s, err := p.text(name)
	if err != nil {
		return nil, err
	}
	switch name.Local {
	case "string", "dateTime.iso8601":
		return s, nil
	case "int", "i4", "i8", "i1", "i2", "biginteger":
		n, err := strconv.ParseInt(strings.Trim(s, xmlSpace), 10, 0)
		if err != nil {
			return nil, p.errorf("bad <%s> %s", name.Local, clip(s))
		}
		return int(n), nil
	case "boolean":
		// Python accepts exactly these two, without whitespace.
		if s == "0" || s == "1" {
			return s == "1", nil
		}
		return nil, p.errorf("bad <boolean> %s", clip(s))
	case "double", "float":
		f, err := strconv.ParseFloat(strings.Trim(s, xmlSpace), 64)
		if err != nil {
			return nil, p.errorf("bad <%s> %s", name.Local, clip(s))
		}
		return f, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(stripSpace(s))
		if err != nil {
			return nil, p.errorf("bad <base64>: %v", err)
		}
		return b, nil
	case "nil":
		if !isSpace(s) {
			return nil, p.errorf("text %s in <nil/>", clip(s))
		}
		return nil, nil
	}
	return nil, p.errorf("unknown type <%s>", qname(name))
}

// array reads the rest of an <array>: one <data> of values.
func (p *reader) array(name xml.Name) ([]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	data, err := p.start("data")
	if err != nil {
		return nil, err
	}
	vals := []any{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		st, ok := t.(xml.StartElement)
		if !ok || st.Name.Local != "value" {
			if err := p.isEnd(t, data); err != nil {
				return nil, err
			}
			return vals, p.end(name)
		}
		v, err := p.value(st.Name)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
}

// structure reads the rest of a <struct>: its members, each a <name> then
// a <value>.
func (p *reader) structure(name xml.Name) (Struct, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	s := Struct{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		st, ok := t.(xml.StartElement)
		if !ok || st.Name.Local != "member" {
			return s, p.isEnd(t, name)
		}
		m, err := p.member(st.Name)
		if err != nil {
			return nil, err
		}
		s = append(s, m)
	}
}

func (p *reader) member(name xml.Name) (Member, error) {
	nn, err := p.start("name")
	if err != nil {
		return Member{}, err
	}
	key, err := p.text(nn)
	if err != nil {
		return Member{}, err
	}
	vn, err := p.start("value")
	if err != nil {
		return Member{}, err
	}
	v, err := p.value(vn)
	if err != nil {
		return Member{}, err
	}
	return Member{key, v}, p.end(name)
}

func (p *reader) enter() error {
	if p.depth >= MaxDepth {
		return p.errorf("arrays and structs nested deeper than %d", MaxDepth)
	}
	p.depth++
	return nil
}

func (p *reader) leave() { p.depth-- }

// xmlSpace is the whitespace of XML 1.0.
const xmlSpace = " \t\r\n"

func isSpace[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(xmlSpace, rune(s[i])) {
			return false
		}
	}
	return true
}

// stripSpace drops the whitespace Python puts into base64, a newline every
// 76 characters.
func stripSpace(s string) string {
	if !strings.ContainsAny(s, xmlSpace) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(xmlSpace, r) {
			return -1
		}
		return r
	}, s)
}

// describe names a token for an error message.
func describe(t xml.Token) string {
	switch t := t.(type) {
	case xml.StartElement:
		return "<" + qname(t.Name) + ">"
	case xml.EndElement:
		return "</" + qname(t.Name) + ">"
	case xml.CharData:
		return "text " + clip(string(t))
	case xml.Directive:
		return "<!...> directive"
	}
	return fmt.Sprintf("%T", t)
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// clip quotes s for an error message, cut short so that the message stays
// one readable line whatever a client sent.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
