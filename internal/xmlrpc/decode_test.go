package xmlrpc

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// What Python's xmlrpc.client sends, byte for byte (Python 3.11, x.dumps).
const (
	pyGetAllProcessInfo = "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getAllProcessInfo</methodName>\n<params>\n</params>\n</methodCall>\n"
	pyStartProcess      = "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.startProcess</methodName>\n<params>\n<param>\n<value><string>web</string></value>\n</param>\n<param>\n<value><boolean>1</boolean></value>\n</param>\n</params>\n</methodCall>\n"
	pyReadLog           = "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.readProcessStdoutLog</methodName>\n<params>\n<param>\n<value><string>web</string></value>\n</param>\n<param>\n<value><int>-1600</int></value>\n</param>\n<param>\n<value><int>0</int></value>\n</param>\n</params>\n</methodCall>\n"
	pyStructArray       = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n<value><struct>\n<member>\n<name>name</name>\n<value><string>a</string></value>\n</member>\n<member>\n<name>pid</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n"
	pyFault             = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>BAD_NAME: x</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
)

// response wraps one <value> element into a methodResponse, laid out as
// Python lays it out.
func response(value string) string {
	return "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n" + value + "\n</param>\n</params>\n</methodResponse>\n"
}

func TestReadCallPython(t *testing.T) {
	tests := []struct {
		doc  string
		want Call
	}{
		{pyGetAllProcessInfo, Call{Method: "supervisor.getAllProcessInfo"}},
		{pyStartProcess, Call{"supervisor.startProcess", []any{"web", true}}},
		{pyReadLog, Call{"supervisor.readProcessStdoutLog", []any{"web", -1600, 0}}},
		{"<methodCall><methodName>m</methodName></methodCall>", Call{Method: "m"}},
		{"<!-- c --><methodCall><methodName> a.b </methodName><params/></methodCall><!-- c -->\n", Call{Method: " a.b "}},
	}
	for _, tt := range tests {
		got, err := ReadCall(strings.NewReader(tt.doc))
		if err != nil {
			t.Errorf("ReadCall(%q): %v", tt.doc, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ReadCall(%q) = %#v, want %#v", tt.doc, got, tt.want)
		}
	}
}

func TestReadResponsePython(t *testing.T) {
	v, err := ReadResponse(strings.NewReader(pyStructArray))
	want := []any{Struct{{"name", "a"}, {"pid", 1}}}
	if err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v, %v; want %#v", v, err, want)
	}
	_, err = ReadResponse(strings.NewReader(pyFault))
	var f *Fault
	if !errors.As(err, &f) || *f != (Fault{10, "BAD_NAME: x"}) {
		t.Fatalf("got %v, want the fault", err)
	}
	if got := f.Error(); got != "fault 10: BAD_NAME: x" {
		t.Errorf("Error() = %q", got)
	}
}

