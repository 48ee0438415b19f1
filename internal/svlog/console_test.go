package svlog

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// recorder keeps each write apart, to see that a line is one write.
type recorder struct {
	mu     sync.Mutex
	writes []string
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func consoleLogger(t *testing.T, c *Console, name string) *Logger {
	t.Helper()
	l, err := Open(Config{Console: c, Prefix: name + ": "}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConsoleLines(t *testing.T) {
	rec := &recorder{}
	l := consoleLogger(t, NewConsole(rec), "web")
	l.Write([]byte("one\ntw"))
	l.Write([]byte("o\nthr"))
	l.Finish()
	l.Write([]byte("four"))
	l.Close()
	want := []string{"web: one\n", "web: two\n", "web: thr\n", "web: four\n"}
	if fmt.Sprint(rec.writes) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", rec.writes, want)
	}
}

func TestConsoleLongLine(t *testing.T) {
	rec := &recorder{}
	l := consoleLogger(t, NewConsole(rec), "x")
	l.Write([]byte(strings.Repeat("a", MaxLine+10) + "\n"))
	if len(rec.writes) != 2 || rec.writes[0] != "x: "+strings.Repeat("a", MaxLine)+"\n" || rec.writes[1] != "x: aaaaaaaaaa\n" {
		t.Fatalf("got %d writes: %.40q...", len(rec.writes), rec.writes)
	}
}

// Many services writing at once, in pieces: every line comes out whole,
// in one write, after its own service's name.
func TestConsoleInterleaving(t *testing.T) {
	rec := &recorder{}
	c := NewConsole(rec)
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := consoleLogger(t, c, fmt.Sprintf("svc%d", s))
			for i := range 200 {
				line := fmt.Sprintf("svc%d line %d\n", s, i)
				l.Write([]byte(line[:5]))
				l.Write([]byte(line[5:]))
			}
		}()
	}
	wg.Wait()
	if len(rec.writes) != 8*200 {
		t.Fatalf("%d writes, want %d", len(rec.writes), 8*200)
	}
	for _, w := range rec.writes {
		name, text, ok := strings.Cut(w, ": ")
		if !ok || !strings.HasPrefix(text, name+" line ") || strings.Count(w, "\n") != 1 {
			t.Fatalf("mixed line %q", w)
		}
	}
}

func FuzzConsole(f *testing.F) {
	f.Add([]byte("a\nbc\n\nd"), 3)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		rec := &recorder{}
		l := consoleLogger(t, NewConsole(rec), "n")
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		l.Write(in[:cut])
		l.Write(in[cut:])
		l.Finish()
		// Every write is one line after the prefix; without the prefixes
		// they are the input, with newlines added only where a line
		// was too long or unfinished.
		var got bytes.Buffer
		for _, w := range rec.writes {
			if !strings.HasPrefix(w, "n: ") || !strings.HasSuffix(w, "\n") || len(w) > len("n: ")+MaxLine+1 {
				t.Fatalf("bad write %q", w)
			}
			got.WriteString(w[3:])
		}
		if got.Len() < len(in) || !bytes.Equal(bytes.ReplaceAll(got.Bytes(), []byte("\n"), nil), bytes.ReplaceAll(in, []byte("\n"), nil)) {
			t.Fatalf("lines %q from input %q", got.String(), in)
		}
	})
}
