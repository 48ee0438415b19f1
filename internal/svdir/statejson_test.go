package svdir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fullState has every field of State set, and of its Exit and LogState.
func fullState() *State {
	at := time.Date(2026, 12, 2, 12, 25, 48, 676011651, time.UTC)
	return &State{
		Service: "web", Supervisor: "sv-scan", SupervisorPid: 936, Phase: PhaseStarting, Want: "up",
		Pid: 1234, PidStart: 987654321, Since: at, Started: at.Add(-time.Second), Ready: true,
		ReadyAt: at.Add(time.Millisecond), Restarts: 3,
		LastExit: &Exit{Code: -1, Signal: "SIGTERM", Unknown: true, At: at.Add(-time.Minute), Uptime: 0.008112708},
		Fatal:    "gave up after 5 restarts", Error: "readiness: timed out", NextStart: at.Add(time.Hour),
		Cgroup: "/sys/fs/cgroup/unified/supervision-51e1b94cf88742ac/sv.web",
		Log: &LogState{Kind: "builtin", Dir: "/var/log/sv/web", Error: "disk full", Since: at.In(time.FixedZone("", 3600)),
			Dropped: 7, Pending: 4096},
	}
}

// A field added to State (or Exit, LogState) must be added to
// decodeState, or every read of a state.json that has it falls back to
// encoding/json: fullState must set it, and the decoder take it.
func TestFullStateSetsEveryField(t *testing.T) {
	var zeroFields func(v reflect.Value, path string)
	zeroFields = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if f.IsZero() {
				t.Errorf("fullState leaves %s unset: set it, and decode it in decodeState", name)
			}
			if f.Kind() == reflect.Pointer && !f.IsNil() {
				zeroFields(f.Elem(), name+".")
			}
		}
	}
	zeroFields(reflect.ValueOf(*fullState()), "")
}

func TestDecodeStateAsSvScanWritesIt(t *testing.T) {
	escaped := fullState()
	escaped.Error = "line one\nline \"two\"\tand a back\\slash/"
	for name, st := range map[string]*State{
		"full":    fullState(),
		"minimal": {Service: "s", Supervisor: "sv-scan", Phase: PhaseDown, Want: "down"},
		"escapes": escaped,
		"empty":   {},
	} {
		data, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeState(data)
		if !ok {
			t.Errorf("%s: decodeState does not take what sv-scan writes:\n%s", name, data)
			continue
		}
		if want := viaJSON(t, data); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeState = %+v, encoding/json = %+v", name, got, want)
		}
		compact, _ := json.Marshal(st)
		if _, ok := decodeState(compact); !ok {
			t.Errorf("%s: decodeState does not take it without whitespace: %s", name, compact)
		}
	}
}

// What decodeState does not take, ReadState still reads, through
// encoding/json, with the same result as ever.
func TestReadStateFallsBackToEncodingJSON(t *testing.T) {
	for name, text := range map[string]string{
		"unknown field":        `{"service":"s","added_later":{"x":[1,2]}}`,
		"null":                 `{"service":"s","last_exit":null}`,
		"unicode escape":       `{"service":"s","error":"caf\u00e9 \u003cclosed\u003e"}`,
		"utf-8":                `{"service":"s","error":"café"}`,
		"key in other case":    `{"Service":"s"}`,
		"repeated key":         `{"service":"a","service":"b"}`,
		"repeated sub-object":  `{"last_exit":{"code":1},"last_exit":{"signal":"SIGKILL"}}`,
		"float into an int":    `{"pid":1.5e3}`,
		"big int into a float": `{"last_exit":{"uptime":12345678901234567890}}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		var want State
		wantErr := json.Unmarshal([]byte(text), &want)
		got, err := ReadState(dir)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: ReadState error %v, encoding/json's %v", name, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: ReadState = %+v, want %+v", name, *got, want)
		}
	}
}

func TestDecodeStateRefusesWhatIsNotJSON(t *testing.T) {
	for _, text := range []string{
		``, `{`, `{"service":"s"`, `{"service":"s",}`, `{"service":"s"} x`, `{"service":'s'}`,
		`{"pid":01}`, `{"pid":-}`, `{"pid":1.}`, `{"pid":1e}`, `{"ready":tru}`, `{"ready":truex}`,
		`{"service":"a\qb"}`, "{\"service\":\"a\tb\"}", `{"since":"yesterday"}`, `{"pid":99999999999999999999}`,
		`{"pid_start":-1}`, `[]`, `{"service" "s"}`, `{service:"s"}`,
	} {
		if st, ok := decodeState([]byte(text)); ok {
			t.Errorf("decodeState(%q) = %+v, ok; want not ok", text, st)
		}
	}
}

// Whatever decodeState takes, encoding/json takes too, into the same
// State.
func FuzzDecodeState(f *testing.F) {
	full, _ := json.MarshalIndent(fullState(), "", "  ")
	f.Add(full)
	f.Add([]byte(`{"service":"s","pid":-0,"last_exit":{"uptime":-1.5E+3},"log":{}}`))
	f.Add([]byte(`{"error":"a\"b\\c\/d\be\ff\ng\rh\ti"}`))
	f.Add([]byte(` { } `))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := decodeState(data)
		if !ok {
			return
		}
		var want State
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("decodeState takes %q, encoding/json does not: %v", data, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("decodeState(%q) = %+v, encoding/json: %+v", data, *got, want)
		}
	})
}

func viaJSON(t *testing.T, data []byte) *State {
	t.Helper()
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// BenchmarkDecodeState compares the two decoders warm; cold, in a fresh
// process, encoding/json also pages its decoder in.
func BenchmarkDecodeState(b *testing.B) {
	data, _ := json.MarshalIndent(fullState(), "", "  ")
	b.Run("decodeState", func(b *testing.B) {
		for b.Loop() {
			decodeState(data)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var st State
			json.Unmarshal(data, &st)
		}
	})
}