func TestReadValues(t *testing.T) {
	tests := []struct {
		value string
		want  any
	}{
		{"<value>a</value>", "a"},
		{"<value>  a b\n</value>", "  a b\n"},
		{"<value></value>", ""},
		{"<value/>", ""},
		{"<value><string/></value>", ""},
		{"<value><string> x </string></value>", " x "},
		{"<value><string>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;é</string></value>", `&<>"'ABé`},
		{"<value><string>a<!-- c -->b<?pi x?>c</string></value>", "abc"},
		{"<value><string><![CDATA[<x>&amp;]]></string></value>", "<x>&amp;"},
		{"<value><string>&#xD;|\r\n|\r|</string></value>", "\r|\n|\n|"},
		{"<value>\n  <string>s</string>\n</value>", "s"},
		{"<value><!-- c --><string>s</string><!-- c --></value>", "s"},
		{`<value type="x"><string lang="en">s</string></value>`, "s"},
		{"<value><int>-1600</int></value>", -1600},
		{"<value><int> +5\n</int></value>", 5},
		{"<value><i4>7</i4></value>", 7},
		{"<value><i8>9999999999</i8></value>", 9999999999},
		{"<value><i1>1</i1></value>", 1},
		{"<value><i2>2</i2></value>", 2},
		{"<value><biginteger>-9223372036854775808</biginteger></value>", math.MinInt64},
		{"<value><ex:i8>5</ex:i8></value>", 5},
		{"<value><boolean>1</boolean></value>", true},
		{"<value><boolean>0</boolean></value>", false},
		{"<value><double>1.5</double></value>", 1.5},
		{"<value><double> -0.25 </double></value>", -0.25},
		{"<value><double>1e+300</double></value>", 1e300},
		{"<value><double>2</double></value>", 2.0},
		{"<value><double>-inf</double></value>", math.Inf(-1)},
		{"<value><float>0.5</float></value>", 0.5},
		{"<value><base64>AP8=</base64></value>", []byte{0, 0xff}},
		{"<value><base64>\nAP8A\r\n/w==\n</base64></value>", []byte{0, 0xff, 0, 0xff}},
		{"<value><base64></base64></value>", []byte{}},
		{"<value><dateTime.iso8601>20261206T18:50:27</dateTime.iso8601></value>", "20261206T18:50:27"},
		{"<value><nil/></value>", nil},
		{"<value><ex:nil/></value>", nil},
		{"<value><nil> </nil></value>", nil},
		{"<value><array><data/></array></value>", []any{}},
		{"<value><array><data>\n<value>a</value>\n<value><int>1</int></value>\n</data></array></value>", []any{"a", 1}},
		{"<value><struct/></value>", Struct{}},
		{"<value><struct>\n<member>\n<name>b</name>\n<value><nil/></value></member>\n<member><name> a </name><value/></member>\n</struct></value>", Struct{{"b", nil}, {" a ", ""}}},
		{"<value><array><data><value><struct><member><name>x</name><value><array><data><value><boolean>1</boolean></value></data></array></value></member></struct></value></data></array></value>",
			[]any{Struct{{"x", []any{true}}}}},
	}
	for _, tt := range tests {
		got, err := ReadResponse(strings.NewReader(response(tt.value)))
		if err != nil {
			t.Errorf("%s: %v", tt.value, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.value, got, tt.want)
		}
	}
}

func TestReadNaN(t *testing.T) {
	v, err := ReadResponse(strings.NewReader(response("<value><double>nan</double></value>")))
	if f, ok := v.(float64); err != nil || !ok || !math.IsNaN(f) {
		t.Errorf("got %v, %v; want NaN", v, err)
	}
}

func TestReadCallErrors(t *testing.T) {
	const call = "<methodCall><methodName>m</methodName>"
	tests := []struct {
		doc, want string
	}{
		{"", "xmlrpc: line 1: unexpected EOF"},
		{"  \n", "xmlrpc: line 2: unexpected EOF"},
		{"<methodResponse/>", "want <methodCall>, got <methodResponse>"},
		{"junk", `want <methodCall>, got text "junk"`},
		{"<methodCall><params></params></methodCall>", "xmlrpc: line 1: methodCall: no methodName, got <params>"},
		{"<methodCall></methodCall>", "methodCall: no methodName, got </methodCall>"},
		{"<methodCall>m</methodCall>", `methodCall: no methodName, got text "m"`},
		{"<methodCall><methodName></methodName></methodCall>", "methodCall: empty methodName"},
		{"<methodCall><methodName>m<b/></methodName></methodCall>", "<b> inside <methodName>"},
		{"<methodCall><methodName>m</name></methodCall>", "want </methodName>, got </name>"},
		{call, "unexpected EOF"},
		{call + "<params>", "unexpected EOF"},
		{call + "<params><param>", "unexpected EOF"},
		{call + "<params><param><value><string>abc", "unexpected EOF"},
		{call + "</methodCall><extra/>", "xmlrpc: line 1: <extra> after </methodCall>"},
		{call + "</methodCall><methodCall/>", "<methodCall> after </methodCall>"},
		{call + "</methodCall>junk", `text "junk" after </methodCall>`},
		{call + "</methodCall></methodCall>", "</methodCall> after </methodCall>"},
		{call + "<params/><params/></methodCall>", "want </methodCall>, got <params>"},
		{call + "<foo/></methodCall>", "want </methodCall>, got <foo>"},
		{call + "<params><param></param></params></methodCall>", "want <value>, got </param>"},
		{call + "<params><value>1</value></params></methodCall>", "want </params>, got <value>"},
		{call + "<params><param><value>1</value><value>2</value></param></params></methodCall>", "want </param>, got <value>"},
		{call + "<params>x</params></methodCall>", `want </params>, got text "x"`},
		{"<!DOCTYPE methodCall>" + call + "</methodCall>", "unexpected <!...> directive"},
		{call + "<params><param><value>&foo;</value></param></params></methodCall>", "xmlrpc: XML syntax error on line 1: invalid character entity &foo;"},
		{call + "<params><param><value>\x01</value></param></params></methodCall>", "illegal character code U+0001"},
		{call + "<params><param><value>&#1;</value></param></params></methodCall>", "illegal character code U+0001"},
		{call + "<params><param><value>\xff</value></param></params></methodCall>", "invalid UTF-8"},
		{`<?xml version="1.0" encoding="latin1"?>` + call + "</methodCall>", "CharsetReader"},
	}
	for _, tt := range tests {
		_, err := ReadCall(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadCall(%q): %v, want %s", tt.doc, err, tt.want)
		}
	}
}

