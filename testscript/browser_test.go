package testscript_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const browserUsage = "usage: browser [-t TIMEOUT] [-nojs] [-header 'Name: value']... URL STEP..."

// browserMain is browser: it drives Debian's chromium, headless, for
// scripts that check a page the suite serves, through the DevTools
// protocol on a pipe (--remote-debugging-pipe):
//
//	browser [-t TIMEOUT] [-nojs] [-header 'Name: value']... URL STEP...
//
// It opens URL in a fresh profile under $WORK, waits for its load event,
// then runs each STEP (one argument each) in order, in that one page:
//
//	wait JSEXPR      evaluate JSEXPR every 50ms until it is truthy; an
//	                 exception counts as not yet
//	click SELECTOR   click the first element SELECTOR matches
//	eval JSEXPR      print JSEXPR's value as JSON, on a line (a promise is
//	                 awaited)
//	text SELECTOR    print the textContent of the element SELECTOR matches
//	dom FILE         write document.documentElement.outerHTML to FILE
//	mark FILE        create FILE: the script, running the browser in the
//	                 background, waits for it (waitfile) to act on the
//	                 page's server at that point
//	screenshot FILE  write a PNG of the 1280x900 viewport to FILE
//	console FILE     write the console messages, uncaught exceptions and
//	                 browser log entries (CSP violations among them) seen
//	                 so far to FILE, one a line: "console error: ...",
//	                 "exception: ...", "security error: Executing inline
//	                 script violates the following Content Security
//	                 Policy directive ..." (not the 404 of the browser's
//	                 own request for /favicon.ico)
//
// -t bounds the load and each step (default 30s), and four times it the
// whole run; chromium's start has a bound of its own, the larger of -t
// and 30s. -header adds a header to every request of the page (the
// page itself, its scripts, its EventSource, its fetches); it may repeat.
// -nojs turns the page's JavaScript off before it loads: the steps still
// evaluate (DevTools' evaluation is not the page's script), so text and
// dom read what the server rendered. A document answered with an HTTP
// error status fails the load.
//
// A failure is one line, "browser: STEP: why", and exit 1 (2 for a usage
// error). Chromium runs in a process group of its own, which is killed
// and waited for however the run ends (INT, TERM, HUP and QUIT included).
func browserMain() {
	// Chromium's processes that lose their parent come to us, to be
	// reaped with the group.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	code := runBrowser(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runBrowser is browser's body: it returns the exit code.
func runBrowser(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("browser", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := fs.Duration("t", 30*time.Second, "")
	nojs := fs.Bool("nojs", false, "")
	headers := map[string]string{}
	fs.Func("header", "", func(s string) error {
		name, value, ok := strings.Cut(s, ":")
		if name = strings.TrimSpace(name); !ok || name == "" {
			return fmt.Errorf("header %q: want 'Name: value'", s)
		}
		headers[name] = strings.TrimSpace(value)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "browser: %v\n%s\n", err, browserUsage)
		return 2
	}
	if fs.NArg() < 1 || *timeout <= 0 {
		fmt.Fprintln(stderr, browserUsage)
		return 2
	}
	pageURL, steps := fs.Arg(0), fs.Args()[1:]
	for _, s := range steps {
		verb, arg, _ := strings.Cut(s, " ")
		if browserSteps[verb] == nil || strings.TrimSpace(arg) == "" {
			fmt.Fprintf(stderr, "browser: %s: not a step (wait, click, eval, text, dom, screenshot or console, then its argument)\n", oneLine(s))
			return 2
		}
	}

	fail := func(step string, err error) int {
		if ctx.Err() != nil {
			err = context.Cause(ctx) // a signal
		}
		fmt.Fprintf(stderr, "browser: %s: %s\n", oneLine(step), oneLine(err.Error()))
		return 1
	}
	c, err := startChromium()
	if err != nil {
		return fail("start", err)
	}
	// Whatever happens, chromium's group goes: stop kills it and waits.
	defer func() {
		if err := c.stop(); err != nil {
			fmt.Fprintf(stderr, "browser: stop: %s\n", oneLine(err.Error()))
		}
	}()
	// Chromium takes a second or so to start, which a short -t must not
	// count: the start has a bound of its own.
	wait := max(*timeout, 30*time.Second)
	open, cancelOpen := context.WithTimeoutCause(ctx, wait, fmt.Errorf("chromium did not answer within %s", wait))
	err = c.open(open, headers, *nojs)
	if open.Err() != nil {
		err = context.Cause(open)
	}
	cancelOpen()
	if err != nil {
		return fail("open", err)
	}

	run, cancel := context.WithTimeoutCause(ctx, 4**timeout, fmt.Errorf("the whole run timed out after %s (4 times -t)", 4**timeout))
	defer cancel()
	// A write to a chromium that does not read cannot be interrupted:
	// at the end of the run, the group is killed, which ends it.
	defer context.AfterFunc(run, c.kill)()
	step := func(f func(context.Context) error) error {
		sctx, cancel := context.WithTimeoutCause(run, *timeout, fmt.Errorf("timed out after %s", *timeout))
		defer cancel()
		err := f(sctx)
		if err != nil && sctx.Err() != nil {
			if run.Err() != nil {
				return context.Cause(run)
			}
			if errors.Is(err, sctx.Err()) {
				return context.Cause(sctx)
			}
		}
		return err
	}
	if err := step(func(ctx context.Context) error { return c.navigate(ctx, pageURL) }); err != nil {
		return fail("load "+pageURL, err)
	}
	for _, s := range steps {
		verb, arg, _ := strings.Cut(s, " ")
		arg = strings.TrimSpace(arg)
		err := step(func(ctx context.Context) error { return browserSteps[verb](ctx, c, arg, stdout) })
		if err != nil {
			return fail(s, err)
		}
	}
	return 0
}

// browserSteps are the steps by verb.
var browserSteps = map[string]func(ctx context.Context, c *chromium, arg string, stdout io.Writer) error{
	"wait": func(ctx context.Context, c *chromium, expr string, _ io.Writer) error {
		last := "none (no answer yet)"
		for {
			v, err := c.evaluate(ctx, expr)
			switch {
			case err == nil && v.truthy():
				return nil
			case err == nil:
				last = v.String()
			case errors.As(err, new(*jsError)):
				last = err.Error()
			case ctx.Err() == nil:
				return err
			}
			if len(last) > 200 {
				last = last[:200] + "..."
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("%w; last value: %s", context.Cause(ctx), last)
			}
		}
	},
	"click": func(ctx context.Context, c *chromium, sel string, _ io.Writer) error {
		v, err := c.evaluate(ctx, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; e.click(); return true })()`)
		if err == nil && !v.truthy() {
			err = errors.New("no element matches")
		}
		return err
	},
	"eval": func(ctx context.Context, c *chromium, expr string, stdout io.Writer) error {
		v, err := c.evaluate(ctx, expr)
		if err == nil {
			_, err = fmt.Fprintln(stdout, v.String())
		}
		return err
	},
	"text": func(ctx context.Context, c *chromium, sel string, stdout io.Writer) error {
		v, err := c.evaluate(ctx, `document.querySelector(`+jsString(sel)+`)?.textContent ?? null`)
		if err != nil {
			return err
		}
		var text string
		if json.Unmarshal(v.Value, &text) != nil {
			return errors.New("no element matches")
		}
		_, err = fmt.Fprintln(stdout, text)
		return err
	},
	"dom": func(ctx context.Context, c *chromium, file string, _ io.Writer) error {
		v, err := c.evaluate(ctx, `document.documentElement.outerHTML`)
		if err != nil {
			return err
		}
		var html string
		if err := json.Unmarshal(v.Value, &html); err != nil {
			return fmt.Errorf("outerHTML is %s", v)
		}
		return os.WriteFile(file, []byte(html+"\n"), 0o644)
	},
	"mark": func(_ context.Context, _ *chromium, file string, _ io.Writer) error {
		return os.WriteFile(file, nil, 0o644)
	},
	"screenshot": func(ctx context.Context, c *chromium, file string, _ io.Writer) error {
		var shot struct{ Data string }
		if err := c.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
			return err
		}
		png, err := base64.StdEncoding.DecodeString(shot.Data)
		if err != nil {
			return err
		}
		return os.WriteFile(file, png, 0o644)
	},
	"console": func(ctx context.Context, c *chromium, file string, _ io.Writer) error {
		// A round trip through the page first: what it logged before
		// has come in by the time the answer does.
		if _, err := c.evaluate(ctx, "0"); err != nil {
			return err
		}
		c.mu.Lock()
		var text string
		for _, l := range c.console {
			text += l + "\n"
		}
		c.mu.Unlock()
		return os.WriteFile(file, []byte(text), 0o644)
	},
}

// chromiumFlags keep chromium headless, quiet and off the network: no
// sync, component or safe-browsing updates, metrics, crash uploads,
// first-run pages or proxies, and the page's timers run at full speed
// though no window shows it.
var chromiumFlags = []string{
	"--headless", // the new headless: the real browser, without a window
	"--no-sandbox",
	"--disable-gpu",
	"--no-first-run",
	"--no-default-browser-check",
	"--remote-debugging-pipe",
	"--window-size=1280,900",
	"--hide-scrollbars",
	"--mute-audio",
	"--no-proxy-server",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-default-apps",
	"--disable-extensions",
	"--disable-breakpad",
	"--disable-domain-reliability",
	"--disable-client-side-phishing-detection",
	"--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater",
	"--metrics-recording-only",
	"--no-pings",
	"--password-store=basic",
	"--use-mock-keychain",
	"--disable-background-timer-throttling",
	"--disable-backgrounding-occluded-windows",
	"--disable-renderer-backgrounding",
	"--disable-hang-monitor",
	"--disable-dev-shm-usage", // a container's /dev/shm may be small
}

// chromiumPath is Debian's chromium itself, not /usr/bin/chromium: that
// is a launcher script which adds flags of its own from /etc/chromium.d
// (GPU rasterization, remote extensions) and API keys to the environment.
func chromiumPath() (string, error) {
	const debian = "/usr/lib/chromium/chromium"
	if unix.Access(debian, unix.X_OK) == nil {
		return debian, nil
	}
	return exec.LookPath("chromium")
}

// chromium is one headless chromium, with one page open, and what the page
// reported.
type chromium struct {
	cmd     *exec.Cmd
	profile string
	out     *os.File // chromium's fd 3: our commands
	in      *os.File // chromium's fd 4: answers and events
	log     *chromiumLog
	read    chan struct{} // closed once the reader is done
	wmu     sync.Mutex    // one message at a time on out

	mu        sync.Mutex
	nextID    int64
	calls     map[int64]chan cdpMessage
	session   string
	console   []string
	lifecycle map[string]bool   // "LOADERID NAME" of the page's lifecycle events
	failed    map[string]string // LOADERID: the HTTP error status of its document
	changed   chan struct{}     // closed, and replaced, on each of those
	gone      chan struct{}     // closed once chromium or the page is gone
	goneWhy   string
}

type cdpMessage struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     *struct{ Message, Data string }
	SessionID string `json:"sessionId"`
}

func startChromium() (*chromium, error) {
	bin, err := chromiumPath()
	if err != nil {
		return nil, err
	}
	work := os.Getenv("WORK")
	if work == "" {
		work = os.TempDir()
	}
	profile, err := os.MkdirTemp(work, "chromium-")
	if err != nil {
		return nil, err
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(profile)
		return nil, err
	}
	c := &chromium{
		profile:   profile,
		out:       cmdW,
		in:        respR,
		log:       &chromiumLog{},
		read:      make(chan struct{}),
		calls:     map[int64]chan cdpMessage{},
		lifecycle: map[string]bool{},
		failed:    map[string]string{},
		changed:   make(chan struct{}),
		gone:      make(chan struct{}),
	}
	c.cmd = exec.Command(bin, append(chromiumFlags, "--user-data-dir="+profile)...)
	c.cmd.Dir = profile
	// Its home, config, cache and temporary files in the profile too
	// (NSS's ~/.pki, say), all removed at the end. The temporary files
	// include the singleton's socket, whose path must fit in 107 bytes
	// or chromium does not start: a deep profile takes them elsewhere.
	tmp := profile
	for _, dir := range []string{os.TempDir(), "/tmp"} {
		if len(tmp+"/org.chromium.Chromium.XXXXXX/SingletonSocket") <= 107 {
			break
		}
		tmp = dir
	}
	c.cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile, "TMPDIR="+tmp)
	c.cmd.ExtraFiles = []*os.File{cmdR, respW}
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.WaitDelay = 2 * time.Second
	// A group of its own, killed as one; and, should this process die
	// without killing it, its browser process at least.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = c.cmd.Start()
	cmdR.Close()
	respW.Close()
	if err != nil {
		cmdW.Close()
		respR.Close()
		os.RemoveAll(profile)
		return nil, err
	}
	go c.reader()
	return c, nil
}

func (c *chromium) kill() {
	unix.Kill(-c.cmd.Process.Pid, unix.SIGKILL)
}

// stop kills chromium's processes, waits until every one is gone and
// removes the profile.
func (c *chromium) stop() error {
	pgid := c.cmd.Process.Pid
	// Its group, and crashpad's handlers, which leave the group (each
	// forks into a session of its own): they are known by the profile
	// they name, looked for before they die, as a zombie names nothing,
	// and again after.
	procs := map[int]bool{}
	find := func() {
		for _, pid := range profileUsers(c.profile) {
			unix.Kill(pid, unix.SIGKILL)
			procs[pid] = true
		}
	}
	find()
	c.kill()
	c.cmd.Wait()
	delete(procs, pgid)
	c.out.Close()
	c.in.Close()
	<-c.read
	// Orphans are ours to reap when we are a subreaper (browserMain),
	// else init's, which reaps them in its own time.
	for deadline := time.Now().Add(10 * time.Second); ; {
		for {
			pid, err := unix.Wait4(-pgid, nil, unix.WNOHANG, nil)
			if pid <= 0 && err != unix.EINTR {
				break
			}
		}
		find()
		for pid := range procs {
			if p, err := unix.Wait4(pid, nil, unix.WNOHANG, nil); p == pid || err == unix.ECHILD && unix.Kill(pid, 0) == unix.ESRCH {
				delete(procs, pid)
			}
		}
		if len(procs) == 0 && unix.Kill(-pgid, 0) == unix.ESRCH {
			break
		}
		if time.Now().After(deadline) {
			os.RemoveAll(c.profile)
			return fmt.Errorf("chromium's processes (group %d; %v) are still there 10s after SIGKILL", pgid, slices.Sorted(maps.Keys(procs)))
		}
		time.Sleep(10 * time.Millisecond) // no event says another's orphan was reaped
	}
	// The singleton's directory, when it is not in the profile.
	if link, err := os.Readlink(filepath.Join(c.profile, "SingletonSocket")); err == nil {
		if dir := filepath.Dir(link); strings.HasPrefix(filepath.Base(dir), "org.chromium.Chromium.") {
			os.RemoveAll(dir)
		}
	}
	return os.RemoveAll(c.profile)
}

// profileUsers lists the processes that name dir, or a path below it, in
// their command line or as their HOME: those of a chromium that browser
// started with its profile there. All of them have it in their command
// line (--user-data-dir, crashpad's --database), but only the browser
// and crashpad keep their environment readable; a zombie has neither.
func profileUsers(dir string) []int {
	names := func(data []byte) bool {
		for arg := range bytes.SplitSeq(data, []byte{0}) {
			for i := bytes.Index(arg, []byte(dir)); i >= 0; {
				if end := i + len(dir); end == len(arg) || arg[end] == '/' {
					return true
				}
				j := bytes.Index(arg[i+1:], []byte(dir))
				if j < 0 {
					break
				}
				i += 1 + j
			}
		}
		return false
	}
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		env, _ := os.ReadFile("/proc/" + p.Name() + "/environ")
		home := []byte{}
		for v := range bytes.SplitSeq(env, []byte{0}) {
			if h, ok := bytes.CutPrefix(v, []byte("HOME=")); ok {
				home = h
			}
		}
		if names(cmd) || len(home) > 0 && names(home) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// reader reads chromium's messages, each a JSON object ended by a NUL:
// answers go to their callers, events to the page's record.
func (c *chromium) reader() {
	defer close(c.read)
	r := bufio.NewReaderSize(c.in, 1<<16)
	for {
		data, err := r.ReadBytes(0)
		if err != nil {
			why := "chromium closed its DevTools pipe"
			if last := c.log.reason(); last != "" {
				why += " (it said: " + last + ")"
			}
			c.setGone(why)
			return
		}
		var m cdpMessage
		if json.Unmarshal(data[:len(data)-1], &m) != nil {
			continue
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch := c.calls[m.ID]; ch != nil {
				ch <- m
			}
		} else {
			c.event(m)
		}
		c.mu.Unlock()
	}
}

func (c *chromium) setGone(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goneWhy == "" {
		c.goneWhy = why
		close(c.gone)
	}
}

// event records what the page reports; c.mu is held.
func (c *chromium) event(m cdpMessage) {
	if m.Method == "Target.detachedFromTarget" {
		var p struct{ SessionID string }
		if json.Unmarshal(m.Params, &p) == nil && p.SessionID == c.session && c.goneWhy == "" {
			c.goneWhy = "the page was closed"
			close(c.gone)
		}
		return
	}
	if m.SessionID == "" || m.SessionID != c.session {
		return
	}
	switch m.Method {
	case "Page.lifecycleEvent":
		var p struct{ LoaderID, Name string }
		json.Unmarshal(m.Params, &p)
		c.lifecycle[p.LoaderID+" "+p.Name] = true
		close(c.changed)
		c.changed = make(chan struct{})
	case "Network.responseReceived":
		var p struct {
			LoaderID, Type string
			Response       struct {
				Status     int
				StatusText string
			}
		}
		json.Unmarshal(m.Params, &p)
		if p.Type == "Document" && p.Response.Status >= 400 {
			c.failed[p.LoaderID] = fmt.Sprintf("HTTP %d %s", p.Response.Status, p.Response.StatusText)
			close(c.changed)
			c.changed = make(chan struct{})
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string
			Args []remoteObject
		}
		json.Unmarshal(m.Params, &p)
		var args []string
		for _, a := range p.Args {
			var s string
			if json.Unmarshal(a.Value, &s) != nil {
				s = a.String()
			}
			args = append(args, s)
		}
		c.console = append(c.console, "console "+p.Type+": "+oneLine(strings.Join(args, " ")))
	case "Runtime.exceptionThrown":
		var p struct{ ExceptionDetails jsError }
		json.Unmarshal(m.Params, &p)
		c.console = append(c.console, "exception: "+oneLine(p.ExceptionDetails.Error()))
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Source, Level, Text, URL string }
		}
		json.Unmarshal(m.Params, &p)
		e := p.Entry
		if u, err := url.Parse(e.URL); err == nil && e.Source == "network" && u.Path == "/favicon.ico" {
			return // the browser's own request, not the page's
		}
		line := e.Source + " " + e.Level + ": " + e.Text
		if e.URL != "" && !strings.Contains(e.Text, e.URL) {
			line += " (" + e.URL + ")"
		}
		c.console = append(c.console, oneLine(line))
	case "Inspector.targetCrashed":
		if c.goneWhy == "" {
			c.goneWhy = "the page crashed"
			close(c.gone)
		}
	}
}

// call sends a command to the page and decodes its result into result.
func (c *chromium) call(ctx context.Context, method string, params, result any) error {
	c.mu.Lock()
	session := c.session
	c.mu.Unlock()
	return c.send(ctx, session, method, params, result)
}

func (c *chromium) send(ctx context.Context, session, method string, params, result any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	reply := make(chan cdpMessage, 1)
	c.calls[id] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
	}()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	_, err = c.out.Write(append(data, 0))
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-reply:
		if m.Error != nil {
			return fmt.Errorf("%s: %s %s", method, m.Error.Message, m.Error.Data)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-c.gone:
		c.mu.Lock()
		defer c.mu.Unlock()
		return errors.New(c.goneWhy)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// open makes the page and attaches to it (flat: a sessionId on each
// message), with what it will report turned on.
func (c *chromium) open(ctx context.Context, headers map[string]string, nojs bool) error {
	var target struct{ TargetID string }
	if err := c.send(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return err
	}
	var attach struct{ SessionID string }
	if err := c.send(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attach); err != nil {
		return err
	}
	c.mu.Lock()
	c.session = attach.SessionID
	c.mu.Unlock()
	cmds := []struct {
		method string
		params any
	}{
		{"Page.enable", nil},
		{"Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}},
		{"Runtime.enable", nil},
		{"Log.enable", nil},
		{"Network.enable", nil},
		// --window-size is the window's: the viewport is smaller by
		// the frame that new headless reckons it has.
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}},
	}
	if len(headers) > 0 {
		cmds = append(cmds, struct {
			method string
			params any
		}{"Network.setExtraHTTPHeaders", map[string]any{"headers": headers}})
	}
	if nojs {
		cmds = append(cmds, struct {
			method string
			params any
		}{"Emulation.setScriptExecutionDisabled", map[string]any{"value": true}})
	}
	for _, cmd := range cmds {
		if err := c.call(ctx, cmd.method, cmd.params, nil); err != nil {
			return err
		}
	}
	return nil
}

// navigate loads url and waits for its load event.
func (c *chromium) navigate(ctx context.Context, url string) error {
	var nav struct{ LoaderID, ErrorText string }
	if err := c.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return errors.New(nav.ErrorText)
	}
	if nav.LoaderID == "" { // the same document: nothing loads
		return nil
	}
	for {
		c.mu.Lock()
		loaded, failed := c.lifecycle[nav.LoaderID+" load"], c.failed[nav.LoaderID]
		changed := c.changed
		c.mu.Unlock()
		if failed != "" {
			return fmt.Errorf("the server answered %s", strings.TrimSpace(failed))
		}
		if loaded {
			return nil
		}
		select {
		case <-changed:
		case <-c.gone:
			c.mu.Lock()
			defer c.mu.Unlock()
			return errors.New(c.goneWhy)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// evaluate evaluates expr in the page, by value, awaiting a promise. An
// exception is a *jsError.
func (c *chromium) evaluate(ctx context.Context, expr string) (remoteObject, error) {
	var r struct {
		Result           remoteObject
		ExceptionDetails *jsError
	}
	err := c.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err == nil && r.ExceptionDetails != nil {
		err = r.ExceptionDetails
	}
	return r.Result, err
}

// remoteObject is a value of the page, as the DevTools protocol gives it.
type remoteObject struct {
	Type, Subtype, Description string
	Value                      json.RawMessage
	Unserializable             string `json:"unserializableValue"`
}

// truthy is JavaScript's truth of the value.
func (v remoteObject) truthy() bool {
	switch v.Type {
	case "undefined":
		return false
	case "boolean", "number", "string":
		var x any
		json.Unmarshal(v.Value, &x)
		switch x := x.(type) {
		case bool:
			return x
		case float64:
			return x != 0
		case string:
			return x != ""
		}
		return v.Unserializable == "Infinity" || v.Unserializable == "-Infinity" // not NaN, -0
	case "bigint":
		return v.Unserializable != "0n"
	case "object":
		return v.Subtype != "null"
	}
	return true // function, symbol
}

// String is the value as JSON, or as JavaScript writes what JSON cannot.
func (v remoteObject) String() string {
	switch {
	case v.Type == "undefined":
		return "undefined"
	case v.Unserializable != "":
		return v.Unserializable
	case len(v.Value) > 0:
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		var x any
		if json.Unmarshal(v.Value, &x) == nil && enc.Encode(x) == nil {
			return strings.TrimSuffix(b.String(), "\n")
		}
		return string(v.Value)
	case v.Description != "":
		return v.Description
	}
	return v.Type
}

// jsError is an exception of the page.
type jsError struct {
	Text      string
	URL       string
	Exception *remoteObject
}

func (e *jsError) Error() string {
	s := e.Text
	if x := e.Exception; x != nil {
		what := x.String()
		if x.Description != "" {
			what, _, _ = strings.Cut(x.Description, "\n") // no stack
		}
		s += " " + what
	}
	if e.URL != "" {
		s += " (" + e.URL + ")"
	}
	return s
}

// chromiumLog keeps the end of chromium's output, for the reason it
// stopped.
type chromiumLog struct {
	mu  sync.Mutex
	buf []byte
}

func (l *chromiumLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 8192 {
		l.buf = l.buf[len(l.buf)-4096:]
	}
	return len(p), nil
}

// reason is the line of chromium's output that says why it stopped: its
// last FATAL one, else its last one.
func (l *chromiumLog) reason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(l.buf)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], ":FATAL:") {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// jsString quotes s as a JavaScript string.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// oneLine makes s fit on one line of a report.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`)
}

// statusCSP is the policy of the suite's status page.
const statusCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'"

// statusPage serves a page like the suite's live status page, to
// TestBrowserHelper: server-rendered state, a script that follows an
// EventSource and a button that POSTs. Every request must carry the
// token; the test pushes events with push.
type statusPage struct {
	*httptest.Server
	push chan string

	mu           sync.Mutex
	requests     map[string]int // "METHOD PATH"
	posts        []string
	unauthorized []string
}

const statusToken = "Bearer s3cret"

var statusFiles = map[string]string{
	"/": `<!doctype html>
<html><head><meta charset="utf-8"><title>supervision</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script>
</head><body>
<h1>web</h1>
<p id="state">up 12s (server-rendered)</p>
<p id="live">no event yet</p>
<button id="restart">restart</button>
<p id="result"></p>
</body></html>
`,
	"/style.css": `body { font-family: sans-serif; } #live { color: green; }
`,
	"/app.js": `const live = document.getElementById('live');
new EventSource('/events').onmessage = e => { live.textContent = e.data; };
document.getElementById('restart').addEventListener('click', () => {
  fetch('/restart', {method: 'POST', body: 'web'})
    .then(r => { document.getElementById('result').textContent = 'POST ' + r.status; });
});
`,
	// What the policy must stop: an inline script.
	"/inline": `<!doctype html>
<html><head><meta charset="utf-8"><title>inline</title></head><body>
<p id="x">server</p>
<script>document.getElementById('x').textContent = 'inline ran';</script>
</body></html>
`,
}

func newStatusPage(t *testing.T) *statusPage {
	p := &statusPage{push: make(chan string, 10), requests: map[string]int{}}
	done := make(chan struct{})
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests[r.Method+" "+r.URL.Path]++
		ok := r.Header.Get("Authorization") == statusToken
		if !ok {
			p.unauthorized = append(p.unauthorized, r.Method+" "+r.URL.Path)
		}
		p.mu.Unlock()
		if !ok {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Security-Policy", statusCSP)
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, "data: up 1\n\n")
			w.(http.Flusher).Flush()
			for {
				select {
				case data := <-p.push:
					fmt.Fprintf(w, "data: %s\n\n", data)
					w.(http.Flusher).Flush()
				case <-r.Context().Done():
					return
				case <-done:
					return
				}
			}
		case "/restart":
			body, _ := io.ReadAll(r.Body)
			p.mu.Lock()
			p.posts = append(p.posts, r.Method+" "+string(body))
			p.mu.Unlock()
		default:
			page, ok := statusFiles[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			switch {
			case strings.HasSuffix(r.URL.Path, ".js"):
				w.Header().Set("Content-Type", "text/javascript")
			case strings.HasSuffix(r.URL.Path, ".css"):
				w.Header().Set("Content-Type", "text/css")
			default:
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
			}
			io.WriteString(w, page)
		}
	}))
	t.Cleanup(func() {
		close(done)
		p.Close()
	})
	return p
}

