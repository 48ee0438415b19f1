package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/openrc"
	"github.com/supervision-suite/supervision/internal/supervise"
)

const scanLong = `sv-scan supervises every service linked in a scan directory (default: the
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

LOG=console services' lines go to sv-scan's standard output, each after
the service's name and ': ' (--console: every service's, LOG=builtin
too); sv-scan's own messages go to standard error, only problems unless
--verbose. In a container: sv-init -- sv-scan --console /etc/service.`

func newScanCmd() *cobra.Command {
	var root string
	var cfg supervise.Config
	cmd := &cobra.Command{
		Use:   "scan [SCANDIR]",
		Short: "Supervise every service of a scan directory",
		Long:  scanLong,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				cfg.Dir = args[0]
			} else {
				l, err := layout.FromEnv(root)
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
				exec, err := execCommand()
				tree = gen.New(l, exec)
				// The key sv-rc, run from beside this program with
				// the same settings, stamps its syncs with.
				if err == nil {
					requests.SyncKey = tree.SyncKeyNow
				}
			}
			cfg.Log, cfg.Console = cmd.ErrOrStderr(), cmd.OutOrStdout()
			// A closed stdout (LOG=console) must fail a write, not kill
			// the supervisor; handled, not ignored, so that the daemons
			// still get SIGPIPE's default.
			signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
			sc, err := supervise.New(cfg)
			if err != nil {
				return err
			}
			// Once the scan dir's lock is held (a second sv-scan must
			// not touch it): the services enabled in the tree, after a
			// boot.
			if tree != nil {
				restored, err := tree.RestoreEnabled()
				reportRestored(cmd.ErrOrStderr(), "sv-scan", tree.Layout, restored, err, cfg.Verbose)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			go func() {
				for range hup {
					sc.Rescan()
				}
			}()
			return sc.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "the tree's root (default $SV_ROOT, else /): its run/sv/service is the default SCANDIR")
	cmd.Flags().BoolVarP(&cfg.Verbose, "verbose", "v", false, "also report services started, adopted and stopped")
	cmd.Flags().BoolVar(&cfg.AllToConsole, "console", false, "send the lines of every service logged in-process (LOG=builtin too, not only LOG=console) to standard output, after each service's name")
	cmd.Flags().BoolVar(&cfg.NoCgroups, "no-cgroups", false, "do not put services in cgroups, even where cgroup v2 is writable")
	return cmd
}

// reportRestored says what the restore of a tree's enabled services
// could not do, and with verbose what it did, as who (sv-scan, sv-rc
// scan).
func reportRestored(w io.Writer, who string, l layout.Layout, r gen.Restored, err error, verbose bool) {
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
