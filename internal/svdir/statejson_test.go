package svdir

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullState has every field of State set, and of its Exit and LogState.
func fullState() *State {
	at := time.Date(2026, 12, 2, 12, 25, 48, 676011651, time.UTC)
	return &State{
		Service: "web", Supervisor: "sv-scan", SupervisorPid: 936, Phase: PhaseStarting, Want: "up", Oneshot: true, App: "scen1", Required: true,
		Pid: 1234, PidStart: 987654321, Since: at, Started: at.Add(-time.Second), Ready: true,
		ReadyAt: at.Add(time.Millisecond), Restarts: 3,
		LastExit: &Exit{Code: -1, Signal: "SIGTERM", Unknown: true, At: at.Add(-time.Minute), Uptime: 0.008112708, Expected: true},
		Fatal:    "gave up after 5 restarts", Error: "readiness: timed out", Waiting: "needs db (down)",
		Health: "unhealthy", HealthOutput: "tcp 127.0.0.1:80: connect: connection refused",
		NextStart: at.Add(time.Hour),
		Cgroup:    "/sys/fs/cgroup/unified/supervision-51e1b94cf88742ac/sv.web",
		Log: &LogState{Kind: "builtin", Dir: "/var/log/sv/web", Error: "disk full", Since: at.In(time.FixedZone("", 3600)),
			Dropped: 7, Pending: 4096},
	}
}

// The round trip and the written format below cover every field only if
// fullState sets it: a field added to State (or Exit, LogState) must be
// set there too.
func TestFullStateSetsEveryField(t *testing.T) {
	var zeroFields func(v reflect.Value, path string)
	zeroFields = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if f.IsZero() {
				t.Errorf("fullState leaves %s unset: set it, and add it to fullStateJSON", name)
			}
			if f.Kind() == reflect.Pointer && !f.IsNil() {
				zeroFields(f.Elem(), name+".")
			}
		}
	}
	zeroFields(reflect.ValueOf(*fullState()), "")
}

// fullStateJSON and minimalStateJSON are state.json as sv-scan writes it,
// which sv-ctl, backend and people read: a change here is a change of the
// on-disk format.
const fullStateJSON = `{
  "service": "web",
  "supervisor": "sv-scan",
  "supervisor_pid": 936,
  "phase": "starting",
  "want": "up",
  "oneshot": true,
  "app": "scen1",
  "required": true,
  "pid": 1234,
  "pid_start": 987654321,
  "since": "2026-12-02T12:25:48.676011651Z",
  "started": "2026-12-02T12:25:47.676011651Z",
  "ready": true,
  "ready_at": "2026-12-02T12:25:48.677011651Z",
  "restarts": 3,
  "last_exit": {
    "code": -1,
    "signal": "SIGTERM",
    "unknown": true,
    "at": "2026-12-02T12:24:48.676011651Z",
    "uptime": 0.008112708,
    "expected": true
  },
  "fatal": "gave up after 5 restarts",
  "error": "readiness: timed out",
  "waiting": "needs db (down)",
  "health": "unhealthy",
  "health_output": "tcp 127.0.0.1:80: connect: connection refused",
  "next_start": "2026-12-02T13:25:48.676011651Z",
  "cgroup": "/sys/fs/cgroup/unified/supervision-51e1b94cf88742ac/sv.web",
  "log": {
    "kind": "builtin",
    "dir": "/var/log/sv/web",
    "error": "disk full",
    "since": "2026-12-02T13:25:48.676011651+01:00",
    "dropped": 7,
    "pending": 4096
  }
}
`

const minimalStateJSON = `{
  "service": "s",
  "supervisor": "sv-scan",
  "supervisor_pid": 0,
  "phase": "down",
  "want": "down",
  "since": "0001-01-01T00:00:00Z",
  "ready": false,
  "restarts": 0
}
`

func TestWriteStateFormat(t *testing.T) {
	for _, tc := range []struct {
		st   *State
		want string
	}{
		{fullState(), fullStateJSON},
		{&State{Service: "s", Supervisor: "sv-scan", Phase: PhaseDown, Want: "down"}, minimalStateJSON},
	} {
		dir := t.TempDir()
		s, err := Acquire(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = s.WriteState(tc.st)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, StateFile))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("state.json written:\n%s\nwant:\n%s", got, tc.want)
		}
	}
}

