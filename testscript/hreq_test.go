package testscript_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// hreqMain is hreq, an HTTP client for tests:
//
//	hreq [-X METHOD] [-H 'Name: value']... [-d BODY] [-unix PATH]
//	     [-status CODE] [-i] [-sse N] [-t DURATION] URL
//
// -d @FILE sends FILE as the body. It prints the body on stdout (with -i, the status line and the headers
// first, sorted) and fails (exit 1) unless the status is CODE (default
// 200). -unix sends the request over the unix socket PATH. -sse N reads
// N Server-Sent Events of the stream and prints each as one line, "ID
// DATA" (lines of DATA joined by \n), then ends. The whole request is
// bounded by -t (default 30s).
func hreqMain() {
	fs := flag.NewFlagSet("hreq", flag.ExitOnError)
	method := fs.String("X", "GET", "")
	body := fs.String("d", "", "")
	sock := fs.String("unix", "", "")
	status := fs.Int("status", 200, "")
	head := fs.Bool("i", false, "")
	sse := fs.Int("sse", 0, "")
	limit := fs.Duration("t", 30*time.Second, "")
	until := fs.String("until", "", "")
	var headers multiFlag
	fs.Var(&headers, "H", "")
	fs.Parse(os.Args[1:])
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: hreq [flags] URL")
		os.Exit(2)
	}
	url := fs.Arg(0)
	if file, ok := strings.CutPrefix(*body, "@"); ok {
		data, err := os.ReadFile(file)
		if err != nil {
			fail("%v", err)
		}
		*body = string(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	if *until != "" {
		// A server with no events to wait on (Prometheus, which scrapes
		// when it will): asked again until its answer says so.
		re := regexp.MustCompile(*until)
		for {
			out, code := hreqOnce(ctx, url, *method, *body, *sock, headers, *status, *head, 0)
			if code == 0 && re.MatchString(out) {
				fmt.Print(out)
				return
			}
			select {
			case <-ctx.Done():
				fail("%s: no answer matched %q within %s; the last: %s", url, *until, *limit, out)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	out, code := hreqOnce(ctx, url, *method, *body, *sock, headers, *status, *head, *sse)
	fmt.Print(out)
	if code != 0 {
		os.Exit(code)
	}
}

// hreqOnce makes the request: the output, and 0 or the exit code with
// the reason as the output.
func hreqOnce(ctx context.Context, url, method, body, sock string, headers []string, status int, head bool, sse int) (string, int) {
	var w strings.Builder
	fail := func(format string, args ...any) (string, int) {
		fmt.Fprintf(os.Stderr, "hreq: "+format+"\n", args...)
		return fmt.Sprintf(format, args...), 1
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if sock != "" {
		client.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fail("%v", err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := client.Do(req)
	if err != nil {
		return fail("%s: %v", url, err)
	}
	defer res.Body.Close()
	if head {
		fmt.Fprintf(&w, "%s %s\n", res.Proto, res.Status)
		var keys []string
		for k := range res.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&w, "%s: %s\n", k, strings.Join(res.Header[k], ", "))
		}
		fmt.Fprintln(&w)
	}
	if res.StatusCode != status {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fail("%s: status %d, want %d: %s", url, res.StatusCode, status, strings.TrimSpace(string(data)))
	}
	if sse > 0 {
		if err := readEvents(res.Body, sse, &w); err != nil {
			return fail("%s: %v", url, err)
		}
		return w.String(), 0
	}
	if _, err := io.Copy(&w, res.Body); err != nil {
		return fail("%s: %v", url, err)
	}
	return w.String(), 0
}

// readEvents prints n events of an SSE stream, each as "ID DATA".
func readEvents(r io.Reader, n int, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				fmt.Fprintf(w, "%s %s\n", id, strings.Join(data, `\n`))
				id, data = "", nil
				if n--; n == 0 {
					return nil
				}
			}
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(line[5:], " "))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("the stream ended with %d events still to come", n)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "hreq: "+format+"\n", args...)
	os.Exit(1)
}
