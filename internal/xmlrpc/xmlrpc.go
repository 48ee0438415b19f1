// Package xmlrpc reads and writes XML-RPC documents (http://xmlrpc.com/spec.md)
// as Python's xmlrpc.client writes and reads them, for both ends of
// supervisord's API: a server answering supervisorctl at /RPC2, and a client
// calling supervisord.
//
// Values map to Go types as follows:
//
//	XML-RPC                  read as   written from
//	<string>, untyped text   string    string
//	<int> <i4> <i8>          int       int, int64
//	<boolean>                bool      bool
//	<double>                 float64   float64
//	<base64>                 []byte    []byte
//	<dateTime.iso8601>       string    - (read as the text sent; never written)
//	<array>                  []any     []any, []string, []Struct
//	<struct>                 Struct    Struct, map[string]any (keys sorted)
//	<nil/>                   nil       nil (Python's allow_none extension)
//
// Writing any other type is an error, and nothing is written. An int outside
// int32 is written as <i8>, which Python reads but will not write. Strings
// are written so that any XML 1.0 reader takes them: characters XML cannot
// carry become U+FFFD (Python writes them raw, and then cannot read them).
//
// As Python does, the reader also takes <i1>, <i2>, <biginteger> and
// <float>, ignores attributes, and ignores a namespace prefix on a tag
// (Apache's <ex:nil/>).
//
// The reader bounds its work: arrays and structs nest at most MaxDepth deep,
// and a document is one root element with nothing but whitespace, comments
// and processing instructions around it. Bounding the bytes read is the
// caller's job (http.MaxBytesReader); errors from the reader are wrapped, so
// errors.As still finds them.
package xmlrpc

import "fmt"

// MaxDepth is how deep arrays and structs may nest, in what is read and in
// what is written: deep enough for any real API, shallow enough that a
// hostile document cannot exhaust the stack.
const MaxDepth = 64

// Member is one member of a Struct.
type Member struct {
	Name  string
	Value any
}

// Struct is an XML-RPC struct. It is a slice, not a map, so members are
// written in the order given and read in the order sent.
type Struct []Member

// Get returns the value of the member called name. If the struct has several
// members of that name, the last one wins, as in the dict Python builds.
func (s Struct) Get(name string) (any, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].Name == name {
			return s[i].Value, true
		}
	}
	return nil, false
}

// Call is a method call, as read from a <methodCall>.
type Call struct {
	Method string
	Params []any
}

// Fault is an XML-RPC fault: the error ReadResponse returns when the server
// answered with one.
type Fault struct {
	Code   int
	String string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("fault %d: %s", f.Code, f.String)
}
