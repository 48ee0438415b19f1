package xmlrpc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The seeds are in testdata/fuzz: what Python 3.11's xmlrpc.client sends
// (python_*), what this package writes (go_*), documents written by hand to
// reach corners of XML (hand_*), and documents that must fail (bad_*).

// FuzzReadCall checks that ReadCall fails with a one-line error or reads a
// call that writes and reads back unchanged.
func FuzzReadCall(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ReadCall(bytes.NewReader(doc))
		if err != nil {
			oneLine(t, err)
			return
		}
		var first bytes.Buffer
		if err := WriteCall(&first, c.Method, c.Params...); err != nil {
			t.Fatalf("writing %#v: %v", c, err)
		}
		again, err := ReadCall(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("reading back %q: %v", first.Bytes(), err)
		}
		var second bytes.Buffer
		WriteCall(&second, again.Method, again.Params...)
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("read back differently:\n%s\n%s", first.Bytes(), second.Bytes())
		}
	})
}

// FuzzReadResponse checks that ReadResponse fails with a one-line error,
// or reads a value or fault that writes and reads back unchanged.
func FuzzReadResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := ReadResponse(bytes.NewReader(doc))
		var fault *Fault
		if err != nil && !errors.As(err, &fault) {
			oneLine(t, err)
			return
		}
		write := func(w *bytes.Buffer, v any, fault *Fault) error {
			if fault != nil {
				return WriteFault(w, fault.Code, fault.String)
			}
			return WriteResponse(w, v)
		}
		var first bytes.Buffer
		if err := write(&first, v, fault); err != nil {
			t.Fatalf("writing %#v: %v", v, err)
		}
		v, err = ReadResponse(bytes.NewReader(first.Bytes()))
		fault = nil
		if err != nil && !errors.As(err, &fault) {
			t.Fatalf("reading back %q: %v", first.Bytes(), err)
		}
		var second bytes.Buffer
		write(&second, v, fault)
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("read back differently:\n%s\n%s", first.Bytes(), second.Bytes())
		}
	})
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "xmlrpc: ") {
		t.Fatalf("error %q is not one line starting xmlrpc:", msg)
	}
}

// TestFuzzSeeds checks that the seeds are what their names say: bad_*
// fails, everything else reads.
func TestFuzzSeeds(t *testing.T) {
	read := map[string]func([]byte) error{
		"FuzzReadCall": func(doc []byte) error {
			_, err := ReadCall(bytes.NewReader(doc))
			return err
		},
		"FuzzReadResponse": func(doc []byte) error {
			_, err := ReadResponse(bytes.NewReader(doc))
			if _, ok := err.(*Fault); ok {
				return nil
			}
			return err
		},
	}
	for target, readDoc := range read {
		paths, _ := filepath.Glob(filepath.Join("testdata/fuzz", target, "*"))
		if len(paths) < 5 {
			t.Errorf("%s: %d seeds", target, len(paths))
		}
		for _, p := range paths {
			doc := seed(t, p)
			err := readDoc(doc)
			if bad := strings.HasPrefix(filepath.Base(p), "bad_"); bad != (err != nil) {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
}

// seed returns the document in a corpus file of one []byte.
func seed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lit, ok := strings.CutPrefix(string(b), "go test fuzz v1\n[]byte(")
	lit, ok2 := strings.CutSuffix(lit, ")\n")
	doc, err := strconv.Unquote(lit)
	if !ok || !ok2 || err != nil {
		t.Fatalf("%s: not a corpus file of one []byte", path)
	}
	return []byte(doc)
}