func (p *statusPage) count(req string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[req]
}

// TestBrowserHelper runs browser's body against statusPage, in headless
// chromium, and checks that nothing of chromium is left after each run.
func TestBrowserHelper(t *testing.T) {
	if _, err := chromiumPath(); err != nil {
		if os.Getenv("SV_TEST_REQUIRE_PEERS") == "1" {
			t.Fatalf("chromium is not installed, and SV_TEST_REQUIRE_PEERS=1")
		}
		t.Skip("chromium is not installed (scripts/test-deps installs it)")
	}
	// As browserMain does, so that chromium's orphans are reaped at once
	// (init may take a second or two). Only while this test runs: the
	// daemons of other tests must not become ours.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err == nil {
		t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	}
	page := newStatusPage(t)
	auth := "-header=Authorization: " + statusToken

	// run runs browser in work and returns its stdout and stderr. Each
	// line of stdout goes to onLine as it comes.
	run := func(t *testing.T, work string, onLine func(string), args ...string) (int, []string, string) {
		t.Helper()
		t.Setenv("WORK", work)
		t.Chdir(work)
		pr, pw := io.Pipe()
		var stderr strings.Builder
		exit := make(chan int, 1)
		start := time.Now()
		go func() {
			exit <- runBrowser(context.Background(), args, pw, &stderr)
			pw.Close()
		}()
		var lines []string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if onLine != nil {
				onLine(sc.Text())
			}
		}
		code := <-exit
		t.Logf("browser %q: exit %d in %s", args, code, time.Since(start).Round(time.Millisecond))
		if left := chromiumLeft(work); len(left) > 0 {
			t.Errorf("chromium left running:\n%s", strings.Join(left, "\n"))
		}
		if kids := childrenNamed("chrom"); len(kids) > 0 {
			t.Errorf("chromium left unreaped: %s", kids)
		}
		if ents, _ := filepath.Glob(filepath.Join(work, "chromium-*")); len(ents) > 0 {
			t.Errorf("profile left: %s", ents)
		}
		return code, lines, stderr.String()
	}

	t.Run("live", func(t *testing.T) {
		work := t.TempDir()
		live := `document.getElementById('live').textContent == `
		// The test pushes the second event once the page has shown
		// the first: the eval after the wait says so on stdout.
		code, out, stderr := run(t, work, func(line string) {
			if line == `"saw up 1"` {
				page.push <- "up 2"
			}
		}, auth, page.URL+"/",
			"wait "+live+"'up 1'",
			"eval 'saw up 1'",
			"wait "+live+"'up 2'",
			"click #restart",
			"wait document.getElementById('result').textContent != ''",
			"text #result",
			"eval ({live: document.getElementById('live').textContent, n: 2, none: null})",
			"eval getComputedStyle(document.getElementById('live')).color",
			"screenshot shot.png",
			"dom page.html",
			"console console.txt",
		)
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		want := []string{`"saw up 1"`, "POST 200", `{"live":"up 2","n":2,"none":null}`, `"rgb(0, 128, 0)"`}
		if strings.Join(out, "\n") != strings.Join(want, "\n") {
			t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(out, "\n"), strings.Join(want, "\n"))
		}
		page.mu.Lock()
		posts, unauthorized := page.posts, page.unauthorized
		page.mu.Unlock()
		if strings.Join(posts, ",") != "POST web" {
			t.Errorf("the server got %q, want one POST of web", posts)
		}
		if len(unauthorized) > 0 {
			t.Errorf("requests without the header: %q", unauthorized)
		}
		if n := page.count("GET /"); n != 1 {
			t.Errorf("the page was loaded %d times, want 1 (no reload)", n)
		}
		if n := page.count("GET /events"); n != 1 {
			t.Errorf("the event stream was opened %d times, want 1", n)
		}
		if f, err := os.Open(filepath.Join(work, "shot.png")); err != nil {
			t.Error(err)
		} else {
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width != 1280 || cfg.Height != 900 {
				t.Errorf("screenshot: %dx%d, %v; want a 1280x900 PNG", cfg.Width, cfg.Height, err)
			}
		}
		if dom, err := os.ReadFile(filepath.Join(work, "page.html")); err != nil || !strings.Contains(string(dom), `<p id="live">up 2</p>`) {
			t.Errorf("dom: %v\n%s", err, dom)
		}
		if console, err := os.ReadFile(filepath.Join(work, "console.txt")); err != nil || len(console) > 0 {
			t.Errorf("console (want it empty): %v\n%s", err, console)
		}
	})

	t.Run("csp", func(t *testing.T) {
		work := t.TempDir()
		code, out, stderr := run(t, work, nil, auth, page.URL+"/inline", "text #x", "console console.txt")
		if code != 0 || stderr != "" || strings.Join(out, "\n") != "server" {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, stderr)
		}
		console, _ := os.ReadFile(filepath.Join(work, "console.txt"))
		if !regexp.MustCompile(`^security error: .*inline script.* Content Security Policy directive.*script-src 'self'`).Match(console) {
			t.Errorf("console (want the inline script refused):\n%s", console)
		}
		t.Logf("console:\n%s", console)
	})

	t.Run("nojs", func(t *testing.T) {
		work := t.TempDir()
		events := page.count("GET /events")
		code, out, stderr := run(t, work, nil, "-nojs", auth, page.URL+"/", "text #state", "text #live", "dom page.html")
		want := "up 12s (server-rendered)\nno event yet"
		if code != 0 || stderr != "" || strings.Join(out, "\n") != want {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, stderr)
		}
		if page.count("GET /events") != events {
			t.Errorf("the page's script ran: it opened its event stream")
		}
	})

	t.Run("fail", func(t *testing.T) {
		for _, c := range []struct {
			args   []string
			stderr string
		}{
			// -t bounds the load too: not too short on a busy machine
			{[]string{"-t=5s", auth, page.URL + "/", "wait nosuch.x"},
				`browser: wait nosuch.x: timed out after 5s; last value: Uncaught ReferenceError: nosuch is not defined`},
			{[]string{auth, page.URL + "/", "click #nosuch"}, `browser: click #nosuch: no element matches`},
			{[]string{auth, page.URL + "/", "eval throw new Error('boom')"}, `browser: eval throw new Error('boom'): Uncaught Error: boom`},
			{[]string{page.URL + "/"}, `browser: load ` + page.URL + `/: the server answered HTTP 401 Unauthorized`},
		} {
			code, _, stderr := run(t, t.TempDir(), nil, c.args...)
			if code != 1 || strings.TrimSuffix(stderr, "\n") != c.stderr {
				t.Errorf("browser %q: exit %d, stderr:\n%s\nwant exit 1, stderr:\n%s", c.args, code, stderr, c.stderr)
			}
		}
	})
}

// chromiumLeft lists the processes of a chromium that browser started in
// work that are still there.
func chromiumLeft(work string) []string {
	var left []string
	for _, pid := range profileUsers(work) {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		left = append(left, fmt.Sprint(pid, " ", string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))))
	}
	return left
}

// childrenNamed lists the child processes of this one whose name starts
// with prefix, zombies included.
func childrenNamed(prefix string) []string {
	var kids []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		stat, _ := os.ReadFile(f)
		// PID (COMM) STATE PPID ...: COMM may hold spaces and parentheses
		i := bytes.IndexByte(stat, '(')
		j := bytes.LastIndexByte(stat, ')')
		if i < 0 || j < i {
			continue
		}
		comm, rest := string(stat[i+1:j]), strings.Fields(string(stat[j+1:]))
		if len(rest) > 1 && rest[1] == strconv.Itoa(os.Getpid()) && strings.HasPrefix(comm, prefix) {
			kids = append(kids, strings.TrimSpace(string(stat[:i]))+" "+comm+" "+rest[0])
		}
	}
	return kids
}
