package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func init() {
	register(section{52, "steady", (*bench).steadySection})
}

// steadyServices and steadyLines: sv-scan's memory is followed at this
// many services while this many lines go through one builtin logger.
const (
	steadyServices = 1000
	steadyLines    = 1000000
	steadyBatches  = 4
)

// steadySection: does sv-scan's memory stay flat once its services are
// up, while a million lines go through one of its loggers?
func (b *bench) steadySection(r *strings.Builder) {
	fmt.Fprintf(r, "## Memory while logging\n\n")
	fmt.Fprintf(r, "sv-scan supervises %d sv-gen services (as in the section above) and one more, whose daemon writes %d lines of 80 bytes through its builtin logger (1 MB rotation, 3 files kept, no timestamps) in %d batches, each let go by the bench once the one before is all in the log directory. sv-scan's PSS (smaps_rollup) is read a second after all are up, then a second after each batch is written: once steady, it should not grow with the lines.\n\n", steadyServices, steadyLines, steadyBatches)
	pss, err := b.steadyMemory()
	if err != nil {
		fmt.Fprintf(r, "Not measured: %v\n\n", err)
		return
	}
	head := []string{"all up"}
	for i := 1; i <= steadyBatches; i++ {
		head = append(head, fmt.Sprintf("%d lines", i*steadyLines/steadyBatches))
	}
	fmt.Fprintf(r, "| | %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)+1))
	cells := make([]string, len(pss))
	for i, kb := range pss {
		cells[i] = mib(kb)
	}
	fmt.Fprintf(r, "| sv-scan PSS | %s |\n\n", strings.Join(cells, " | "))
	grew := pss[len(pss)-1] - pss[1]
	fmt.Fprintf(r, "From the first batch to the last, sv-scan's PSS changed by %+d KiB (%.1f%%).\n\n", grew, 100*float64(grew)/float64(pss[1]))
}

// steadyMemory returns sv-scan's PSS (KiB) when all is up and after each
// batch of lines.
func (b *bench) steadyMemory() ([]int, error) {
	root, err := b.generated(steadyServices, daemonSpec{}, 0)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.work, "steady")
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	logDir := filepath.Join(dir, "log")
	gate := filepath.Join(dir, "gate")
	marker := filepath.Join(dir, "producer.marker")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Each batch waits for its gate file, then writes its lines at once.
	script := fmt.Sprintf(`echo $$ >%s; i=0; for b in $(seq %d); do while [ ! -e %s.$b ]; do sleep 0.05; done; seq -f "line %%.0f %s" $((i+1)) $((i+%d)); i=$((i+%d)); done; exec sleep 100000`,
		marker, steadyBatches, gate, strings.Repeat("x", 62), steadyLines/steadyBatches, steadyLines/steadyBatches)
	const name = "zproducer" // not an sNNNN: no other section links it
	add := exec.Command(filepath.Join(b.bin, "sv-gen"), "add", name, "--set", "LOG_TIMESTAMP=none", "--set", "LOG_SIZE=1000000",
		"--set", "LOG_FILES=3", "--set", "LOG_DIR="+logDir, "--", "/bin/sh", "-c", script)
	add.Env = append(os.Environ(), "SV_ROOT="+root)
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sv-gen add: %v: %s", err, out)
	}
	defer os.RemoveAll(filepath.Join(root, "etc/sv", name))
	t, err := b.buildTree("sv-scan", filepath.Join(dir, "tree"), steadyServices, daemonSpec{}, 0)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	if err := os.Symlink(filepath.Join(root, "etc/sv", name), filepath.Join(t.dir, "scan", name)); err != nil {
		return nil, err
	}
	if _, _, err := waitMarker(marker, 0, 60*time.Second); err != nil {
		return nil, fmt.Errorf("the producer: %w", err)
	}
	top := t.cmd.Process.Pid
	time.Sleep(time.Second) // settled, as in the memory table
	pss := []int{procKB(top, "/smaps_rollup", "Pss:")}
	for i := 1; i <= steadyBatches; i++ {
		os.WriteFile(fmt.Sprintf("%s.%d", gate, i), nil, 0o644)
		last := fmt.Sprintf("line %d %s\n", i*steadyLines/steadyBatches, strings.Repeat("x", 62))
		if err := waitLogTail(filepath.Join(logDir, "current"), last, 120*time.Second); err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		time.Sleep(time.Second)
		pss = append(pss, procKB(top, "/smaps_rollup", "Pss:"))
	}
	return pss, nil
}

// waitLogTail waits until the log file ends with last (polled: the
// logger renames and rotates it).
func waitLogTail(path, last string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && bytes.HasSuffix(data, []byte(last)) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("the last line is not in the log after " + limit.String())
}
