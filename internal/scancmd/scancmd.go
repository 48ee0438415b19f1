// Package scancmd is sv-scan's command line: its flags, its help and its
// start-up. The multi-call binary runs it as `sv-scan` and `supervision
// scan`; it is also a program of its own (cmd/sv-scan), which links only
// the engine: sv-scan runs for as long as the machine does, and the pages
// of the binary it touches are memory it holds, so it does not carry the
// other tools, their command-line library or its templates.
package scancmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/supervision-suite/supervision/internal/companion"
	"github.com/supervision-suite/supervision/internal/gctune"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/openrc"
	"github.com/supervision-suite/supervision/internal/supervise"
	"github.com/supervision-suite/supervision/internal/tokens"
)

// Short is the one-line summary the multi-call binary lists.
const Short = "Supervise every service of a scan directory"

const long = `sv-scan supervises every service linked in a scan directory (default: the
tree's run/sv/service), all in this one process: it starts each, restarts
it when it exits (at once, then backing off), waits for its readiness,
writes its log (LOG=builtin) or supervises its log/ program, and stops it
with its own signal and timeout, then KILL.

It speaks runit's supervise protocol: runit's sv, daemontools' svstat,
svc and svok, and sv-ctl all work on its services. Links added to or
removed from the scan dir are acted on at once. Its own control FIFO is
SCANDIR/.sv-scan/control: 'a' rescans, 't' stops everything and exits.
SIGHUP rescans; SIGINT and SIGTERM stop every service, each within its
stop timeout, and exit.

On a tree's scan dir (ROOT/run/sv/service), sv-scan first links into it
again the services enabled in the tree (sv-gen enable records them in
ROOT/etc/sv/.enabled) whose links a boot removed with /run.
SCANDIR/.sv-scan/start takes
start requests from /etc/init.d/supervision, one line 'NAME TOKEN' each:
a service of the tree whose dir is as its last sync left it is linked
and started at once, and the answer goes to SCANDIR/.sv-scan/started/NAME
for 'sv-rc start --request TOKEN NAME'. A request that adds 'verdict'
also gets, on the FIFO SCANDIR/.sv-scan/verdict/NAME (held open from the
service's first request on), 'TOKEN ok' once the daemon is up, ready and
settled, as sv-rc would check it, or why not: the init script then needs
no sv-rc at all.

Each service runs in a cgroup of its own where cgroup v2 is writable, so
a stop leaves nothing behind; killed with -9 and started again, sv-scan
adopts the daemons still running instead of starting them twice.

--http ADDR also runs sv-http beside sv-scan, started again if it ends:
the services over HTTP, as a JSON API with the events as Server-Sent
Events, a status page, Prometheus metrics, and supervisord's XML-RPC for
supervisorctl (docs/API.md). Off by default; beyond loopback it needs a
tokens file.

LOG=console services' lines go to sv-scan's standard output, each after
the service's name and ': ' (--console: every service's, LOG=builtin
too); sv-scan's own messages go to standard error, only problems unless
--verbose. In a container: sv-init -- sv-scan --console /etc/service.`

// Exit codes, as every tool of the suite has them.
const (
	exitOK        = 0
	exitPermanent = 100
	exitTemporary = 111
)

// options are sv-scan's flags.
type options struct {
	root    string
	profile string
	cfg     supervise.Config
	help    bool
	http    string // sv-http's --listen; "" for none
	tokens  string // sv-http's --tokens
}

