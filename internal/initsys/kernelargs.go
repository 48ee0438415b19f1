package initsys

import (
	"strconv"
	"strings"
)

// Boot is what the kernel's command line asks of a boot.
type Boot int

const (
	// BootNormal runs stage 1, then stage 2.
	BootNormal Boot = iota
	// BootSingle runs stage 1, then a shell on the console; stage 2
	// starts when the shell exits (sysvinit's single-user mode).
	BootSingle
	// BootEmergency runs a shell on the console before anything else;
	// stage 1 starts when the shell exits.
	BootEmergency
)

func (b Boot) String() string {
	switch b {
	case BootSingle:
		return "single-user"
	case BootEmergency:
		return "emergency"
	}
	return "normal"
}

// kernelWords are the words of the kernel's command line that mean
// something to init, as sysvinit and runit read them. The kernel hands
// init every word it does not know itself (words with '=' become
// environment variables instead).
var kernelWords = map[string]Boot{
	"single": BootSingle, "s": BootSingle, "S": BootSingle, "1": BootSingle, "-s": BootSingle, "rescue": BootSingle,
	"emergency": BootEmergency, "-b": BootEmergency, "b": BootEmergency,
	// sysvinit's multi-user runlevels, and "auto", which LILO and the
	// kernel add on an unattended boot: a normal boot.
	"2": BootNormal, "3": BootNormal, "4": BootNormal, "5": BootNormal, "auto": BootNormal,
	"--": BootNormal,
}

// ParseKernelArgs reads the words the kernel passed to init. The boot is
// the most cautious one asked (emergency over single over normal); the
// words that mean nothing here are returned, to be noted on the console
// and otherwise ignored: PID 1 never fails on its arguments.
func ParseKernelArgs(words []string) (boot Boot, ignored []string) {
	for _, w := range words {
		b, ok := kernelWords[w]
		if !ok {
			ignored = append(ignored, w)
			continue
		}
		boot = max(boot, b)
	}
	return boot, ignored
}

// QuoteWords shows words as the console note lists them.
func QuoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return strings.Join(q, " ")
}
