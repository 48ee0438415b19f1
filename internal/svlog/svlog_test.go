package svlog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStampsAndPartialLines(t *testing.T) {
	for stamp, re := range map[string]string{
		StampNone:   `^one\ntwo three\n$`,
		StampTAI64N: `^@4000[0-9a-f]{20} one\n@4000[0-9a-f]{20} two three\n$`,
		StampISO:    `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z one\n\S+ two three\n$`,
	} {
		dir := t.TempDir()
		l, err := Open(Config{Dir: dir, Size: 1 << 20, Files: 3, Stamp: stamp}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Write([]byte("one\ntwo "))
		// An unfinished line is written at once: a killed logger loses nothing.
		if got := read(t, filepath.Join(dir, "current")); !strings.HasSuffix(got, "two ") {
			t.Errorf("%s: the unfinished line is not written: %q", stamp, got)
		}
		l.Close()
		// The next logger continues the line, without a new stamp.
		l, _ = Open(Config{Dir: dir, Size: 1 << 20, Files: 3, Stamp: stamp}, nil)
		l.Write([]byte("three"))
		l.Finish()
		l.Close()
		if got := read(t, filepath.Join(dir, "current")); !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("%s: %q does not match %s", stamp, got, re)
		}
	}
}

// Rotation keeps Files finished files; every line is in exactly one file,
// in order, and no file passes the size.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	tick := time.Unix(1700000000, 0)
	l, err := Open(Config{Dir: dir, Size: 100, Files: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { tick = tick.Add(time.Second); return tick }
	for i := 0; i < 60; i++ {
		fmt.Fprintf(l, "line %02d\n", i) // 8 bytes: 12 lines per file
	}
	l.Close()
	old, _ := Rotated(dir)
	if len(old) != 3 {
		t.Fatalf("%d rotated files, want 3: %v", len(old), old)
	}
	var all string
	for _, f := range append(old, filepath.Join(dir, "current")) {
		data := read(t, f)
		if len(data) > 100 {
			t.Errorf("%s holds %d bytes, over the size", f, len(data))
		}
		all += data
	}
	if !strings.HasSuffix(all, "line 59\n") || !strings.Contains(all, "line 24\n") {
		t.Errorf("lines lost: %q", all)
	}
	for i := 25; i < 60; i++ {
		if strings.Count(all, fmt.Sprintf("line %02d\n", i)) != 1 {
			t.Errorf("line %d is not there exactly once", i)
		}
	}
	if fi, _ := os.Stat(old[0]); fi.Mode().Perm() != 0o744 {
		t.Errorf("a finished file has mode %v, want 0744 as svlogd", fi.Mode())
	}
}

// Output that comes in blocks which cut lines (stdio into a pipe) still
// rotates at the size: a chunk that begins by ending a line may rotate
// before any later line of it.
func TestRotationWithCutLines(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, Size: 100, Files: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Unix(1700000000, 0)
	l.now = func() time.Time { tick = tick.Add(time.Second); return tick }
	var all strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&all, "line %03d\n", i) // 9 bytes
	}
	text := all.String()
	for len(text) > 0 { // 64-byte blocks: each but the first begins mid-line
		n := min(64, len(text))
		l.Write([]byte(text[:n]))
		text = text[n:]
	}
	l.Close()
	old, _ := Rotated(dir)
	if len(old) < 15 {
		t.Fatalf("%d rotated files for 1800 bytes at 100 a file", len(old))
	}
	for _, f := range old {
		if data := read(t, f); len(data) > 100 {
			t.Errorf("%s holds %d bytes, over the size", f, len(data))
		}
	}
}

func TestLongLineIsSplitNotLost(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1 << 20, Files: 1}, nil)
	long := strings.Repeat("x", MaxLine*2+10)
	l.Write([]byte(long + "\n"))
	l.Close()
	got := read(t, filepath.Join(dir, "current"))
	if strings.Count(got, "\n") != 3 || strings.ReplaceAll(got, "\n", "") != long {
		t.Errorf("long line: %d newlines, %d bytes", strings.Count(got, "\n"), len(got))
	}
}

func TestOneLoggerPerDirectory(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, Size: 100, Files: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Open(Config{Dir: dir, Size: 100, Files: 1}, nil); err == nil || !strings.Contains(err.Error(), "another logger") {
		t.Errorf("second logger: %v", err)
	}
}

