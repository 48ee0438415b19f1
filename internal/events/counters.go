package events

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Counters are sv-scan's running totals that the ring, being bounded,
// cannot give: the hooks that failed (each also a hook record), and the
// events that could not be written. They are kept beside the ring and
// go on across restarts of sv-scan, as its numbering does.
type Counters struct {
	HookFailures uint64 `json:"hook_failures"`
	Lost         uint64 `json:"events_lost"`
}

// CountersFile is where the scan dir's counters are.
func CountersFile(scanDir string) string {
	return filepath.Join(scanDir, ".sv-scan", "counters.json")
}

// ReadCounters reads the scan dir's counters; none yet is zero.
func ReadCounters(scanDir string) (Counters, error) {
	var c Counters
	data, err := safefile.ReadFile(CountersFile(scanDir), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return Counters{}, &fs.PathError{Op: "read", Path: CountersFile(scanDir), Err: err}
	}
	return c, nil
}

// WriteCounters replaces the scan dir's counters, atomically.
func WriteCounters(scanDir string, c Counters) error {
	data, _ := json.Marshal(c)
	return safefile.Write(CountersFile(scanDir), append(data, '\n'), 0o644)
}
