package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/xmlrpc"
)

// The http section: what a client of sv-http (sv-scan --http) waits for.
// A tree of 1,000 services answers its JSON listing, its metrics, its
// page and supervisorctl's getAllProcessInfo, each timed at the client;
// supervisord, with as many programs, answers the same XML-RPC call; and
// a daemon's death reaches a client of the event stream (SSE), against
// sv-scan's own write of the event to its ring, the floor.

func init() { register(section{96, "http", (*bench).httpSection}) }

// httpServices is the size of the tree whose answers are timed.
const httpServices = 1000

// Targets, said in the verdicts.
const (
	httpListTarget  = 10 * time.Millisecond  // /v1/services and /metrics
	httpPageTarget  = 100 * time.Millisecond // the page
	httpRPCRatio    = 10.0                   // supervisord's getAllProcessInfo over sv-http's
	httpSSEOverRing = 2 * time.Millisecond   // the SSE event over the ring's line
)

// httpWarmups are the requests of each kind made before the timed ones.
const httpWarmups = 3

func (b *bench) httpSection(r *strings.Builder) {
	fmt.Fprintf(r, "## sv-http: the API, the metrics, the page, the XML-RPC and the events\n\n")
	fmt.Fprintf(r, "sv-scan runs with `--http 127.0.0.1:0` and supervises %s services (each `/bin/sh -c 'echo $$ >MARKER; exec sleep 100000'`, `LOG=none`, made by sv-gen from an OPTIONS file each), all up (`GET /v1/services` says `up` for every one), then left a second to settle. One keep-alive `http.Client` of the bench makes, interleaved, %d warm-up requests of each kind and then %d timed ones: `GET /v1/services` (every service's state, JSON), `GET /metrics` (Prometheus text), `GET /` (the status page as first served, rendered by the server; not the script and style it loads), and `POST /RPC2` of supervisorctl's `supervisor.getAllProcessInfo`. Each is timed from before the request is sent to the last byte of its answer read (not decoded); the size is the answer's body. supervisord (Debian's) then runs %s `[program:]`s (`sleep 100000`, `startsecs=0`, no logs) in a PID namespace of its own, its XML-RPC on `inet_http_server` on loopback, until getAllProcessInfo says all are RUNNING, and answers the same call the same way. The ratio is each call's median over sv-http's.\n\n", thousands(httpServices), httpWarmups, b.reps, thousands(httpServices))
	res, load, err := b.httpRequests(httpServices)
	fmt.Fprintf(r, "| server, request | runs | median | min | max | answer | ratio |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	var rpc time.Duration
	if err != nil {
		fmt.Fprintf(r, "| sv-http | | not measured: %v | | | | |\n", err)
	} else {
		for _, t := range res {
			ratio := ""
			if t.rpc {
				rpc, ratio = t.st.med, "1.0x"
			}
			httpRow(r, "sv-http, "+t.name, t, ratio)
		}
	}
	sd, sdErr := b.supervisordRequests(httpServices)
	switch {
	case sdErr != nil:
		fmt.Fprintf(r, "| supervisord, POST /RPC2 getAllProcessInfo | | not measured: %v | | | | |\n", sdErr)
	default:
		ratio := ""
		if rpc > 0 {
			ratio = fmt.Sprintf("%.1fx", float64(sd.st.med)/float64(rpc))
		}
		httpRow(r, "supervisord, "+sd.name, sd, ratio)
	}
	fmt.Fprintln(r)
	if err == nil {
		httpVerdict(r, res, sd, sdErr)
		fmt.Fprintf(r, "\nThe machine's load average (1 min) as sv-http's timed requests began: %s, on %d CPUs.\n", load, runtime.NumCPU())
	}

	fmt.Fprintf(r, "\n### A daemon's death to a client of the event stream\n\n")
	n := max(20, b.reps)
	fmt.Fprintf(r, "sv-scan runs with `--http 127.0.0.1:0` and %d services like the ones above, each killed once (kill -9 by the bench) after its daemon has run over a second. One client of the bench follows `GET /v1/events?follow=1` (Server-Sent Events) and stamps each event as it reads it; the bench also watches the ring sv-scan writes the events to (`SCANDIR/.sv-scan/events/current`, inotify on its directory) and stamps each line as it reads it. Timed from just before the kill to: the line saying the daemon ended (`from` `up`, reason `crashed`) read from the ring, the floor, since sv-http reads the same line to send it; the same event read from the stream; and, for context, the new daemon's marker written (the restart).\n\n", n)
	fmt.Fprintf(r, "| from kill -9 to | runs | median | min | max |\n| --- | --- | --- | --- | --- |\n")
	ev := b.httpEvents(n)
	for _, row := range []struct {
		name string
		st   stats
	}{
		{"the event's line in the ring (floor)", ev.ring},
		{"the event read from the SSE stream", ev.sse},
		{"the new daemon's marker (the restart)", ev.restart},
	} {
		if row.st.err != "" {
			fmt.Fprintf(r, "| %s | | not measured: %s | | |\n", row.name, row.st.err)
			continue
		}
		fmt.Fprintf(r, "| %s | %d | %s | %s | %s |\n", row.name, row.st.n, round(row.st.med), round(row.st.min), round(row.st.max))
	}
	if ev.ring.err == "" && ev.sse.err == "" {
		over := ev.sse.med - ev.ring.med
		fmt.Fprintf(r, "\nThe stream over the ring: %s between the medians (the median of each run's difference: %s); the target is under %s: %s.", round(over), round(ev.over.med), round(httpSSEOverRing), metOrNot(over < httpSSEOverRing))
		if len(ev.reasons) > 0 {
			fmt.Fprintf(r, " Reasons seen on the ends: %s.", strings.Join(ev.reasons, ", "))
		}
		fmt.Fprintln(r)
	}
}

// httpTiming is one kind of request and its timings.
type httpTiming struct {
	name string
	rpc  bool // supervisor.getAllProcessInfo
	req  func() (*http.Request, error)
	st   stats
	size int64 // the last answer's body, bytes
	anew int   // timed requests that could not reuse a connection
}

func httpRow(r *strings.Builder, name string, t httpTiming, ratio string) {
	if t.st.err != "" {
		fmt.Fprintf(r, "| %s | | %s | | | | |\n", name, t.st.err)
		return
	}
	fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %s | %s |\n", name, t.st.n, round(t.st.med), round(t.st.min), round(t.st.max), kib(t.size), ratio)
}

// thousands writes n with a comma between thousands, as the report does.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func kib(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/1024)
}

