// Package health checks a running daemon as SVC_HEALTH and SVC_MEMORY_MAX
// ask: a TCP connection or a command (package ready's probes, once), an
// HTTP GET, or the resident memory of its processes. The GET is written
// here, on a plain connection: sv-scan, which runs the checks, carries no
// HTTP client (see docs/HOOKS.md).
package health

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/ready"
)

// Runner runs a check: command once, within ctx: nil when it exited 0,
// else an error that holds the end of its output (ready.CheckFunc).
type Runner = ready.CheckFunc

// Check runs one check of h on the daemon whose processes pids lists;
// nil means healthy, else the error says what failed (the check's output).
func Check(ctx context.Context, h options.Health, pids func() []int, run Runner) error {
	switch c := h.Check; c.Kind {
	case "tcp", "check": // as SVC_READY's, once
		if err := ready.Probe(ctx, options.Ready{Kind: c.Kind, Addr: c.Addr, Cmd: c.Cmd}, run); err != nil {
			return err
		}
	case "http":
		if err := Get(ctx, c.URL, c.Status); err != nil {
			return err
		}
	}
	if h.MemoryMax > 0 && pids != nil {
		if rss := Resident(pids()); rss > h.MemoryMax {
			return fmt.Errorf("memory %s above SVC_MEMORY_MAX=%s", Size(rss), Size(h.MemoryMax))
		}
	}
	return nil
}

// Get asks url with an HTTP/1.0 GET: healthy when it answers want, or
// any 2xx or 3xx when want is 0.
func Get(ctx context.Context, rawURL string, want int) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("http %s: not an http:// URL", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("http %s: %v", rawURL, ready.NetError(err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	path := u.RequestURI()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: sv-scan\r\nConnection: close\r\n\r\n", path, u.Host); err != nil {
		return fmt.Errorf("http %s: %v", rawURL, ready.NetError(err))
	}
	line, err := bufio.NewReaderSize(conn, 512).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("http %s: no answer: %v", rawURL, ready.NetError(err))
	}
	code, reason, err := ParseStatusLine(line)
	if err != nil {
		return fmt.Errorf("http %s: %v", rawURL, err)
	}
	if (want == 0 && code >= 200 && code < 400) || code == want {
		return nil
	}
	return fmt.Errorf("http %s: %d %s", rawURL, code, reason)
}

// ParseStatusLine reads an HTTP/1.x answer's first line: its status code
// and reason.
func ParseStatusLine(line string) (int, string, error) {
	line = strings.TrimRight(line, "\r\n")
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") {
		return 0, "", fmt.Errorf("not an HTTP answer: %q", snippet(line))
	}
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil || len(codeText) != 3 || code < 100 {
		return 0, "", fmt.Errorf("not an HTTP status: %q", snippet(line))
	}
	return code, reason, nil
}

func snippet(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Resident is the resident memory of the processes, in bytes (a process
// gone meanwhile counts nothing).
func Resident(pids []int) int64 {
	page := int64(os.Getpagesize())
	var sum int64
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
		if err != nil {
			continue
		}
		f := strings.Fields(string(data))
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		sum += n * page
	}
	return sum
}

// Size is a number of bytes for people: 512M, 1.5G, 100K.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + "G"
	case n >= 1<<20:
		return strconv.FormatInt(n>>20, 10) + "M"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + "K"
	}
	return strconv.FormatInt(n, 10)
}