// flags declares each flag under its long name, and -v and -h too.
func flags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("sv-scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are said as every tool says them
	fs.StringVar(&o.root, "root", "", "the tree's root (default $SV_ROOT, else /): its run/sv/service is the default SCANDIR")
	fs.StringVar(&o.profile, "profile", "", "read each service's OPTIONS.PROFILE overlay too, as SV_PROFILE=PROFILE does (which the daemons then see)")
	fs.BoolVar(&o.cfg.Verbose, "verbose", false, "also report services started, adopted and stopped")
	fs.BoolVar(&o.cfg.Verbose, "v", false, "")
	fs.BoolVar(&o.cfg.AllToConsole, "console", false, "send the lines of every service logged in-process (LOG=builtin too, not only LOG=console) to standard output, after each service's name")
	fs.BoolVar(&o.cfg.NoCgroups, "no-cgroups", false, "do not put services in cgroups, even where cgroup v2 is writable")
	fs.StringVar(&o.http, "http", os.Getenv("SV_HTTP"), "also serve the services over HTTP (sv-http: the API, a status page, metrics, supervisorctl's XML-RPC; docs/API.md) at `ADDR`: unix:PATH, unix for the tree's run/sv/http.sock, or HOST:PORT (default $SV_HTTP)")
	fs.StringVar(&o.tokens, "http-tokens", os.Getenv("SV_HTTP_TOKENS"), "sv-http's tokens `FILE`, NAME ROLE SECRET lines of mode 600 (default $SV_HTTP_TOKENS, else the tree's etc/sv/.opt/http.tokens where it exists)")
	fs.BoolVar(&o.help, "help", false, "")
	fs.BoolVar(&o.help, "h", false, "")
	return fs
}

// Main runs sv-scan as name (sv-scan, supervision scan) with args, and
// returns its exit code.
func Main(name string, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flags(&o)
	dirs, err := parse(fs, args)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", name, err, name)
		return exitPermanent
	case o.help:
		usage(stdout, name, fs)
		return exitOK
	case len(dirs) > 1:
		fmt.Fprintf(stderr, "%s: accepts at most 1 arg(s), received %d (see %s --help)\n", name, len(dirs), name)
		return exitPermanent
	}
	if len(dirs) == 1 {
		o.cfg.Dir = dirs[0]
	}
	if err := run(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		var shutdown *supervise.ShutdownError
		if errors.As(err, &shutdown) { // every service stopped as asked
			return shutdown.Code
		}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return exitTemporary
		}
		return exitPermanent
	}
	return exitOK
}

// parse reads flags before and after the arguments, as the other tools
// do, and says an unknown flag as they do.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: "); ok {
				return nil, fmt.Errorf("unknown flag: %s", dashes(name))
			}
			return nil, err
		}
		left := fs.Args()
		if consumed := len(args) - len(left); len(left) == 0 || consumed > 0 && args[consumed-1] == "--" {
			return append(rest, left...), nil
		}
		rest, args = append(rest, left[0]), left[1:]
	}
}

// dashes gives a flag its long form's two dashes back.
func dashes(name string) string {
	if trimmed := strings.TrimLeft(name, "-"); len(trimmed) > 1 {
		return "--" + trimmed
	}
	return name
}

func usage(w io.Writer, name string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s [SCANDIR] [flags]\n\nFlags:\n", long, name)
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "v":
			return
		case "h", "help":
			return
		case "verbose":
			fmt.Fprintf(w, "  -v, --%s\n\t%s\n", f.Name, f.Usage)
		case "root":
			fmt.Fprintf(w, "      --%s DIR\n\t%s\n", f.Name, f.Usage)
		case "profile":
			fmt.Fprintf(w, "      --%s PROFILE\n\t%s\n", f.Name, f.Usage)
		default:
			arg, text := flag.UnquoteUsage(f) // `ARG` in the text names the value
			if arg != "" && arg != "string" {
				arg = " " + arg
			} else {
				arg = ""
			}
			fmt.Fprintf(w, "      --%s%s\n\t%s\n", f.Name, arg, text)
		}
	})
	fmt.Fprintf(w, "  -h, --help\n\thelp for %s\n", name)
}