func metOrNot(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func httpVerdict(r *strings.Builder, res []httpTiming, sd httpTiming, sdErr error) {
	var parts []string
	var rpc time.Duration
	for _, t := range res {
		if t.st.err != "" {
			continue
		}
		switch {
		case t.rpc:
			rpc = t.st.med
		case strings.HasPrefix(t.name, "GET / "):
			parts = append(parts, fmt.Sprintf("the page %s (target under %s): %s", round(t.st.med), round(httpPageTarget), metOrNot(t.st.med < httpPageTarget)))
		default:
			parts = append(parts, fmt.Sprintf("%s %s (target under %s): %s", strings.Fields(t.name)[1], round(t.st.med), round(httpListTarget), metOrNot(t.st.med < httpListTarget)))
		}
	}
	if sdErr == nil && sd.st.err == "" && rpc > 0 {
		ratio := float64(sd.st.med) / float64(rpc)
		parts = append(parts, fmt.Sprintf("getAllProcessInfo %.1fx faster than supervisord's (target at least %.0fx): %s", ratio, httpRPCRatio, metOrNot(ratio >= httpRPCRatio)))
	}
	fmt.Fprintf(r, "Verdict, medians at %s services: %s.\n", thousands(httpServices), strings.Join(parts, "; "))
	var anew []string
	for _, t := range append(res, sd) {
		if t.anew > 0 {
			anew = append(anew, fmt.Sprintf("%s: %d of %d", t.name, t.anew, t.st.n))
		}
	}
	if len(anew) > 0 {
		fmt.Fprintf(r, "\nTimed requests that had to connect anew (the server closed the connection): %s.\n", strings.Join(anew, "; "))
	}
}

// httpTree is sv-scan --http 127.0.0.1:0 on a tree of services.
type httpTree struct {
	*tree
	scan, url string
	pids      []int // each daemon's pid, as its marker says
}

// startHTTPTree makes n services under dir, starts sv-scan --http on
// them and returns once sv-http listens and every daemon has written its
// marker. The caller stops it (stopHTTPTree), also on error.
func (b *bench) startHTTPTree(dir string, n int) (*httpTree, error) {
	root := filepath.Join(dir, "root")
	scan := filepath.Join(dir, "scan")
	t := &httpTree{tree: &tree{family: "sv-scan", dir: dir}, scan: scan}
	if err := os.MkdirAll(scan, 0o755); err != nil {
		return t, err
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		svc := filepath.Join(root, "etc/sv", name)
		if err := os.MkdirAll(svc, 0o755); err != nil {
			return t, err
		}
		marker := filepath.Join(dir, name+".marker")
		opts := fmt.Sprintf("SVC_CMD='/bin/sh -c \"%s\"'\nLOG=none\n", daemonSpec{}.script(marker))
		if err := os.WriteFile(filepath.Join(svc, "OPTIONS"), []byte(opts), 0o644); err != nil {
			return t, err
		}
		if err := os.Symlink(svc, filepath.Join(scan, name)); err != nil {
			return t, err
		}
		t.markers = append(t.markers, marker)
		t.svcs = append(t.svcs, name)
	}
	env := append(os.Environ(), "SV_ROOT="+root)
	gen := exec.Command(filepath.Join(b.bin, "sv-gen"), "sync")
	gen.Env = env
	if out, err := gen.CombinedOutput(); err != nil {
		return t, fmt.Errorf("sv-gen sync: %v: %s", err, out)
	}
	logFile, err := os.Create(filepath.Join(dir, "sv-scan.log"))
	if err != nil {
		return t, err
	}
	defer logFile.Close() // the child holds its own
	cmd := exec.Command(filepath.Join(b.bin, "sv-scan"), "--http", "127.0.0.1:0", scan)
	cmd.Env, cmd.Dir = env, b.work
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := b.startTop(t.tree, cmd, false); err != nil {
		return t, err
	}
	if t.url, err = waitAddress(filepath.Join(scan, ".sv-scan", "http"), 20*time.Second); err != nil {
		return t, fmt.Errorf("sv-http: %w%s", err, t.logTail())
	}
	t.pids = make([]int, n)
	for i, m := range t.markers {
		if t.pids[i], _, err = waitMarker(m, 0, 120*time.Second); err != nil {
			return t, fmt.Errorf("%s: %w", filepath.Base(m), err)
		}
	}
	return t, nil
}

// stopAndRemove ends sv-scan (which stops its services and sv-http),
// then removes what the tree left: its cgroups and its files.
func (t *httpTree) stopAndRemove(b *bench) {
	if t.stop != nil {
		t.stop()
	}
	removeCgroupTree(b.work, t.scan)
	os.RemoveAll(t.dir)
}

// logTail is the end of sv-scan's output, for an error.
func (t *httpTree) logTail() string {
	data, _ := os.ReadFile(filepath.Join(t.dir, "sv-scan.log"))
	if len(data) > 600 {
		data = data[len(data)-600:]
	}
	if s := strings.TrimSpace(string(data)); s != "" {
		return " (sv-scan said: " + strings.ReplaceAll(s, "\n", " / ") + ")"
	}
	return ""
}

// waitAddress waits for sv-http's address file and returns its URL. It
// is set-up, not timed: a bounded poll.
func waitAddress(file string, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(file); err == nil && bytes.HasSuffix(data, []byte("\n")) {
			return strings.TrimSpace(string(data)), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("no address in %s after %s", file, limit)
}

// httpClient is a keep-alive client for one server.
func httpClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 5 * time.Minute}}
}

