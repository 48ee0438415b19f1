package hookq

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A queue keeps its deliveries in order, holds Bound of them, counts what
// it drops, and tells how many drops no delivery has reported yet.
func TestQueue(t *testing.T) {
	scan := t.TempDir()
	url := "http://127.0.0.1:9/x"
	dir := Dir(scan, url)
	if Dir(scan, url) != dir || Dir(scan, url+"y") == dir {
		t.Fatal("a queue per URL")
	}
	for i := Bound + 2; i >= 3; i-- { // added out of order: the names order them
		added, err := Add(dir, url, EntryName(uint64(i), i%3), []byte(fmt.Sprintf(`{"seq":%d}`, i)))
		if err != nil || !added {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	added, err := Add(dir, url, EntryName(1, 0), []byte(`{}`))
	if err != nil || added {
		t.Fatalf("a full queue: added %v, %v", added, err)
	}
	names, _ := List(dir)
	if len(names) != Bound || names[0] != EntryName(3, 0) || names[Bound-1] != EntryName(Bound+2, (Bound+2)%3) {
		t.Fatalf("%d queued, first %s", len(names), names[0])
	}
	if got, _ := URL(dir); got != url {
		t.Errorf("URL = %q", got)
	}
	if Dropped(dir) != 1 || Unreported(dir) != 1 {
		t.Errorf("dropped %d, unreported %d", Dropped(dir), Unreported(dir))
	}
	Reported(dir, 1)
	if Unreported(dir) != 0 || Dropped(dir) != 1 {
		t.Errorf("after the report: unreported %d", Unreported(dir))
	}
	if body, err := Read(dir, names[0]); err != nil || string(body) != `{"seq":3}` {
		t.Errorf("Read = %s, %v", body, err)
	}
	if err := Done(dir, names[0]); err != nil || Done(dir, names[0]) != nil {
		t.Errorf("Done twice: %v", err)
	}
	// a file being written (a dot name) is no delivery
	os.WriteFile(filepath.Join(dir, ".x.json"), nil, 0o600)
	if n, _ := List(dir); len(n) != Bound-1 {
		t.Errorf("%d listed", len(n))
	}
	if q := Queues(Root(scan)); len(q) != 1 || q[0] != dir {
		t.Errorf("Queues = %v", q)
	}
}

func TestJoin(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{`{"seq":1}`, `{"hook":"crash"}`, `{"seq":1,"hook":"crash"}`},
		{`{"seq":1}`, `{}`, `{"seq":1}`},
	} {
		if got := string(Join([]byte(c.a), []byte(c.b))); got != c.want {
			t.Errorf("Join(%s, %s) = %s", c.a, c.b, got)
		}
	}
}
