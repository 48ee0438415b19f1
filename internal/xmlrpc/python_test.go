package xmlrpc

import (
	"bytes"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// python is the interpreter whose xmlrpc.client the tests hold us to.
const python = "/usr/bin/python3"

// runPython runs script with doc on its standard input and returns what it
// printed.
func runPython(t *testing.T, script string, doc []byte) string {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s\ndocument:\n%s", err, stderr.Bytes(), doc)
	}
	return string(out)
}

// pyLoads prints what xmlrpc.client.loads makes of a document: its method
// name and params, or the fault it raises; in ASCII, so that a U+FFFD shows.
const pyLoads = `
import sys, xmlrpc.client as x
try:
    params, method = x.loads(sys.stdin.buffer.read(), use_builtin_types=True)
    print(ascii(method))
    for p in params:
        print(ascii(p))
except x.Fault as f:
    print("fault", f.faultCode, ascii(f.faultString))
`

func TestPythonReadsResponse(t *testing.T) {
	v := Struct{
		{"s", "a&<>\"'\t\n\r é]]>"},
		{"ctl", "nul\x00esc\x1b\xff"},
		{"i", -1600},
		{"big", int64(1) << 40},
		{"t", true},
		{"f", -0.5},
		{"huge", 1e300},
		{"b", []byte{0, 0xff}},
		{"n", nil},
		{"a", []any{1, "x", []string{}}},
		{"m", map[string]any{"z": 1, "a": Struct{}}},
	}
	var doc bytes.Buffer
	if err := WriteResponse(&doc, v); err != nil {
		t.Fatal(err)
	}
	got := runPython(t, pyLoads, doc.Bytes())
	want := `None
{'s': 'a&<>"\'\t\n\r \xe9]]>', 'ctl': 'nul\ufffdesc\ufffd\ufffd', 'i': -1600, 'big': 1099511627776, 't': True, 'f': -0.5, 'huge': 1e+300, 'b': b'\x00\xff', 'n': None, 'a': [1, 'x', []], 'm': {'a': {}, 'z': 1}}
`
	if got != want {
		t.Errorf("python read\n%s\nwant\n%s", got, want)
	}
}

func TestPythonReadsFault(t *testing.T) {
	var doc bytes.Buffer
	if err := WriteFault(&doc, 10, "BAD_NAME: <web>\x07"); err != nil {
		t.Fatal(err)
	}
	got := runPython(t, pyLoads, doc.Bytes())
	if want := "fault 10 'BAD_NAME: <web>\\ufffd'\n"; got != want {
		t.Errorf("python read %q, want %q", got, want)
	}
}

func TestPythonReadsCall(t *testing.T) {
	var doc bytes.Buffer
	if err := WriteCall(&doc, "supervisor.readProcessStdoutLog", "web", -1600, 0); err != nil {
		t.Fatal(err)
	}
	got := runPython(t, pyLoads, doc.Bytes())
	if want := "'supervisor.readProcessStdoutLog'\n'web'\n-1600\n0\n"; got != want {
		t.Errorf("python read %q, want %q", got, want)
	}
}

// TestReadPythonCalls reads what this Python writes for calls of every
// type it can write.
func TestReadPythonCalls(t *testing.T) {
	script := `
import sys, xmlrpc.client as x
sys.stdout.write(x.dumps(("a&<>\r\né", 7, -2**31, False, 1e300, 0.1, b"\x00\xff" * 40, None,
    [1, "x", []], {"k": {"n": None}, "j": 2}, x.DateTime("20261206T18:50:27")),
    "system.multicall", allow_none=True))
`
	doc := runPython(t, script, nil)
	got, err := ReadCall(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("%v reading\n%s", err, doc)
	}
	// Python writes \r raw, and an XML reader must read a raw \r\n as \n.
	want := Call{"system.multicall", []any{
		"a&<>\né", 7, -1 << 31, false, 1e300, 0.1, bytes.Repeat([]byte{0, 0xff}, 40), nil,
		[]any{1, "x", []any{}}, Struct{{"k", Struct{{"n", nil}}}, {"j", 2}}, "20261206T18:50:27",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%#v\nwant\n%#v", got, want)
	}
}