// rpcRequest makes the request of one XML-RPC call to url (…/RPC2).
func rpcRequest(url, method string) func() (*http.Request, error) {
	var body bytes.Buffer
	err := xmlrpc.WriteCall(&body, method)
	return func() (*http.Request, error) {
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequest("POST", url, bytes.NewReader(body.Bytes()))
		if err == nil {
			req.Header.Set("Content-Type", "text/xml")
		}
		return req, err
	}
}

func getRequest(url string) func() (*http.Request, error) {
	return func() (*http.Request, error) { return http.NewRequest("GET", url, nil) }
}

// timeRequest makes one request and reads its answer to the end: the
// time from before it is sent to the last byte read, the body, and
// whether the connection was reused.
func timeRequest(c *http.Client, mk func() (*http.Request, error)) (time.Duration, []byte, bool, error) {
	req, err := mk()
	if err != nil {
		return 0, nil, false, err
	}
	reused := false
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	}))
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, false, err
	}
	body, err := io.ReadAll(resp.Body)
	d := time.Since(t0)
	resp.Body.Close()
	if err != nil {
		return 0, nil, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, nil, false, fmt.Errorf("%s %s: %s: %.200s", req.Method, req.URL.Path, resp.Status, body)
	}
	return d, body, reused, nil
}