// Disk full: nothing blocks, the newest lines wait in memory, the failure is
// reported; when space returns, a line tells what was lost, then the rest.
func TestDiskFullKeepsNewestLines(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", filepath.Join(dir, "current")); err != nil {
		t.Fatal(err)
	}
	var reports []Status
	l, err := Open(Config{Dir: dir, Size: 1 << 20, Files: 1, Pending: 40}, func(s Status) { reports = append(reports, s) })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 10; i++ {
		fmt.Fprintf(l, "line %d\n", i) // 7 bytes each: 5 fit in 40
	}
	st := l.Status()
	if !strings.Contains(st.Error, "no space left on device") || st.Dropped != 5 || st.Pending != 35 {
		t.Fatalf("status %+v", st)
	}
	if len(reports) == 0 || reports[0].Error == "" {
		t.Fatalf("failure not reported: %+v", reports)
	}
	os.Remove(filepath.Join(dir, "current")) // space returns
	fmt.Fprintf(l, "line 10\n")
	if st := l.Status(); st.Error != "" {
		t.Fatalf("still failing: %+v", st)
	}
	got := read(t, filepath.Join(dir, "current"))
	want := "sv-log: 5 lines lost while " + dir + " could not be written (write " + dir + "/current: no space left on device)\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n"
	if got != want {
		t.Errorf("after recovery:\n%q\nwant\n%q", got, want)
	}
	if last := reports[len(reports)-1]; last.Error != "" {
		t.Errorf("recovery not reported: %+v", last)
	}
}

// The retry timer writes waiting lines even when no new output comes.
func TestRetryWithoutNewOutput(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("/dev/full", filepath.Join(dir, "current"))
	done := make(chan struct{}, 4)
	l, _ := Open(Config{Dir: dir, Size: 1 << 20, Files: 1}, func(s Status) {
		if s.Error == "" {
			done <- struct{}{}
		}
	})
	defer l.Close()
	fmt.Fprintf(l, "waiting line\n")
	os.Remove(filepath.Join(dir, "current"))
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the retry never wrote the waiting line")
	}
	if got := read(t, filepath.Join(dir, "current")); got != "waiting line\n" {
		t.Errorf("got %q", got)
	}
}

// FuzzChunking: however the output arrives in chunks, the log holds the
// same lines, long ones split at MaxLine, the last one ended by Finish.
func FuzzChunking(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), uint8(1))
	f.Add([]byte(strings.Repeat("z", MaxLine+3)+"\nq"), uint8(7))
	f.Add([]byte(strings.Repeat("z", MaxLine)+"\n"), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		dir := t.TempDir()
		l, err := Open(Config{Dir: dir, Size: 1 << 30, Files: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		step := int(chunk)%17 + 1
		for i := 0; i < len(data); i += step {
			l.Write(data[i:min(i+step, len(data))])
		}
		l.Finish()
		l.Close()
		got, _ := os.ReadFile(filepath.Join(dir, "current"))
		var want []byte
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if line == "" {
				continue
			}
			body := strings.TrimSuffix(line, "\n")
			if body == "" {
				want = append(want, '\n')
			}
			for len(body) > 0 {
				k := min(MaxLine, len(body))
				want = append(want, body[:k]+"\n"...)
				body = body[k:]
			}
		}
		if string(got) != string(want) {
			t.Fatalf("chunk %d: got %q, want %q", step, got, want)
		}
	})
}

// Pump takes bytes from a pipe only once written; at the pipe's end it
// ends the last line.
func TestPump(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1 << 20, Files: 1}, nil)
	r, w, _ := os.Pipe()
	defer r.Close() // r reachable: its finalizer would close the fd Pump reads
	go func() {
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(w, "line %d\n", i)
		}
		w.Write([]byte("last, unfinished"))
		w.Close()
	}()
	if err := l.Pump(int(r.Fd()), -1); err != nil {
		t.Fatal(err)
	}
	l.Close()
	got := read(t, filepath.Join(dir, "current"))
	if strings.Count(got, "\n") != 1001 || !strings.HasSuffix(got, "line 999\nlast, unfinished\n") {
		t.Errorf("got %d lines, ending %q", strings.Count(got, "\n"), got[max(0, len(got)-40):])
	}
}