func TestReadValueErrors(t *testing.T) {
	tests := []struct {
		value, want string
	}{
		{"<value><foo>1</foo></value>", "unknown type <foo>"},
		{"<value><value>1</value></value>", "unknown type <value>"},
		{"<value>x<int>1</int></value>", `text "x" beside <int> in <value>`},
		{"<value><int>1</int>x</value>", `want </value>, got text "x"`},
		{"<value><int>1</int><int>2</int></value>", "want </value>, got <int>"},
		{"<value><int>1</i4></value>", "want </int>, got </i4>"},
		{"<value><int>1</int></val></value>", "want </value>, got </val>"},
		{"<value><string><b>x</b></string></value>", "<b> inside <string>"},
		{"<value><int>x</int></value>", `bad <int> "x"`},
		{"<value><int>1.5</int></value>", `bad <int> "1.5"`},
		{"<value><i4></i4></value>", `bad <i4> ""`},
		{"<value><i8>99999999999999999999</i8></value>", `bad <i8> "99999999999999999999"`},
		{"<value><boolean>2</boolean></value>", `bad <boolean> "2"`},
		{"<value><boolean> 1</boolean></value>", `bad <boolean> " 1"`},
		{"<value><boolean>true</boolean></value>", `bad <boolean> "true"`},
		{"<value><double>1,5</double></value>", `bad <double> "1,5"`},
		{"<value><double/></value>", `bad <double> ""`},
		{"<value><base64>!!</base64></value>", "bad <base64>"},
		{"<value><base64>AP8</base64></value>", "bad <base64>"},
		{"<value><nil>x</nil></value>", `text "x" in <nil/>`},
		{"<value><array><value>1</value></array></value>", "want <data>, got <value>"},
		{"<value><array><data><int>1</int></data></array></value>", "want </data>, got <int>"},
		{"<value><array><data></data><data></data></array></value>", "want </array>, got <data>"},
		{"<value><struct><name>a</name></struct></value>", "want </struct>, got <name>"},
		{"<value><struct><member><value>1</value></member></struct></value>", "want <name>, got <value>"},
		{"<value><struct><member><name>a</name></member></struct></value>", "want <value>, got </member>"},
		{"<value><struct><member><name>a</name><value/><value/></member></struct></value>", "want </member>, got <value>"},
		{"<value><struct>x</struct></value>", `want </struct>, got text "x"`},
		{"<value><string>" + strings.Repeat("x", 100) + "</string><int/></value>", `want </value>, got <int>`},
		{"<value>" + strings.Repeat("y", 100) + "<int/></value>", `text "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"... beside <int>`},
	}
	for _, tt := range tests {
		_, err := ReadResponse(strings.NewReader(response(tt.value)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %s", tt.value, err, tt.want)
		}
	}
}

func TestReadResponseErrors(t *testing.T) {
	fault := func(members string) string {
		return "<methodResponse><fault><value><struct>" + members + "</struct></value></fault></methodResponse>"
	}
	tests := []struct {
		doc, want string
	}{
		{"<methodCall/>", "want <methodResponse>, got <methodCall>"},
		{"<methodResponse></methodResponse>", "methodResponse: want <params> or <fault>, got </methodResponse>"},
		{"<methodResponse><params></params></methodResponse>", "methodResponse: 0 params, want 1"},
		{"<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>", "methodResponse: 2 params, want 1"},
		{"<methodResponse><params><param><value/></param></params><fault/></methodResponse>", "want </methodResponse>, got <fault>"},
		{"<methodResponse><params><param><value/></param></params></methodResponse><x/>", "<x> after </methodResponse>"},
		{"<methodResponse><fault></fault></methodResponse>", "want <value>, got </fault>"},
		{"<methodResponse><fault><value>1</value><value>2</value></fault></methodResponse>", "want </fault>, got <value>"},
		{"<methodResponse><fault><value>oops</value></fault></methodResponse>", "fault: string, not a struct"},
		{fault("<member><name>faultString</name><value>x</value></member>"), "fault: faultCode is not an int"},
		{fault("<member><name>faultCode</name><value>1</value></member>"), "fault: faultCode is not an int"},
		{fault("<member><name>faultCode</name><value><int>1</int></value></member>"), "fault: faultString is not a string"},
		{fault("<member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value><int>2</int></value></member>"), "fault: faultString is not a string"},
	}
	for _, tt := range tests {
		v, err := ReadResponse(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadResponse(%q) = %v, %v; want error %s", tt.doc, v, err, tt.want)
		}
		var f *Fault
		if errors.As(err, &f) {
			t.Errorf("ReadResponse(%q): a *Fault for a malformed document", tt.doc)
		}
	}
}

// nested returns leaf, a <value>, inside n arrays and structs, alternately.
func nested(n int, leaf string) string {
	v := leaf
	for i := range n {
		if i%2 == 0 {
			v = "<value><array><data>" + v + "</data></array></value>"
		} else {
			v = "<value><struct><member><name>m</name>" + v + "</member></struct></value>"
		}
	}
	return v
}

func TestReadDepthLimit(t *testing.T) {
	v, err := ReadResponse(strings.NewReader(response(nested(MaxDepth, "<value>leaf</value>"))))
	if err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	for levels := 0; ; levels++ {
		switch c := v.(type) {
		case []any:
			v = c[0]
			continue
		case Struct:
			v = c[0].Value
			continue
		}
		if v != "leaf" || levels != MaxDepth {
			t.Errorf("found %#v inside %d levels, want leaf inside %d", v, levels, MaxDepth)
		}
		break
	}

	_, err = ReadResponse(strings.NewReader(response(nested(MaxDepth+1, "<value>leaf</value>"))))
	if err == nil || !strings.Contains(err.Error(), "arrays and structs nested deeper than 64") {
		t.Errorf("%d levels: %v", MaxDepth+1, err)
	}
	// A hostile document: a million arrays opened, and never closed.
	huge := "<methodCall><methodName>m</methodName><params><param>" + strings.Repeat("<value><array><data>", 1_000_000)
	_, err = ReadCall(strings.NewReader(huge))
	if err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("a million levels: %v", err)
	}
}

