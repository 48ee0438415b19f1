// Package hookq is the on-disk queue of a webhook's deliveries: sv-scan
// adds to it (package hooks), and the deliverer (package webhook, a
// process of its own) sends what it holds, oldest first, and removes what
// was delivered. The queue is a directory per URL in the scan dir's
// runtime state (SCANDIR/.sv-scan/webhooks/HASH): it outlives both
// processes, so that a delivery is not lost when either restarts, and
// holds at most Bound deliveries: past it, new ones are dropped and
// counted, and the next delivery says how many.
//
// In a queue's directory: `url`, the URL; one file per delivery, named
// so that their order is their names' (NNNNNNNNNNNNNNNNNNNN.KK.json: the
// event's number, then the hook's kind); `dropped`, how many were dropped
// in all (written by sv-scan), and `reported`, how many of those the
// deliveries have told of (written by the deliverer). Files are replaced
// atomically; names that begin with a dot are being written.
package hookq

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Bound is how many deliveries a queue holds.
const Bound = 1000

// maxEntry bounds what is read of one delivery: an event and a log tail.
const maxEntry = 1 << 20

// Root is where the scan dir's queues are.
func Root(scanDir string) string { return filepath.Join(scanDir, ".sv-scan", "webhooks") }

// Dir is the queue of url.
func Dir(scanDir, url string) string {
	h := fnv.New64a()
	h.Write([]byte(url))
	return filepath.Join(Root(scanDir), fmt.Sprintf("%016x", h.Sum64()))
}

// EntryName names a delivery: by the event's number, then its kind.
func EntryName(seq uint64, kind int) string { return fmt.Sprintf("%020d.%02d.json", seq, kind) }

// Add queues a delivery of payload to url. When the queue is full, it is
// dropped and counted instead: added is false.
func Add(dir, url, name string, payload []byte) (added bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(dir, "url")); err != nil {
		if err := safefile.Write(filepath.Join(dir, "url"), []byte(url+"\n"), 0o600); err != nil {
			return false, err
		}
	}
	names, err := List(dir)
	if err != nil {
		return false, err
	}
	if len(names) >= Bound {
		return false, writeCount(filepath.Join(dir, "dropped"), readCount(filepath.Join(dir, "dropped"))+1)
	}
	return true, safefile.Write(filepath.Join(dir, name), payload, 0o600)
}

// List is the deliveries queued, oldest first.
func List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Queues are the queues that exist under root, by directory.
func Queues(root string) []string {
	ents, _ := os.ReadDir(root)
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	return dirs
}

// URL is the URL of the queue in dir.
func URL(dir string) (string, error) {
	data, err := safefile.ReadFile(filepath.Join(dir, "url"), 64<<10)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// Read is one delivery's payload.
func Read(dir, name string) ([]byte, error) {
	return safefile.ReadFile(filepath.Join(dir, name), maxEntry)
}

// Done removes a delivery that was sent (or given up on).
func Done(dir, name string) error {
	err := os.Remove(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Unreported is how many deliveries were dropped that no delivery has
// told of yet.
func Unreported(dir string) uint64 {
	d, r := readCount(filepath.Join(dir, "dropped")), readCount(filepath.Join(dir, "reported"))
	if d < r {
		return 0
	}
	return d - r
}

// Reported records that a delivery told of n more dropped.
func Reported(dir string, n uint64) error {
	p := filepath.Join(dir, "reported")
	return writeCount(p, readCount(p)+n)
}

// Dropped is how many deliveries were dropped in all.
func Dropped(dir string) uint64 { return readCount(filepath.Join(dir, "dropped")) }

func readCount(path string) uint64 {
	data, err := safefile.ReadFile(path, 64)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return n
}

func writeCount(path string, n uint64) error {
	return safefile.Write(path, []byte(strconv.FormatUint(n, 10)+"\n"), 0o600)
}

// Join puts the fields of the JSON object b after those of the JSON
// object a: a delivery and what is added to it.
func Join(a, b []byte) []byte {
	out := append([]byte(nil), a[:len(a)-1]...)
	if len(b) <= 2 { // {}
		return append(out, '}')
	}
	out = append(out, ',')
	return append(out, b[1:]...)
}