// nonBlockingPipe is a pipe whose read end is in Go's poller, as sv-scan
// opens its output FIFOs.
func nonBlockingPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(p[1], false)
	r, w = os.NewFile(uintptr(p[0]), "r"), os.NewFile(uintptr(p[1]), "w")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// PumpFile copies to the end of input, ending the last line.
func TestPumpFile(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1 << 20, Files: 1}, nil)
	r, w := nonBlockingPipe(t)
	go func() {
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(w, "line %d\n", i)
		}
		w.Write([]byte("last, unfinished"))
		w.Close()
	}()
	if err := l.PumpFile(r); err != nil {
		t.Fatal(err)
	}
	l.Close()
	got := read(t, filepath.Join(dir, "current"))
	if strings.Count(got, "\n") != 1001 || !strings.HasSuffix(got, "line 999\nlast, unfinished\n") {
		t.Errorf("got %d lines, ending %q", strings.Count(got, "\n"), got[max(0, len(got)-40):])
	}
}

// A read deadline stops PumpFile with nil, and what it did not copy stays
// in the pipe for the next reader.
func TestPumpFileStops(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1 << 20, Files: 1}, nil)
	defer l.Close()
	r, w := nonBlockingPipe(t)
	done := make(chan error)
	go func() { done <- l.PumpFile(r) }()
	w.Write([]byte("first\n"))
	waitFor(t, func() bool { return read(t, filepath.Join(dir, "current")) == "first\n" })
	r.SetReadDeadline(time.Now())
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("PumpFile after the deadline: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PumpFile did not stop at its read deadline")
	}
	w.Write([]byte("second\n"))
	buf := make([]byte, 64)
	r.SetReadDeadline(time.Time{})
	if n, _ := r.Read(buf); string(buf[:n]) != "second\n" {
		t.Errorf("left in the pipe: %q; want the line written after the stop", buf[:n])
	}
	if got := read(t, filepath.Join(dir, "current")); got != "first\n" {
		t.Errorf("current = %q after the stop", got)
	}
}

// Quiet pumps hold no thread each: sv-scan runs one per service, and a
// thread per service was most of its memory at 100 services.
func TestPumpFileHoldsNoThread(t *testing.T) {
	before := threads(t)
	var pumps []*os.File
	for i := 0; i < 50; i++ {
		l, err := Open(Config{Dir: filepath.Join(t.TempDir(), "log"), Size: 1 << 20, Files: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		r, w := nonBlockingPipe(t)
		go l.PumpFile(r)
		w.Write([]byte("hello\n"))
		pumps = append(pumps, r)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() > 50 })
	if after := threads(t); after > before+10 {
		t.Errorf("%d threads with 50 quiet pumps, %d before", after, before)
	}
	for _, r := range pumps {
		r.SetReadDeadline(time.Now())
	}
}

func threads(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Skip("no thread count in /proc/self/status")
	return 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refWrite is Write as it was before lines were written as offsets into
// the input: each piece copied into a segment of its own, then written.
func refWrite(l *Logger, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emitLocked(l.split(l.now(), p))
}

// dirFiles is every file of a log directory, name and contents.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range ents {
		if e.Name() != "lock" {
			files[e.Name()] = read(t, filepath.Join(dir, e.Name()))
		}
	}
	return files
}

