package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bound is how long a test waits for something that must happen.
const bound = 10 * time.Second

func newWriter(t *testing.T, dir string, perFile int) *Writer {
	t.Helper()
	w, err := create(dir, perFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// appendN appends n events of service svc and returns their numbers.
func appendN(t *testing.T, w *Writer, svc string, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := 0; i < n; i++ {
		seq, err := w.Append(Event{Service: svc, From: "down", To: "starting", Reason: "started", Pid: 100 + i})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func since(t *testing.T, dir string, from uint64) []Event {
	t.Helper()
	evs, err := Since(dir, from)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// seqs shows events as their numbers, a dropped record as -N (missed N).
func seqs(evs []Event) string {
	var b []string
	for _, ev := range evs {
		if ev.Dropped > 0 {
			b = append(b, fmt.Sprintf("%d(-%d)", ev.Seq, ev.Dropped))
			continue
		}
		b = append(b, fmt.Sprint(ev.Seq))
	}
	return strings.Join(b, " ")
}

func TestAppendSince(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, PerFile)
	before := time.Now()
	if got := fmt.Sprint(appendN(t, w, "web", 5)); got != "[1 2 3 4 5]" {
		t.Fatalf("Append numbered %s, want 1 to 5", got)
	}
	all := since(t, dir, 0)
	if got := seqs(all); got != "1 2 3 4 5" {
		t.Errorf("Since(0) = %s, want 1 2 3 4 5", got)
	}
	for _, ev := range all {
		if ev.Time.Before(before) || ev.Service != "web" || ev.Reason != "started" {
			t.Errorf("event %d = %+v: not as appended, or dated before it was", ev.Seq, ev)
		}
	}
	for from, want := range map[uint64]string{3: "4 5", 5: "", 9: ""} {
		if got := seqs(since(t, dir, from)); got != want {
			t.Errorf("Since(%d) = %q, want %q", from, got, want)
		}
	}
	// A time given is kept.
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	seq, err := w.Append(Event{Service: "web", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	if got := since(t, dir, seq-1); len(got) != 1 || !got[0].Time.Equal(at) {
		t.Errorf("an event appended with time %s reads back as %+v", at, got)
	}
}

func TestSinceNoRing(t *testing.T) {
	evs, err := Since(filepath.Join(t.TempDir(), "none"), 0)
	if err != nil || len(evs) != 0 {
		t.Errorf("Since on no ring = %v, %v; want nothing, no error", evs, err)
	}
}

// A restart of sv-scan numbers on from the last event kept, whether it is
// in current or, just after a rotation, in previous.
func TestNumberingContinues(t *testing.T) {
	dir := t.TempDir()
	w, err := create(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, "a", 2)
	w.Close()
	w = newWriter(t, dir, 3)
	if got := appendN(t, w, "a", 1); got[0] != 3 {
		t.Errorf("after Close and Create, the next event is %d, want 3", got[0])
	}
	w.Close()
	// The ring as a rotation leaves it: previous full, current empty.
	os.Rename(filepath.Join(dir, CurrentFile), filepath.Join(dir, PreviousFile))
	os.WriteFile(filepath.Join(dir, CurrentFile), nil, 0o644)
	w = newWriter(t, dir, 3)
	if got := appendN(t, w, "a", 1); got[0] != 4 {
		t.Errorf("with only previous holding events, the next is %d, want 4", got[0])
	}
	if got := seqs(since(t, dir, 0)); got != "1 2 3 4" {
		t.Errorf("Since(0) = %s, want 1 2 3 4", got)
	}
}

func TestRotationDropped(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, 4)
	appendN(t, w, "a", 10)
	// 1-4 went out with the second rotation; previous holds 5-8, current 9-10.
	for from, want := range map[uint64]string{
		0:  "5 6 7 8 9 10", // from the oldest kept: nothing said of before
		1:  "4(-3) 5 6 7 8 9 10",
		3:  "4(-1) 5 6 7 8 9 10",
		4:  "5 6 7 8 9 10",
		8:  "9 10",
		10: "",
	} {
		if got := seqs(since(t, dir, from)); got != want {
			t.Errorf("Since(%d) = %q, want %q", from, got, want)
		}
	}
	for _, name := range []string{PreviousFile, CurrentFile} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		if n := bytes.Count(data, []byte("\n")); n > 4 {
			t.Errorf("%s holds %d events, more than the 4 a file", name, n)
		}
	}
	// The record's own number lets a reader go on from it.
	recs := since(t, dir, 1)
	if got := seqs(since(t, dir, recs[0].Seq)); got != "5 6 7 8 9 10" {
		t.Errorf("Since(the dropped record's seq) = %q, want what follows it", got)
	}
}

// A line that cannot be read is a gap like any other: said, not silent.
func TestSinceUnreadableLine(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, PerFile)
	appendN(t, w, "a", 2)
	f, _ := os.OpenFile(filepath.Join(dir, CurrentFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":3,"time":` + "\n")
	f.Close()
	w.seq = 3 // as if the writer had written it
	appendN(t, w, "a", 1)
	if got := seqs(since(t, dir, 0)); got != "1 2 3(-1) 4" {
		t.Errorf("Since(0) over an unreadable line = %q, want 1 2 3(-1) 4", got)
	}
}

// A writer killed in the middle of a line leaves it torn; the next writer
// loses that line only.
func TestTornLine(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, PerFile)
	appendN(t, w, "a", 2)
	w.Close()
	f, _ := os.OpenFile(filepath.Join(dir, CurrentFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":3,"time":"2030-01-0`)
	f.Close()
	// A reader meanwhile sees the complete lines only.
	if got := seqs(since(t, dir, 0)); got != "1 2" {
		t.Errorf("Since(0) with a torn last line = %q, want 1 2", got)
	}
	w = newWriter(t, dir, PerFile)
	if got := appendN(t, w, "a", 2); fmt.Sprint(got) != "[3 4]" {
		t.Errorf("after a torn line, Append numbered %v, want [3 4]", got)
	}
	if got := seqs(since(t, dir, 0)); got != "1 2 3 4" {
		t.Errorf("Since(0) after a torn line = %q, want 1 2 3 4", got)
	}
}

// A failed Append gives no number: the numbering has no hole for it.
func TestFailedAppendKeepsNumbering(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, PerFile)
	appendN(t, w, "a", 1)
	if _, err := w.Append(Event{Service: "a", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Fatal("Append of an event that cannot be encoded succeeded")
	}
	if got := appendN(t, w, "a", 1); got[0] != 2 {
		t.Errorf("after a failed Append, the next event is %d, want 2", got[0])
	}
}

// A reader racing a writer that rotates the ring never misses the newest
// events: what was written before Since began is in what it returns.
func TestSinceWhileRotating(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, 3)
	var last atomic.Uint64
	done, stop := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			seq, err := w.Append(Event{Service: "a"})
			if err != nil {
				t.Error(err)
				return
			}
			last.Store(seq)
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			return
		default:
		}
		before := last.Load()
		evs := since(t, dir, 0)
		if before > 0 && (len(evs) == 0 || evs[len(evs)-1].Seq < before) {
			t.Fatalf("read %d: Since(0) = %s, after event %d was written", reads, seqs(evs), before)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Seq <= evs[i-1].Seq {
				t.Fatalf("read %d: Since(0) = %s: out of order", reads, seqs(evs))
			}
		}
	}
}

func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, 50)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := w.Append(Event{Service: fmt.Sprint("s", g)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got := since(t, dir, 0)
	if len(got) != 80 || got[0].Seq != 1 || got[79].Seq != 80 {
		t.Fatalf("80 concurrent Appends read back as %s", seqs(got))
	}
	for i, ev := range got {
		if ev.Seq != uint64(i+1) || ev.Dropped != 0 {
			t.Fatalf("80 concurrent Appends read back as %s", seqs(got))
		}
	}
}

// follower runs Follow in the background, handing each event to a channel
// that the test reads (or leaves unread, to hold the follower back).
type follower struct {
	evs     chan Event
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

func follow(t *testing.T, dir string, from uint64) *follower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{evs: make(chan Event), cancel: cancel, done: make(chan error, 1)}
	go func() {
		f.done <- Follow(ctx, dir, from, func(ev Event) error {
			select {
			case f.evs <- ev:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	t.Cleanup(func() { f.stop(t) })
	return f
}

// next returns the next n events the follower sees, failing after bound.
func (f *follower) next(t *testing.T, n int) []Event {
	t.Helper()
	var got []Event
	timeout := time.After(bound)
	for len(got) < n {
		select {
		case ev := <-f.evs:
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("Follow gave %s, then nothing for %s; want %d events", seqs(got), bound, n)
		}
	}
	return got
}

func (f *follower) stop(t *testing.T) {
	if f.stopped {
		return
	}
	f.stopped = true
	f.cancel()
	select {
	case err := <-f.done:
		if err != nil {
			t.Errorf("Follow ended with %v, want nil when its context ends", err)
		}
	case <-time.After(bound):
		t.Errorf("Follow still running %s after its context ended", bound)
	}
}

func TestFollow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events") // made by the writer, later
	f := follow(t, dir, 0)
	w := newWriter(t, dir, 4)
	appendN(t, w, "a", 2)
	if got := seqs(f.next(t, 2)); got != "1 2" {
		t.Errorf("Follow, from before the ring existed, gave %s, want 1 2", got)
	}
	// Each new event comes, in order, across rotations.
	for i := 0; i < 9; i++ {
		seq := appendN(t, w, "a", 1)[0]
		if got := f.next(t, 1)[0]; got.Seq != seq || got.Dropped != 0 {
			t.Fatalf("Follow gave %s after event %d was appended", seqs([]Event{got}), seq)
		}
	}
	f.stop(t)
	// Following from a number gives the events after it, then the new ones.
	f = follow(t, dir, 9)
	appendN(t, w, "a", 1)
	if got := seqs(f.next(t, 3)); got != "10 11 12" {
		t.Errorf("Follow from 9 gave %s, want 10 11 12", got)
	}
}

// A follower held back while the ring rotates past it is told how many
// events it missed, then goes on in order; the writer, meanwhile, never
// waited for it.
func TestFollowOvertaken(t *testing.T) {
	dir := t.TempDir()
	w := newWriter(t, dir, 4)
	appendN(t, w, "a", 2)
	f := follow(t, dir, 0)
	if got := f.next(t, 1)[0].Seq; got != 1 {
		t.Fatalf("Follow's first event is %d, want 1", got)
	}
	// The follower now holds event 2, unread: it is stuck in its callback.
	// Another reader holds both files open.
	for _, name := range []string{CurrentFile, PreviousFile} {
		if r, err := os.Open(filepath.Join(dir, name)); err == nil {
			defer r.Close()
		}
	}
	appended := make(chan error)
	go func() {
		var err error
		for i := 0; i < 12 && err == nil; i++ {
			_, err = w.Append(Event{Service: "a"})
		}
		appended <- err
	}()
	select {
	case err := <-appended: // 3-14: previous holds 9-12, current 13-14
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(bound):
		t.Fatalf("Append blocked for %s behind a slow reader", bound)
	}
	// It still holds the file it was reading, now gone from the ring: the
	// events written there before the rotation are given, 5-8 are lost.
	if got := seqs(f.next(t, 10)); got != "2 3 4 8(-4) 9 10 11 12 13 14" {
		t.Errorf("the overtaken follower gave %s, want 2 3 4 8(-4) 9 10 11 12 13 14", got)
	}
	appendN(t, w, "a", 1)
	if got := seqs(f.next(t, 1)); got != "15" {
		t.Errorf("then it gave %s, want 15", got)
	}
}

func TestFollowNoRingUntilCancelled(t *testing.T) {
	f := follow(t, filepath.Join(t.TempDir(), "a", "b"), 0)
	f.stop(t)
}

func TestEncoding(t *testing.T) {
	one, minus := 1, -1
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000000, time.UTC)
	for _, c := range []struct {
		ev   Event
		want string
	}{{
		Event{Seq: 1, Time: at, Service: "web", From: "down", To: "starting", Pid: 42, Reason: "started"},
		`{"seq":1,"time":"2030-01-02T03:04:05.006Z","service":"web","from":"down","to":"starting","pid":42,"restarts":0,"ready":false,"reason":"started"}`,
	}, {
		Event{Seq: 2, Time: at, Service: "web", From: "up", To: "backoff", Pid: 42, ExitCode: &one, Restarts: 3, Reason: "crashed"},
		`{"seq":2,"time":"2030-01-02T03:04:05.006Z","service":"web","from":"up","to":"backoff","pid":42,"exit_code":1,"expected":false,"restarts":3,"ready":false,"reason":"crashed"}`,
	}, {
		Event{Seq: 3, Time: at, Service: "web/log", From: "stopping", To: "down", ExitCode: &minus, Signal: "SIGKILL", Expected: true, Reason: "stop-timeout"},
		`{"seq":3,"time":"2030-01-02T03:04:05.006Z","service":"web/log","from":"stopping","to":"down","exit_code":-1,"signal":"SIGKILL","expected":true,"restarts":0,"ready":false,"reason":"stop-timeout"}`,
	}, {
		// the end of a run whose exit could not be known (an adopted daemon's)
		Event{Seq: 4, Time: at, Service: "web", From: "up", To: "backoff", Pid: 42, Restarts: 1, Reason: "crashed"},
		`{"seq":4,"time":"2030-01-02T03:04:05.006Z","service":"web","from":"up","to":"backoff","pid":42,"expected":false,"restarts":1,"ready":false,"reason":"crashed"}`,
	}, {
		Event{Seq: 9, Time: at, Dropped: 5, Restarts: 7},
		`{"seq":9,"time":"2030-01-02T03:04:05.006Z","dropped":5}`,
	}} {
		got, err := json.Marshal(c.ev)
		if err != nil || string(got) != c.want {
			t.Errorf("Marshal(%+v) =\n%s, %v\nwant\n%s", c.ev, got, err, c.want)
			continue
		}
		back, err := Decode(got)
		if err != nil || !sameEvent(back, c.ev) {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", got, back, err, c.ev)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, line := range []string{
		``, ` `, `{`, `null`, `[]`, `"seq"`, `{}`,
		`{"seq":0,"time":"2030-01-02T03:04:05Z"}`, // no number
		`{"seq":-1}`, `{"seq":"1"}`, `{"seq":1.5}`, `{"seq":18446744073709551616}`,
		`{"seq":1,"time":"yesterday"}`, `{"seq":1,"exit_code":"1"}`, `{"seq":1,"pid":"42"}`,
		`{"seq":1} {"seq":2}`, `{"seq":1}x`, "{\"seq\":1,\"service\":\"\xff\"", `{"seq":1,`,
	} {
		if ev, err := Decode([]byte(line)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", line, ev)
		}
	}
	// Fields added later are ignored by readers that do not know them.
	ev, err := Decode([]byte(`{"seq":7,"time":"2030-01-02T03:04:05Z","service":"a","later":{"x":1}}`))
	if err != nil || ev.Seq != 7 || ev.Service != "a" {
		t.Errorf("Decode with an unknown field = %+v, %v; want it read", ev, err)
	}
}

// sameEvent compares events as their encoding would: times by instant.
func sameEvent(a, b Event) bool {
	if (a.ExitCode == nil) != (b.ExitCode == nil) || (a.ExitCode != nil && *a.ExitCode != *b.ExitCode) {
		return false
	}
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.ExitCode, b.ExitCode, a.Time, b.Time = nil, nil, time.Time{}, time.Time{}
	if a.Dropped > 0 { // a dropped record carries no unit's fields
		a.Restarts, b.Restarts = 0, 0
	}
	return a == b
}

// FuzzDecode: Decode never panics, and what it accepts is an event, with a
// number, that encodes and decodes back to itself.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"time":"2030-01-02T03:04:05.006Z","service":"web","from":"up","to":"backoff","pid":42,"exit_code":1,"expected":false,"restarts":3,"ready":false,"reason":"crashed"}`,
		`{"seq":9,"time":"2030-01-02T03:04:05Z","dropped":5}`,
		`{"seq":3,"time":"2030-01-02T03:04:05+02:00","exit_code":-1,"signal":"SIGKILL","expected":true}`,
		`{"seq":0}`, `{`, `null`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := Decode(line)
		if err != nil {
			return
		}
		if ev.Seq == 0 {
			t.Fatalf("Decode(%q) accepted an event with no number", line)
		}
		if ev.Dropped > 0 {
			// A dropped record is written with its number, time and count only.
			ev = Event{Seq: ev.Seq, Time: ev.Time, Dropped: ev.Dropped}
		}
		enc, err := json.Marshal(ev)
		if err != nil {
			return // a time json cannot write (a year past 9999): Append refuses it too
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(%q) = %+v, whose encoding %s does not decode: %v", line, ev, enc, err)
		}
		if !sameEvent(back, ev) {
			t.Fatalf("Decode(%q) = %+v; encoded %s; decoded again %+v", line, ev, enc, back)
		}
	})
}

// A hook record carries the service, the hook, its action and how it
// failed, and nothing of a unit's; detail goes with the event that has it.
func TestHookRecordAndDetail(t *testing.T) {
	at := time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC)
	line, err := json.Marshal(Event{Seq: 7, Time: at, Service: "web", Hook: "crash", Action: "mail:ops@example.com", Reason: "exit 75"})
	if err != nil || string(line) != `{"seq":7,"time":"2026-12-06T16:00:00Z","service":"web","reason":"exit 75","hook":"crash","action":"mail:ops@example.com"}` {
		t.Errorf("hook record: %s, %v", line, err)
	}
	line, _ = json.Marshal(Event{Seq: 8, Time: at, Service: "web", From: "up", To: "up", Pid: 42, Ready: true, Reason: "unhealthy", Detail: "tcp 127.0.0.1:80: connect: connection refused"})
	if string(line) != `{"seq":8,"time":"2026-12-06T16:00:00Z","service":"web","from":"up","to":"up","pid":42,"restarts":0,"ready":true,"reason":"unhealthy","detail":"tcp 127.0.0.1:80: connect: connection refused"}` {
		t.Errorf("detail: %s", line)
	}
	back, err := Decode(line)
	if err != nil || back.Detail != "tcp 127.0.0.1:80: connect: connection refused" {
		t.Errorf("decoded: %+v, %v", back, err)
	}
}

// The counters go on from what the file holds; none is zero; a broken
// file is an error naming it.
func TestCounters(t *testing.T) {
	scan := t.TempDir()
	os.MkdirAll(filepath.Join(scan, ".sv-scan"), 0o755)
	if c, err := ReadCounters(scan); err != nil || c != (Counters{}) {
		t.Fatalf("none: %+v, %v", c, err)
	}
	if err := WriteCounters(scan, Counters{HookFailures: 3, Lost: 1}); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadCounters(scan); err != nil || c != (Counters{HookFailures: 3, Lost: 1}) {
		t.Errorf("read back: %+v, %v", c, err)
	}
	os.WriteFile(CountersFile(scan), []byte("{"), 0o644)
	if _, err := ReadCounters(scan); err == nil || !strings.Contains(err.Error(), "counters.json") {
		t.Errorf("broken: %v", err)
	}
}
