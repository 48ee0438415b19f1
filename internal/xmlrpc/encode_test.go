package xmlrpc

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// encodeValue returns the <value> element WriteResponse writes for v.
func encodeValue(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteResponse(&b, v); err != nil {
		t.Fatalf("WriteResponse(%#v): %v", v, err)
	}
	s := strings.TrimPrefix(b.String(), header+"<methodResponse><params><param>")
	return strings.TrimSuffix(s, "</param></params></methodResponse>\n")
}

func TestEncodeValues(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"web", "<value><string>web</string></value>"},
		{"", "<value><string></string></value>"},
		{0, "<value><int>0</int></value>"},
		{-1600, "<value><int>-1600</int></value>"},
		{math.MaxInt32, "<value><int>2147483647</int></value>"},
		{math.MinInt32, "<value><int>-2147483648</int></value>"},
		{math.MaxInt32 + 1, "<value><i8>2147483648</i8></value>"},
		{int64(math.MinInt64), "<value><i8>-9223372036854775808</i8></value>"},
		{int64(7), "<value><int>7</int></value>"},
		{true, "<value><boolean>1</boolean></value>"},
		{false, "<value><boolean>0</boolean></value>"},
		{1.5, "<value><double>1.5</double></value>"},
		{-0.25, "<value><double>-0.25</double></value>"},
		{1e6, "<value><double>1000000</double></value>"},
		{1e300, "<value><double>1e+300</double></value>"},
		{1e-7, "<value><double>1e-07</double></value>"},
		{math.Inf(-1), "<value><double>-Inf</double></value>"},
		{math.NaN(), "<value><double>NaN</double></value>"},
		{[]byte{0, 0xff}, "<value><base64>AP8=</base64></value>"},
		{[]byte(nil), "<value><base64></base64></value>"},
		{nil, "<value><nil/></value>"},
		{[]any{}, "<value><array><data></data></array></value>"},
		{[]any{1, "a"}, "<value><array><data><value><int>1</int></value><value><string>a</string></value></data></array></value>"},
		{[]string{"a", "b"}, "<value><array><data><value><string>a</string></value><value><string>b</string></value></data></array></value>"},
		{[]Struct{{}}, "<value><array><data><value><struct></struct></value></data></array></value>"},
		{Struct{{"b", 1}, {"a", nil}}, "<value><struct><member><name>b</name><value><int>1</int></value></member><member><name>a</name><value><nil/></value></member></struct></value>"},
		{map[string]any{"b": 1, "a": true}, "<value><struct><member><name>a</name><value><boolean>1</boolean></value></member><member><name>b</name><value><int>1</int></value></member></struct></value>"},
		{map[string]any(nil), "<value><struct></struct></value>"},
	}
	for _, tt := range tests {
		if got := encodeValue(t, tt.v); got != tt.want {
			t.Errorf("encode %#v:\n got %s\nwant %s", tt.v, got, tt.want)
		}
	}
}

func TestEncodeEscapes(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"a&b<c>d", "a&amp;b&lt;c&gt;d"},
		{`"quotes' ]]>`, `"quotes' ]]&gt;`},
		{"tab\tnl\ncr\r", "tab\tnl\ncr&#xD;"},
		{"nul\x00bel\x07esc\x1b", "nul\uFFFDbel\uFFFDesc\uFFFD"},
		{"del\x7f c1\u0085", "del\x7f c1\u0085"},
		{"bad\xffutf8\xc3", "bad\uFFFDutf8\uFFFD"},
		{"surrogate\xed\xa0\x80", "surrogate\uFFFD\uFFFD\uFFFD"},
		{"nonchars\uFFFE\uFFFF", "nonchars\uFFFD\uFFFD"},
		{"ok\uFFFD\U0001F600é", "ok\uFFFD\U0001F600é"},
	}
	for _, tt := range tests {
		got := encodeValue(t, tt.in)
		want := "<value><string>" + tt.want + "</string></value>"
		if got != want {
			t.Errorf("escape %q:\n got %q\nwant %q", tt.in, got, want)
		}
	}
}

func TestEncodeEscapesNames(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCall(&b, "a<b", Struct{{"x&y", 1}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<methodName>a&lt;b</methodName>", "<name>x&amp;y</name>"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s lacks %s", b.String(), want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	loop := []any{nil}
	loop[0] = loop
	deep := any("leaf")
	for range MaxDepth + 1 {
		deep = []any{deep}
	}
	tests := []struct {
		v    any
		want string
	}{
		{int32(1), "xmlrpc: cannot encode int32"},
		{struct{}{}, "xmlrpc: cannot encode struct {}"},
		{[]any{1, make(chan int)}, "xmlrpc: cannot encode chan int"},
		{Struct{{"f", func() {}}}, "xmlrpc: cannot encode func()"},
		{map[string]any{"p": new(int)}, "xmlrpc: cannot encode *int"},
		{loop, "xmlrpc: arrays and structs nested deeper than 64"},
		{deep, "xmlrpc: arrays and structs nested deeper than 64"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		err := WriteResponse(&b, tt.v)
		if err == nil || err.Error() != tt.want {
			t.Errorf("WriteResponse(%T): %v, want %s", tt.v, err, tt.want)
		}
		if b.Len() != 0 {
			t.Errorf("WriteResponse(%T) wrote %q before failing", tt.v, b.String())
		}
	}
	if err := WriteCall(new(bytes.Buffer), ""); err == nil {
		t.Error("WriteCall with no method name succeeded")
	}
}

func TestEncodeDepthLimit(t *testing.T) {
	v := any(1)
	for range MaxDepth {
		v = Struct{{"x", v}}
	}
	if err := WriteResponse(new(bytes.Buffer), v); err != nil {
		t.Errorf("%d levels: %v", MaxDepth, err)
	}
}

func TestWriteFault(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFault(&b, 10, "BAD_NAME: a&b"); err != nil {
		t.Fatal(err)
	}
	want := header + "<methodResponse><fault><value><struct>" +
		"<member><name>faultCode</name><value><int>10</int></value></member>" +
		"<member><name>faultString</name><value><string>BAD_NAME: a&amp;b</string></value></member>" +
		"</struct></value></fault></methodResponse>\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	if err := WriteResponse(failWriter{}, 1); err == nil || err.Error() != "disk full" {
		t.Errorf("got %v, want the writer's error", err)
	}
}

// processInfo is what supervisord answers to getAllProcessInfo for n
// processes: 14 members each.
func processInfo(n int) []Struct {
	all := make([]Struct, n)
	for i := range all {
		name := fmt.Sprintf("web%04d", i)
		all[i] = Struct{
			{"name", name},
			{"group", name},
			{"description", fmt.Sprintf("pid %d, uptime 1:02:03", 1000+i)},
			{"start", 1733500000},
			{"stop", 0},
			{"now", 1733503723},
			{"state", 20},
			{"statename", "RUNNING"},
			{"spawnerr", ""},
			{"exitstatus", 0},
			{"logfile", "/var/log/supervisor/" + name + "-stdout.log"},
			{"stdout_logfile", "/var/log/supervisor/" + name + "-stdout.log"},
			{"stderr_logfile", "/var/log/supervisor/" + name + "-stderr.log"},
			{"pid", 1000 + i},
		}
	}
	return all
}

func BenchmarkWriteResponse(b *testing.B) {
	v := processInfo(1000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteResponse(&buf, v); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