// run supervises the scan dir until a signal or 't' ends it.
func run(o options, stdout, stderr io.Writer) error {
	cfg := o.cfg
	if o.profile != "" {
		// Where every reader of OPTIONS looks, in this process and in the
		// run scripts' sv-exec.
		os.Setenv("SV_PROFILE", o.profile)
	}
	if cfg.Dir == "" {
		l, err := layout.FromEnv(o.root)
		if err != nil {
			return err
		}
		cfg.Dir = l.ScanDir
	}
	var tree *gen.Generator
	if l, ok := layout.OfScanDir(cfg.Dir); ok {
		// A tree's scan dir takes OpenRC's start requests.
		requests := &openrc.StartRequests{Tree: l}
		cfg.Addons = append(cfg.Addons, requests)
		// In /run, which a boot empties.
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return err
		}
		exec, err := gen.ExecCommand()
		tree = gen.New(l, exec)
		// The key sv-rc, run from beside this program with the same
		// settings, stamps its syncs with.
		if err == nil {
			requests.SyncKey = tree.SyncKeyNow
		}
	}
	var web *companion.Companion
	if o.http != "" {
		var err error
		if web, err = httpCompanion(o, cfg.Dir); err != nil {
			return err
		}
		cfg.Addons = append(cfg.Addons, web)
	}
	cfg.Log, cfg.Console = stderr, stdout
	// A closed stdout (LOG=console) must fail a write, not kill the
	// supervisor; handled, not ignored, so that the daemons still get
	// SIGPIPE's default.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	sc, err := supervise.New(cfg)
	if err != nil {
		return err
	}
	// Once the scan dir's lock is held (a second sv-scan must not touch
	// it): the services enabled in the tree, after a boot.
	if tree != nil {
		restored, err := tree.RestoreEnabled()
		ReportRestored(stderr, "sv-scan", tree.Layout, restored, err, cfg.Verbose)
	}
	gctune.Tune()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			sc.Rescan()
		}
	}()
	err = sc.Run(ctx)
	if web != nil {
		// Gone before sv-scan is: a new sv-scan's sv-http must not find
		// the old one holding its address.
		web.Wait()
	}
	return err
}

// ReportRestored says what the restore of a tree's enabled services could
// not do, and with verbose what it did, as who (sv-scan, sv-rc scan).
func ReportRestored(w io.Writer, who string, l layout.Layout, r gen.Restored, err error, verbose bool) {
	if err != nil {
		fmt.Fprintf(w, "%s: linking the enabled services into %s: %v\n", who, l.ScanDir, err)
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "%s: enabled in %s but not defined in %s (left out): %s\n",
			who, l.EnabledDir, l.SvDir, strings.Join(r.Missing, " "))
	}
	if verbose && len(r.Linked) > 0 {
		fmt.Fprintf(w, "%s: enabled services linked into %s: %s\n", who, l.ScanDir, strings.Join(r.Linked, " "))
	}
}

// httpCompanion is sv-http as sv-scan --http runs it: on the address
// given (unix: the tree's run/sv/http.sock), with the tree's tokens file
// where there is one.
func httpCompanion(o options, scanDir string) (*companion.Companion, error) {
	l, err := layout.FromEnv(o.root)
	if err != nil {
		return nil, err
	}
	listen := o.http
	if listen == "unix" {
		listen = "unix:" + filepath.Join(l.RunDir, "http.sock")
	}
	scanDir, err = filepath.Abs(scanDir) // it runs in /
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", listen, "--scandir", scanDir, "--scanner-pid", strconv.Itoa(os.Getpid())}
	if o.root != "" {
		args = append(args, "--root", o.root)
	}
	file := o.tokens
	if file == "" {
		if _, err := os.Stat(tokens.File(l.SvDir)); err == nil {
			file = tokens.File(l.SvDir)
		}
	}
	if file != "" {
		if file, err = filepath.Abs(file); err != nil {
			return nil, err
		}
		// Said now, once, rather than by a server started again and again.
		if _, err := tokens.Load(file); err != nil {
			return nil, fmt.Errorf("--http: %w", err)
		}
		args = append(args, "--tokens", file)
	}
	if err := tokens.CheckListen(listen, file != ""); err != nil {
		return nil, fmt.Errorf("--http %w", err)
	}
	return &companion.Companion{Name: "sv-http", Args: args}, nil
}