// FuzzWriteAsSegments: writing the input as it came, or copied once with
// its stamps, gives the very files that copying each piece gave: the same
// lines, stamped alike, rotated at the same line ends.
func FuzzWriteAsSegments(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), uint8(1), uint16(5), uint8(0))
	f.Add([]byte("line 1\nline 2\nline 3\nline 4\n"), uint8(5), uint16(10), uint8(1))
	f.Add([]byte(strings.Repeat("z", MaxLine+3)+"\nq\n"+strings.Repeat("y", 2*MaxLine)), uint8(200), uint16(300), uint8(2))
	f.Add([]byte(strings.Repeat("0123456789\n", 100)), uint8(33), uint16(64), uint8(1))
	syncFile = func(*os.File) error { return nil } // thousands of rotations
	f.Fuzz(func(t *testing.T, data []byte, step uint8, size uint16, stamp uint8) {
		stamps := []string{StampNone, StampTAI64N, StampISO}
		cfg := Config{Size: int64(size), Files: 5, Stamp: stamps[int(stamp)%3]}
		var dirs [2]string
		for i, write := range []func(*Logger, []byte){func(l *Logger, p []byte) { l.Write(p) }, refWrite} {
			cfg.Dir = t.TempDir()
			dirs[i] = cfg.Dir
			l, err := Open(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			tick := time.Unix(1700000000, 0)
			l.now = func() time.Time { tick = tick.Add(time.Second + time.Microsecond); return tick }
			n := int(step)*int(step)%4099 + 1 // up to 4 KiB, as stdio writes
			for p := data; len(p) > 0; p = p[min(n, len(p)):] {
				write(l, p[:min(n, len(p))])
			}
			l.Close()
		}
		got, want := dirFiles(t, dirs[0]), dirFiles(t, dirs[1])
		if len(got) != len(want) {
			t.Fatalf("%d files, want %d", len(got), len(want))
		}
		for name, w := range want {
			if got[name] != w {
				t.Fatalf("%s: got %q, want %q", name, got[name], w)
			}
		}
	})
}

// A disk that fails in the middle of a Write: what was not written waits,
// and is written once the disk works again, nothing twice.
func TestShortWriteQueuesTheRest(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, Size: 1 << 20, Files: 1, Stamp: StampNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write([]byte("one\ntw"))
	// current now fails: writes go to /dev/full.
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	l.mu.Lock()
	good := l.cur
	l.cur = full
	l.mu.Unlock()
	l.Write([]byte("o\nthree\nfou"))
	if st := l.Status(); st.Error == "" || st.Pending != len("o\nthree\nfou") {
		t.Fatalf("status %+v", st)
	}
	good.Close()
	l.mu.Lock()
	l.recoverLocked()
	l.mu.Unlock()
	l.Write([]byte("r\n"))
	// The line the failure cut is ended before the rest, as always.
	if got := read(t, filepath.Join(dir, "current")); got != "one\ntw\no\nthree\nfour\n" {
		t.Errorf("current = %q", got)
	}
}

// Rotated files are synced before they are named .s; a logger killed
// before that leaves a .u, which the next one finishes.
func TestUnsyncedRotatedFileIsFinished(t *testing.T) {
	dir := t.TempDir()
	label := filepath.Join(dir, "@400000006553f10000000000")
	if err := os.WriteFile(label+".u", []byte("old line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(Config{Dir: dir, Size: 100, Files: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	fi, err := os.Stat(label + ".s")
	if err != nil {
		t.Fatalf("the .u left by a killed logger is not finished: %v", err)
	}
	if fi.Mode().Perm() != 0o744 {
		t.Errorf("mode %v", fi.Mode())
	}
}

// An idle logger holds no buffer: sv-scan has one per service.
func TestIdleLoggerHoldsLittle(t *testing.T) {
	const n = 200
	loggers := make([]*Logger, n)
	data := benchLines()[:64<<10]
	var before, after runtime.MemStats
	runtime.GC() // twice: the pools' buffers go at the second
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range loggers {
		l, err := Open(Config{Dir: filepath.Join(t.TempDir(), "log"), Size: 32 << 10, Files: 1, Stamp: StampISO}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Write(data) // rotates, and leaves a line unfinished
		l.Write([]byte("unfinished"))
		loggers[i] = l
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(data)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes of heap per idle logger", per)
	if per > 2<<10 {
		t.Errorf("an idle logger holds %d bytes of heap", per)
	}
	for _, l := range loggers {
		l.Close()
	}
}

// One Write larger than the pooled buffer, without timestamps, that ends
// with a line longer than MaxLine: nothing of it is lost to the buffer.
func TestLargeWriteWithLongLine(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1 << 30, Files: 1}, nil)
	short := strings.Repeat("0123456789abcde\n", (outSize+chunk)/16)
	long := strings.Repeat("x", MaxLine+5)
	l.Write([]byte(short + long + "\n"))
	l.Close()
	if got, want := read(t, filepath.Join(dir, "current")), short+long[:MaxLine]+"\nxxxxx\n"; got != want {
		t.Errorf("got %d bytes, want %d", len(got), len(want))
	}
}
