package proc

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Leftover is a process still running when PID 1 ends the system.
type Leftover struct {
	Pid  int
	Comm string
}

func (l Leftover) String() string { return fmt.Sprintf("%d (%s)", l.Pid, l.Comm) }

// Leftovers lists the processes in procDir (a mounted /proc) that PID 1
// must end before it syncs: every process but PID 1 itself and the
// kernel's own threads. kill(-1, 0) cannot tell: it finds the kernel's
// threads on a machine, where they always exist and ignore every signal
// (a PID namespace hides them, so only a real boot shows the difference).
// A process that ends while the directory is read is not listed.
func Leftovers(procDir string) ([]Leftover, error) {
	var r procReader
	names, err := r.names(procDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", procDir, err)
	}
	var left []Leftover
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 1 {
			continue // not a process (self, sys, ...), or PID 1
		}
		st, err := r.stat(filepath.Join(procDir, name, "stat"))
		switch {
		case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH):
			continue // it ended meanwhile
		case err != nil:
			// Counted, not known to be the kernel's; the others are
			// still told apart.
			left = append(left, Leftover{Pid: pid, Comm: "stat: " + err.Error()})
		case !st.KernelThread():
			left = append(left, Leftover{Pid: pid, Comm: st.Comm})
		}
	}
	sort.Slice(left, func(i, j int) bool { return left[i].Pid < left[j].Pid })
	return left, nil
}

// JoinLeftovers names up to max of the processes, then how many more.
func JoinLeftovers(left []Leftover, max int) string {
	var parts []string
	for i, l := range left {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(left)-max))
			break
		}
		parts = append(parts, l.String())
	}
	return strings.Join(parts, ", ")
}