func TestReadKeepsReaderErrors(t *testing.T) {
	body := http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(pyReadLog)), 100)
	_, err := ReadCall(body)
	var tooBig *http.MaxBytesError
	if !errors.As(err, &tooBig) {
		t.Errorf("got %v, want an *http.MaxBytesError", err)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is not one line", err)
	}
}

func TestStructGet(t *testing.T) {
	s := Struct{{"a", 1}, {"b", 2}, {"a", 3}}
	if v, ok := s.Get("a"); !ok || v != 3 {
		t.Errorf(`Get("a") = %v, %v; want the last, 3`, v, ok)
	}
	if v, ok := s.Get("b"); !ok || v != 2 {
		t.Errorf(`Get("b") = %v, %v`, v, ok)
	}
	if v, ok := s.Get("c"); ok || v != nil {
		t.Errorf(`Get("c") = %v, %v`, v, ok)
	}
	if _, ok := Struct(nil).Get("a"); ok {
		t.Error("nil Struct has a member")
	}
}

// everyType is one value of each type the encoder takes, and what reading
// it back gives.
var everyType = []struct{ in, out any }{
	{"a&<>\"'\t\n\r é", "a&<>\"'\t\n\r é"},
	{"ctl\x01\xff", "ctl\uFFFD\uFFFD"},
	{-1600, -1600},
	{int64(1) << 40, 1 << 40},
	{true, true},
	{false, false},
	{1.5, 1.5},
	{1e-300, 1e-300},
	{[]byte{0, 0xff, 'x'}, []byte{0, 0xff, 'x'}},
	{[]byte(nil), []byte{}},
	{nil, nil},
	{[]any{}, []any{}},
	{[]any{1, "x", []any{nil}}, []any{1, "x", []any{nil}}},
	{[]string{"a", "b"}, []any{"a", "b"}},
	{[]Struct{{{"k", 1}}}, []any{Struct{{"k", 1}}}},
	{Struct(nil), Struct{}},
	{Struct{{"z", 1}, {"a", Struct{{"n", nil}}}}, Struct{{"z", 1}, {"a", Struct{{"n", nil}}}}},
	{map[string]any{"z": 1, "a": []string{}}, Struct{{"a", []any{}}, {"z", 1}}},
}