// measure makes the warm-up requests of each kind, checking each answer
// with check, then reps timed ones, the kinds interleaved.
func measure(c *http.Client, kinds []httpTiming, reps int, check func(t httpTiming, body []byte) error) []httpTiming {
	ds := make([][]time.Duration, len(kinds))
	for w := 0; w < httpWarmups; w++ {
		for i := range kinds {
			_, body, _, err := timeRequest(c, kinds[i].req)
			if err == nil {
				err = check(kinds[i], body)
			}
			if err != nil && kinds[i].st.err == "" {
				kinds[i].st.err = err.Error()
			}
		}
	}
	for rep := 0; rep < reps; rep++ {
		for i := range kinds {
			if kinds[i].st.err != "" {
				continue
			}
			d, body, reused, err := timeRequest(c, kinds[i].req)
			if err != nil {
				kinds[i].st.err = err.Error()
				continue
			}
			ds[i] = append(ds[i], d)
			kinds[i].size = int64(len(body))
			if !reused {
				kinds[i].anew++
			}
		}
	}
	for i := range kinds {
		if kinds[i].st.err == "" {
			kinds[i].st = summarize(ds[i])
		}
	}
	return kinds
}

// httpRequests times sv-http's answers on a tree of n services; load is
// the machine's load average as the timing began.
func (b *bench) httpRequests(n int) (res []httpTiming, load string, err error) {
	t, err := b.startHTTPTree(filepath.Join(b.work, "http-answers"), n)
	defer t.stopAndRemove(b)
	if err != nil {
		return nil, "", err
	}
	c := httpClient()
	defer c.CloseIdleConnections()
	if err := waitAllUp(c, t.url, n, 120*time.Second); err != nil {
		return nil, "", err
	}
	time.Sleep(time.Second) // start-up garbage collected, state files written
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Fields(string(data))[0]
	}
	kinds := []httpTiming{
		{name: "GET /v1/services", req: getRequest(t.url + "/v1/services")},
		{name: "GET /metrics", req: getRequest(t.url + "/metrics")},
		{name: "GET / (the page)", req: getRequest(t.url + "/")},
		{name: "POST /RPC2 getAllProcessInfo", rpc: true, req: rpcRequest(t.url+"/RPC2", "supervisor.getAllProcessInfo")},
	}
	return measure(c, kinds, b.reps, func(k httpTiming, body []byte) error {
		switch {
		case k.rpc:
			return checkProcessInfo(body, n, "RUNNING")
		case strings.HasPrefix(k.name, "GET /v1/services"):
			_, err := countUp(body, n)
			return err
		case strings.HasPrefix(k.name, "GET / "):
			if c := bytes.Count(body, []byte("s0999")); c == 0 {
				return errors.New("the page does not show s0999")
			}
		}
		return nil
	}), load, nil
}

