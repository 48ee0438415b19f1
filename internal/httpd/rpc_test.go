package httpd

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/supervision-suite/supervision/internal/tokens"
	"github.com/supervision-suite/supervision/internal/xmlrpc"
)

// emptyServer is a server of an empty scan dir, without a listener.
func emptyServer(t testing.TB) *Server {
	dir := t.TempDir()
	scan := filepath.Join(dir, "run/sv/service")
	if err := os.MkdirAll(scan, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Listen: "unix:" + filepath.Join(dir, "s"), Root: dir, ScanDir: scan, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func call(t testing.TB, s *Server, role tokens.Role, method string, params ...any) (any, error) {
	var b bytes.Buffer
	if err := xmlrpc.WriteCall(&b, method, params...); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/RPC2", &b)
	req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, caller{role, "t"}))
	rec := httptest.NewRecorder()
	s.rpc(rec, req)
	if rec.Code != http.StatusOK {
		return nil, &xmlrpc.Fault{Code: -rec.Code, String: rec.Body.String()}
	}
	return xmlrpc.ReadResponse(rec.Body)
}

// TestRPCFaults: supervisord's fault codes, which supervisorctl turns
// into its messages and exit codes.
func TestRPCFaults(t *testing.T) {
	s := emptyServer(t)
	for _, tc := range []struct {
		role   tokens.Role
		method string
		params []any
		code   int
	}{
		{tokens.Read, "supervisor.nope", nil, faultUnknownMethod},
		{tokens.Read, "supervisor.getProcessInfo", []any{"x"}, faultBadName},
		{tokens.Read, "supervisor.getProcessInfo", nil, faultIncorrectParam},
		{tokens.Read, "supervisor.getProcessInfo", []any{1}, faultIncorrectParam},
		{tokens.Control, "supervisor.startProcess", []any{"g:x"}, faultBadName},
		{tokens.Control, "supervisor.stopProcessGroup", []any{"g"}, faultBadName},
		{tokens.Control, "supervisor.signalProcess", []any{"x", "HUP"}, faultBadName},
		{tokens.Read, "supervisor.readProcessStdoutLog", []any{"x", -10, 5}, faultBadArguments},
		{tokens.Read, "supervisor.startProcess", []any{"x"}, -http.StatusUnauthorized},
	} {
		_, err := call(t, s, tc.role, tc.method, tc.params...)
		f, ok := err.(*xmlrpc.Fault)
		if !ok || f.Code != tc.code {
			t.Errorf("%s%v as %s: %v, want fault %d", tc.method, tc.params, tc.role, err, tc.code)
		}
	}
	v, err := call(t, s, tokens.Read, "supervisor.getAPIVersion")
	if err != nil || v != "3.0" {
		t.Errorf("getAPIVersion = %v, %v", v, err)
	}
	v, err = call(t, s, tokens.Read, "system.multicall", []any{
		xmlrpc.Struct{{Name: "methodName", Value: "supervisor.getAPIVersion"}, {Name: "params", Value: []any{}}},
		xmlrpc.Struct{{Name: "methodName", Value: "supervisor.stopAllProcesses"}, {Name: "params", Value: []any{}}},
	})
	list, _ := v.([]any)
	if err != nil || len(list) != 2 {
		t.Fatalf("multicall = %v, %v", v, err)
	}
	if f, _ := list[1].(xmlrpc.Struct); f == nil {
		t.Errorf("a read caller's multicall ran a control method: %v", list[1])
	}
}

func TestStates(t *testing.T) {
	for phase, want := range map[string]string{"down": "STOPPED", "up": "RUNNING", "starting": "STARTING", "fatal": "FATAL", "done": "EXITED", "backoff": "BACKOFF", "stopping": "STOPPING", "unsupervised": "UNKNOWN"} {
		if got := supStates[phase]; got.name != want && !(want == "UNKNOWN" && got.name == "") {
			t.Errorf("phase %s is %s, want %s", phase, got.name, want)
		}
	}
}

// FuzzRPC: whatever the body, the server answers (a fault, or an error
// status), never panics.
func FuzzRPC(f *testing.F) {
	f.Add(`<?xml version='1.0'?><methodCall><methodName>supervisor.getAllProcessInfo</methodName><params></params></methodCall>`)
	f.Add(`<methodCall><methodName>system.multicall</methodName><params><param><value><array><data><value><struct><member><name>methodName</name><value>system.multicall</value></member></struct></value></data></array></value></param></params></methodCall>`)
	f.Add(`<methodCall><methodName>supervisor.tailProcessStdoutLog</methodName><params><param><value><string>x</string></value></param><param><value><int>-1</int></value></param></params></methodCall>`)
	s := emptyServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/RPC2", strings.NewReader(body))
		req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, caller{tokens.Read, "t"}))
		rec := httptest.NewRecorder()
		s.rpc(rec, req)
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), "<methodResponse>") {
			t.Fatalf("200 without a methodResponse: %s", rec.Body.String())
		}
	})
}