// What sv-scan writes reads back as it was, field for field.
func TestReadStateAsWritten(t *testing.T) {
	escaped := fullState()
	escaped.Error = "line one\nline \"two\"\tand a back\\slash/, café <closed> \x01"
	for name, st := range map[string]*State{
		"full":    fullState(),
		"minimal": {Service: "s", Supervisor: "sv-scan", Phase: PhaseDown, Want: "down"},
		"escapes": escaped,
		"empty":   {},
	} {
		data, err := encodeState(st)
		if err != nil {
			t.Fatal(err)
		}
		got := readStateText(t, string(data))
		if got == nil {
			continue
		}
		// Equal as written again: a field lost on the way would differ.
		again, _ := encodeState(got)
		if !bytes.Equal(again, data) {
			t.Errorf("%s: read back as\n%s\nwritten as\n%s", name, again, data)
		}
	}
}

// A reader takes any JSON encoding of the fields, and skips fields it
// does not know: those of a newer sv-scan.
func TestReadStateTakesAnyJSON(t *testing.T) {
	for _, tc := range []struct {
		text string
		want State
	}{
		{`{"service":"s","added_later":{"x":[1,2]}}`, State{Service: "s"}},
		{`{"service":"s","last_exit":null,"log":null}`, State{Service: "s"}},
		{`{"error":"caf\u00e9 \u003cclosed\u003e"}`, State{Error: "café <closed>"}},
		{`{"Service":"s"}`, State{Service: "s"}},
		{`{"service":"a","service":"b"}`, State{Service: "b"}},
		{"\t{ \"pid\" : 7 ,\r\n\"ready\":true}  ", State{Pid: 7, Ready: true}},
		{`{"last_exit":{"code":1},"last_exit":{"signal":"SIGKILL"}}`, State{LastExit: &Exit{Code: 1, Signal: "SIGKILL"}}},
	} {
		if got := readStateText(t, tc.text); got != nil && !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("ReadState(%s) = %+v, want %+v", tc.text, *got, tc.want)
		}
	}
}

func TestReadStateRefusesWhatIsNotJSON(t *testing.T) {
	for _, text := range []string{
		``, `{`, `{"service":"s"`, `{"service":"s",}`, `{"service":"s"} x`, `{"service":'s'}`,
		`{"pid":01}`, `{"pid":1.}`, `{"pid":1.5e3}`, `{"ready":tru}`, `{"service":"a\qb"}`, "{\"service\":\"a\tb\"}",
		`{"since":"yesterday"}`, `{"pid":99999999999999999999}`, `{"pid_start":-1}`, `[]`, `{service:"s"}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := ReadState(dir)
		if err == nil {
			t.Errorf("ReadState(%q) = %+v; want an error", text, st)
		} else if !strings.HasPrefix(err.Error(), filepath.Join(dir, StateFile)+": ") {
			t.Errorf("ReadState(%q): %v; want the error to name the file", text, err)
		}
	}
}

// readStateText reads text as a supervise directory's state.json; nil
// after a failure reported.
func readStateText(t *testing.T, text string) *State {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(dir)
	if err != nil {
		t.Errorf("ReadState(%q): %v", text, err)
	}
	return st
}

// Whatever a reader takes, sv-scan writes so that it reads back the same:
// written, read and written again, the bytes do not change.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(fullStateJSON))
	f.Add([]byte(minimalStateJSON))
	f.Add([]byte(`{"service":"s","pid":-0,"last_exit":{"uptime":-1.5E+3},"log":{},"x":[null]}`))
	f.Add([]byte(`{"error":"a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\ud83d\ude00"}`))
	f.Add([]byte(`{"since":"2026-12-02T13:25:48+14:00","log":{"since":"1999-01-01T00:00:00.5-07:30"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		written, err := encodeState(st)
		if err != nil {
			t.Fatalf("%q reads as %+v, which cannot be written: %v", data, st, err)
		}
		back, err := decodeState(written)
		if err != nil {
			t.Fatalf("state.json written as\n%s\ndoes not read back: %v", written, err)
		}
		again, err := encodeState(back)
		if err != nil || !bytes.Equal(again, written) {
			t.Fatalf("written as\n%s\nread back and written again as\n%s(%v)", written, again, err)
		}
	})
}

// BenchmarkDecodeState is one read of a full state.json, warm; a fresh
// process also pays for paging in encoding/json's decoder at its first use.
func BenchmarkDecodeState(b *testing.B) {
	data := []byte(fullStateJSON)
	for b.Loop() {
		decodeState(data)
	}
}