// waitAllUp polls GET /v1/services until all n services are up.
func waitAllUp(c *http.Client, url string, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	up, last := 0, error(nil)
	for time.Now().Before(deadline) {
		_, body, _, err := timeRequest(c, getRequest(url+"/v1/services"))
		if err == nil {
			if up, err = countUp(body, n); err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not all up after %s: %d of %d (%v)", limit, up, n, last)
}

// countUp counts the services a /v1/services answer says are up, and
// fails unless all n are.
func countUp(body []byte, n int) (int, error) {
	var infos []struct{ Name, State string }
	if err := json.Unmarshal(body, &infos); err != nil {
		return 0, err
	}
	up := 0
	for _, i := range infos {
		if i.State == "up" {
			up++
		}
	}
	if len(infos) != n || up != n {
		return up, fmt.Errorf("%d services, %d up, want %d", len(infos), up, n)
	}
	return up, nil
}

// checkProcessInfo decodes a getAllProcessInfo answer and fails unless it
// holds n processes, each in state.
func checkProcessInfo(body []byte, n int, state string) error {
	v, err := xmlrpc.ReadResponse(bytes.NewReader(body))
	if err != nil {
		return err
	}
	procs, ok := v.([]any)
	if !ok {
		return fmt.Errorf("getAllProcessInfo: %T, not an array", v)
	}
	in := 0
	for _, p := range procs {
		if s, ok := p.(xmlrpc.Struct); ok {
			if name, _ := s.Get("statename"); name == state {
				in++
			}
		}
	}
	if len(procs) != n || in != n {
		return fmt.Errorf("getAllProcessInfo: %d processes, %d %s, want %d", len(procs), in, state, n)
	}
	return nil
}

// supervisordRequests times supervisord's getAllProcessInfo with n
// programs, all running.
func (b *bench) supervisordRequests(n int) (httpTiming, error) {
	kind := httpTiming{name: "POST /RPC2 getAllProcessInfo"}
	if !b.root {
		return kind, errors.New("not root (supervisord runs in a PID namespace of its own)")
	}
	bin, err := exec.LookPath("supervisord")
	if err != nil {
		return kind, errors.New("supervisord is not installed")
	}
	dir := filepath.Join(b.work, "http-supervisord")
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return kind, err
	}
	port, err := freePort()
	if err != nil {
		return kind, err
	}
	var c strings.Builder
	fmt.Fprintf(&c, "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nchildlogdir=%s\nminfds=%d\n", dir, dir, dir, 4*n+256)
	fmt.Fprintf(&c, "[inet_http_server]\nport=127.0.0.1:%d\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n", port)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&c, "[program:s%04d]\ncommand=sleep 100000\nautostart=true\nautorestart=true\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n", i)
	}
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(c.String()), 0o644); err != nil {
		return kind, err
	}
	stop, err := b.startSupervisord(bin, conf)
	if err != nil {
		return kind, err
	}
	defer stop()
	url := fmt.Sprintf("http://127.0.0.1:%d/RPC2", port)
	kind.req = rpcRequest(url, "supervisor.getAllProcessInfo")
	cl := httpClient()
	defer cl.CloseIdleConnections()
	began := time.Now()
	deadline := began.Add(180 * time.Second)
	for {
		_, body, _, err := timeRequest(cl, kind.req)
		if err == nil {
			if err = checkProcessInfo(body, n, "RUNNING"); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			return kind, fmt.Errorf("not all RUNNING after %s: %v", time.Since(began).Round(time.Second), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "bench: http: supervisord: %d programs running in %s\n", n, time.Since(began).Round(time.Millisecond))
	time.Sleep(time.Second)
	res := measure(cl, []httpTiming{kind}, b.reps, func(_ httpTiming, body []byte) error { return checkProcessInfo(body, n, "RUNNING") })
	return res[0], nil
}

// freePort is a loopback port nobody listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startSupervisord runs supervisord as PID 1 of a PID namespace of its
// own, in a process group of its own. stop asks it to stop (TERM: it
// stops its programs, then exits) and kills the group, and with it the
// namespace, if it has not within a minute.
func (b *bench) startSupervisord(bin, conf string) (stop func(), err error) {
	cmd := exec.Command(bin, "-n", "-c", conf)
	cmd.Dir = b.work
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(time.Minute):
			fmt.Fprintf(os.Stderr, "bench: http: supervisord (pid %d) still there a minute after TERM: killed\n", pid)
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
	}
	b.stop = append(b.stop, stop)
	return stop, nil
}

// arrival is an event's end of a run of service, and when the bench read it.
type arrival struct {
	service, reason string
	at              time.Time
}

// endOfUp says whether a line of the events (JSON) is the end of a run
// that was up, and of which service.
func endOfUp(line []byte, after uint64) (arrival, bool) {
	var ev events.Event
	if json.Unmarshal(line, &ev) != nil || ev.Seq <= after || ev.Service == "" || ev.From != "up" || !ev.EndsRun() {
		return arrival{}, false
	}
	return arrival{service: ev.Service, reason: ev.Reason}, true
}

// httpEventTimes are the event stream's timings.
type httpEventTimes struct {
	ring, sse, restart stats
	over               stats // each run's SSE arrival minus its ring arrival
	reasons            []string
}

