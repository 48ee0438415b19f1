package metrics

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/proc"
)

// Process is what the metrics say of the scanner's own process (sv-scan):
// what Prometheus' client libraries export as process_*, under sv_scanner_
// so that it is not taken for the exporter's (sv-http's) own.
type Process struct {
	CPUSeconds    float64
	ResidentBytes float64
	VirtualBytes  float64
	StartTime     float64 // seconds since the epoch
	OpenFDs       float64
	MaxFDs        float64 // -1: unlimited or unknown
	Threads       float64
}

// userHZ is the unit of /proc/PID/stat's times (fixed on Linux).
const userHZ = 100

// ReadProcess reads pid's figures from /proc.
func ReadProcess(pid int) (Process, error) {
	base := "/proc/" + strconv.Itoa(pid)
	data, err := os.ReadFile(base + "/stat")
	if err != nil {
		return Process{}, err
	}
	st, err := proc.ParseStat(data)
	if err != nil {
		return Process{}, fmt.Errorf("%s/stat: %w", base, err)
	}
	p := Process{CPUSeconds: float64(st.Utime+st.Stime) / userHZ, MaxFDs: -1}
	if boot, err := bootTime(); err == nil {
		p.StartTime = boot + float64(st.Start)/userHZ
	}
	if statm, err := os.ReadFile(base + "/statm"); err == nil {
		f := strings.Fields(string(statm))
		if len(f) >= 2 {
			page := float64(os.Getpagesize())
			size, _ := strconv.ParseFloat(f[0], 64)
			rss, _ := strconv.ParseFloat(f[1], 64)
			p.VirtualBytes, p.ResidentBytes = size*page, rss*page
		}
	}
	p.OpenFDs = openFDs(base + "/fd")
	if n, err := countEntries(base + "/task"); err == nil {
		p.Threads = float64(n)
	}
	if limits, err := os.ReadFile(base + "/limits"); err == nil {
		p.MaxFDs = maxOpenFiles(limits)
	}
	return p, nil
}

// maxOpenFiles is the soft limit in /proc/PID/limits' "Max open files".
func maxOpenFiles(limits []byte) float64 {
	sc := bufio.NewScanner(bytes.NewReader(limits))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Max open files")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) > 0 {
			if n, err := strconv.ParseFloat(f[0], 64); err == nil {
				return n
			}
		}
	}
	return -1
}

func bootTime() (float64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("/proc/stat: no btime")
}

// WriteProcess writes the scanner's process metrics.
func WriteProcess(w io.Writer, p Process, node string) error {
	b := bufio.NewWriter(w)
	e := &exposition{b: b, node: node}
	for _, m := range []struct {
		f family
		v float64
	}{
		{family{"sv_scanner_cpu_seconds_total", "counter", "CPU time sv-scan has used, user and system, in seconds."}, p.CPUSeconds},
		{family{"sv_scanner_resident_memory_bytes", "gauge", "sv-scan's resident memory, in bytes."}, p.ResidentBytes},
		{family{"sv_scanner_virtual_memory_bytes", "gauge", "sv-scan's virtual memory, in bytes."}, p.VirtualBytes},
		{family{"sv_scanner_start_time_seconds", "gauge", "When sv-scan started, in seconds since the epoch."}, p.StartTime},
		{family{"sv_scanner_open_fds", "gauge", "File descriptors sv-scan holds open."}, p.OpenFDs},
		{family{"sv_scanner_max_fds", "gauge", "sv-scan's limit of open file descriptors (-1: none)."}, p.MaxFDs},
		{family{"sv_scanner_threads", "gauge", "sv-scan's threads."}, p.Threads},
	} {
		e.header(m.f)
		e.sample(m.f.name, m.v)
	}
	return b.Flush()
}

// openFDs is how many descriptors the process holds: the size of its
// /proc/PID/fd, which Linux 6.2 and later give as that count; before, the
// directory's entries counted (each of which the kernel makes a dentry
// for: milliseconds at thousands of descriptors).
func openFDs(dir string) float64 {
	var st unix.Stat_t
	if unix.Stat(dir, &st) == nil && st.Size > 0 {
		return float64(st.Size)
	}
	n, err := countEntries(dir)
	if err != nil {
		return 0
	}
	return float64(n)
}

// countEntries counts a directory's entries but . and .., reading the
// records only: sv-scan holds thousands of descriptors at 1,000 services,
// and a DirEntry each would be thousands of allocations per scrape.
func countEntries(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 32<<10)
	n := 0
	for {
		got, err := unix.Getdents(fd, buf)
		if err != nil {
			return 0, err
		}
		if got <= 0 {
			return n, nil
		}
		for rec := buf[:got]; len(rec) >= 19; {
			// struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name.
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen == 0 || reclen > len(rec) {
				break
			}
			if name := unix.ByteSliceToString(rec[19:reclen]); name != "." && name != ".." {
				n++
			}
			rec = rec[reclen:]
		}
	}
}
