package svlog

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A Feed copies what is in the pipe each time it is readable, says when
// it is empty for now, and ends the last line at the end of input.
func TestFeed(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1 << 20, Files: 1}, nil)
	defer l.Close()
	r, w := nonBlockingPipe(t)
	rc, _ := r.SyscallConn()
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	feed, err := l.NewFeed(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	if more, err := feed.Readable(); !more || err != nil {
		t.Fatalf("empty pipe: Readable = %v, %v; want true, nil", more, err)
	}
	w.Write([]byte("one\ntw"))
	if more, err := feed.Readable(); !more || err != nil {
		t.Fatalf("Readable = %v, %v", more, err)
	}
	if got := read(t, filepath.Join(dir, "current")); got != "one\ntw" {
		t.Errorf("current = %q", got)
	}
	// More than a chunk at once: all of it is copied before it returns.
	var big strings.Builder
	for i := 0; big.Len() < 3*chunk; i++ {
		fmt.Fprintf(&big, "line %d\n", i)
	}
	go func() { w.Write([]byte("o\n" + big.String() + "last")); w.Close() }()
	for {
		more, err := feed.Readable()
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		time.Sleep(time.Millisecond) // a poller would wait here
	}
	if got, want := read(t, filepath.Join(dir, "current")), "one\ntwo\n"+big.String()+"last\n"; got != want {
		t.Errorf("current holds %d bytes, want %d; ends %q", len(got), len(want), got[max(0, len(got)-20):])
	}
}

// Closing a Feed leaves what it did not copy in the pipe, and the fd open.
func TestFeedCloseLeavesTheRest(t *testing.T) {
	l, _ := Open(Config{Dir: t.TempDir(), Size: 1 << 20, Files: 1}, nil)
	defer l.Close()
	r, w := nonBlockingPipe(t)
	rc, _ := r.SyscallConn()
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	feed, err := l.NewFeed(fd)
	if err != nil {
		t.Fatal(err)
	}
	feed.Close()
	feed.Close()
	w.Write([]byte("kept\n"))
	buf := make([]byte, 16)
	if n, err := unix.Read(fd, buf); err != nil || string(buf[:n]) != "kept\n" {
		t.Errorf("after Close: %q, %v", buf[:n], err)
	}
}

func TestFeedWantsAPipe(t *testing.T) {
	l, _ := Open(Config{Dir: t.TempDir(), Size: 1 << 20, Files: 1}, nil)
	defer l.Close()
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := l.NewFeed(int(f.Fd())); err == nil {
		t.Error("NewFeed took a regular file")
	}
}

// The killed-logger child: pumps the FIFO $SVLOG_TEST_FIFO into the log
// directory $SVLOG_TEST_DIR until killed, through a Feed as sv-scan would.
func init() {
	fifo, dir := os.Getenv("SVLOG_TEST_FIFO"), os.Getenv("SVLOG_TEST_DIR")
	if fifo == "" {
		return
	}
	l, err := Open(Config{Dir: dir, Size: 16 << 10, Files: 10000}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write([]byte("ready\n"))
	if err := l.PumpFile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// A logger killed with KILL at any moment loses no line: bytes leave the
// pipe only once written.
func TestKilledLoggerLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills loggers for a few seconds")
	}
	dir := t.TempDir()
	fifo, logDir := filepath.Join(dir, "fifo"), filepath.Join(dir, "log")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	hold, err := os.OpenFile(fifo, os.O_RDWR, 0) // the FIFO outlives each logger
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	const lines = 200000
	written := make(chan struct{})
	go func() {
		defer close(written)
		var buf []byte
		for i := 1; i <= lines; i++ {
			buf = fmt.Appendf(buf, "line %d %d\n", i, i)
			if len(buf) > 3000 || i == lines {
				hold.Write(buf) // a daemon's stdio block: it cuts lines
				buf = buf[:0]
			}
		}
	}()
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SVLOG_TEST_FIFO="+fifo, "SVLOG_TEST_DIR="+logDir)
		cmd.Stderr = os.Stderr
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 6)
		out.Read(b) // ready
		return cmd
	}
	kills := 0
	for done := false; !done; kills++ {
		cmd := start()
		select {
		case <-written:
			done = true
		case <-time.After(time.Duration(kills%7+1) * time.Millisecond):
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	// The last logger writes what is left; sv-scan's final Drain.
	l, err := Open(Config{Dir: logDir, Size: 16 << 10, Files: 10000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rest)
	if err := l.Drain(rest); err != nil {
		t.Fatal(err)
	}
	l.Close()
	seen := make([]int, lines+1)
	files, _ := Rotated(logDir)
	for _, f := range append(files, filepath.Join(logDir, "current")) {
		for _, line := range strings.Split(read(t, f), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 3 && fields[1] == fields[2] {
				if n, err := strconv.Atoi(fields[1]); err == nil && n >= 1 && n <= lines {
					seen[n]++
				}
			}
		}
	}
	missing, twice := 0, 0
	for n := 1; n <= lines; n++ {
		switch {
		case seen[n] == 0:
			missing++
		case seen[n] > 1:
			twice++
		}
	}
	t.Logf("%d kills, %d lines written twice", kills, twice)
	if missing > 0 {
		t.Errorf("%d of %d lines lost", missing, lines)
	}
	// Without timestamps the bytes move from the pipe to current in one
	// system call (splice), which takes what it writes: none twice.
	if twice > 0 {
		t.Errorf("%d lines written twice", twice)
	}
	if bytes.Contains([]byte(read(t, filepath.Join(logDir, "current"))), []byte("line 0")) {
		t.Error("impossible line")
	}
}

// Through a pipe, output written as it came (spliced from the pipe into
// current) holds the same bytes as Write gives, rotated at line ends, a
// line longer than MaxLine ended there.
func TestPumpSplicesAtLineEnds(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(Config{Dir: dir, Size: 1000, Files: 1000}, nil)
	var in, want strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&in, "line %d\n", i)
		if i%1000 == 500 {
			in.WriteString(strings.Repeat("x", MaxLine+7) + "\n")
		}
	}
	for _, line := range strings.SplitAfter(in.String(), "\n") {
		if len(line) > MaxLine+1 {
			line = line[:MaxLine] + "\n" + line[MaxLine:]
		}
		want.WriteString(line)
	}
	r, w, _ := os.Pipe()
	go func() {
		for p := in.String(); len(p) > 0; p = p[min(4096, len(p)):] {
			w.Write([]byte(p[:min(4096, len(p))]))
		}
		w.Close()
	}()
	if err := l.Pump(int(r.Fd()), -1); err != nil {
		t.Fatal(err)
	}
	r.Close()
	l.Close()
	files, _ := Rotated(dir)
	var got strings.Builder
	for _, f := range append(files, filepath.Join(dir, "current")) {
		data := read(t, f)
		if len(data) > 1000 && strings.Count(data, "\n") > 1 {
			t.Errorf("%s: %d bytes, %d lines: over the size", f, len(data), strings.Count(data, "\n"))
		}
		if len(data) > 0 && data[len(data)-1] != '\n' && f != filepath.Join(dir, "current") {
			t.Errorf("%s does not end a line", f)
		}
		got.WriteString(data)
	}
	if got.String() != want.String() {
		t.Errorf("got %d bytes, want %d", got.Len(), want.Len())
	}
}