// httpEvents kills each of n daemons once and times its end to the
// ring, to the SSE stream, and to its restart.
func (b *bench) httpEvents(n int) (res httpEventTimes) {
	fail := func(err error) httpEventTimes {
		e := stats{err: err.Error()}
		return httpEventTimes{ring: e, sse: e, restart: e}
	}
	t, err := b.startHTTPTree(filepath.Join(b.work, "http-events"), n)
	defer t.stopAndRemove(b)
	if err != nil {
		return fail(err)
	}
	time.Sleep(1100 * time.Millisecond) // each daemon has run a while: a death, not a failed start
	evDir := events.Dir(t.scan)
	last, err := lastSeq(filepath.Join(evDir, events.CurrentFile))
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ringCh := make(chan arrival, 4*n)
	ringDone, err := watchRing(ctx, evDir, last, ringCh)
	if err != nil {
		return fail(err)
	}
	defer func() { cancel(); <-ringDone }()

	sseCh := make(chan arrival, 4*n)
	sseDone, err := followSSE(ctx, fmt.Sprintf("%s/v1/events?follow=1&since=%d", t.url, last), last, sseCh)
	if err != nil {
		return fail(err)
	}
	defer func() { cancel(); <-sseDone }()

	var rings, sses, restarts, overs []time.Duration
	reasons := map[string]bool{}
	for i, pid := range t.pids {
		name := t.svcs[i]
		t0 := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		_, atRestart, err := waitMarker(t.markers[i], pid, 20*time.Second)
		if err != nil {
			return fail(fmt.Errorf("%s: no restart: %w", name, err))
		}
		ring, err := waitArrival(ringCh, name, 10*time.Second)
		if err != nil {
			return fail(fmt.Errorf("the ring: %w", err))
		}
		sse, err := waitArrival(sseCh, name, 10*time.Second)
		if err != nil {
			return fail(fmt.Errorf("the stream: %w", err))
		}
		reasons[sse.reason] = true
		restarts = append(restarts, atRestart.Sub(t0))
		rings = append(rings, ring.at.Sub(t0))
		sses = append(sses, sse.at.Sub(t0))
		overs = append(overs, sse.at.Sub(ring.at))
	}
	for r := range reasons {
		res.reasons = append(res.reasons, "`"+r+"`")
	}
	res.ring, res.sse, res.restart, res.over = summarize(rings), summarize(sses), summarize(restarts), summarize(overs)
	return res
}

// waitArrival waits for the arrival of service's end, and returns it.
func waitArrival(ch <-chan arrival, service string, limit time.Duration) (arrival, error) {
	deadline := time.After(limit)
	for {
		select {
		case a, ok := <-ch:
			if !ok {
				return arrival{}, fmt.Errorf("%s: ended before the event came", service)
			}
			if a.service == service {
				return a, nil
			}
		case <-deadline:
			return arrival{}, fmt.Errorf("%s: no end of its run after %s", service, limit)
		}
	}
}

// lastSeq is the number of the last event in a file of the ring.
func lastSeq(file string) (uint64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var seq uint64
	for line := range bytes.Lines(data) {
		var ev struct{ Seq uint64 }
		if bytes.HasSuffix(line, []byte("\n")) && json.Unmarshal(line, &ev) == nil {
			seq = max(seq, ev.Seq)
		}
	}
	return seq, nil
}

// watchRing sends, as it reads them, the ends of runs that were up
// written to the ring in dir after event number after; inotify on the
// directory, so a rotation is seen too. It ends with ctx.
func watchRing(ctx context.Context, dir string, after uint64, out chan<- arrival) (<-chan struct{}, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unix.Close(fd)
		file := filepath.Join(dir, events.CurrentFile)
		var ino uint64
		var off int64
		var partial []byte
		buf := make([]byte, 64*1024)
		read := func() {
			f, err := os.Open(file)
			if err != nil {
				return
			}
			defer f.Close()
			var st unix.Stat_t
			if unix.Fstat(int(f.Fd()), &st) != nil {
				return
			}
			if st.Ino != ino { // a new current: from its start
				ino, off, partial = st.Ino, 0, nil
			}
			f.Seek(off, io.SeekStart)
			data, _ := io.ReadAll(f)
			at := time.Now()
			off += int64(len(data))
			data = append(partial, data...)
			end := bytes.LastIndexByte(data, '\n') + 1
			for line := range bytes.Lines(data[:end]) {
				if a, ok := endOfUp(line, after); ok {
					a.at = at
					out <- a
				}
			}
			partial = append([]byte(nil), data[end:]...)
		}
		read()
		for ctx.Err() == nil {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, 100); n <= 0 {
				continue
			}
			unix.Read(fd, buf)
			read()
		}
	}()
	return done, nil
}

// followSSE opens the event stream at url and sends, as it reads them,
// the ends of runs that were up after event number after. It returns
// once the stream has begun (its first bytes read), and ends with ctx.
func followSSE(ctx context.Context, url string, after uint64, out chan<- arrival) (<-chan struct{}, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v1/events: %s: %s", resp.Status, body)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // retry: ...
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v1/events: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		defer resp.Body.Close()
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			at := time.Now()
			if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				if a, ok := endOfUp(data, after); ok {
					a.at = at
					out <- a
				}
			}
		}
	}()
	return done, nil
}