func TestRoundTripResponse(t *testing.T) {
	for _, tt := range everyType {
		var b bytes.Buffer
		if err := WriteResponse(&b, tt.in); err != nil {
			t.Fatalf("WriteResponse(%#v): %v", tt.in, err)
		}
		got, err := ReadResponse(&b)
		if err != nil {
			t.Errorf("%#v: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.out) {
			t.Errorf("%#v: read back %#v, want %#v", tt.in, got, tt.out)
		}
	}
}

func TestRoundTripCall(t *testing.T) {
	var in, want []any
	for _, tt := range everyType {
		in = append(in, tt.in)
		want = append(want, tt.out)
	}
	var b bytes.Buffer
	if err := WriteCall(&b, "supervisor.m&<", in...); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCall(&b)
	if err != nil {
		t.Fatal(err)
	}
	if w := (Call{"supervisor.m&<", want}); !reflect.DeepEqual(got, w) {
		t.Errorf("read back %#v\nwant %#v", got, w)
	}

	b.Reset()
	WriteCall(&b, "m")
	if got, err := ReadCall(&b); err != nil || !reflect.DeepEqual(got, Call{Method: "m"}) {
		t.Errorf("no params: %#v, %v", got, err)
	}
}

func TestRoundTripFault(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFault(&b, -1, "a<b>\x00"); err != nil {
		t.Fatal(err)
	}
	v, err := ReadResponse(&b)
	var f *Fault
	if v != nil || !errors.As(err, &f) || *f != (Fault{-1, "a<b>\uFFFD"}) {
		t.Errorf("got %v, %v", v, err)
	}
}

func BenchmarkReadResponse(b *testing.B) {
	var doc bytes.Buffer
	if err := WriteResponse(&doc, processInfo(1000)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(doc.Len()))
	for b.Loop() {
		if _, err := ReadResponse(bytes.NewReader(doc.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadPiecesLinear reads text cut into many pieces by comments and
// CDATA sections, which must cost linear time and memory: appending each
// piece to a string would copy gigabytes here.
func TestReadPiecesLinear(t *testing.T) {
	const pieces = 20_000
	doc := response("<value><string>" + strings.Repeat("ab<!---->c<![CDATA[d]]>", pieces) + "</string></value>")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v, err := ReadResponse(strings.NewReader(doc))
	runtime.ReadMemStats(&after)
	if err != nil || v != strings.Repeat("abcd", pieces) {
		t.Fatalf("read %.40q..., %v", v, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 100*uint64(len(doc)) {
		t.Errorf("allocated %d bytes to read %d", n, len(doc))
	}
}
