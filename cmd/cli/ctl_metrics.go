package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/gen"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/metrics"
	"github.com/supervision-suite/supervision/internal/svctl"
)

func ctlMetricsCmd(o *ctlOpts) *cobra.Command {
	node, _ := os.Hostname()
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Print the services' and applications' state as Prometheus metrics",
		Long: `metrics prints the state of every service of the scan dir, and of
every application, in Prometheus' text format: for node_exporter's
textfile collector, written atomically, say every minute:

  sv-ctl metrics >/var/lib/prometheus/node-exporter/sv.prom.$$ &&
    mv /var/lib/prometheus/node-exporter/sv.prom.$$ /var/lib/prometheus/node-exporter/sv.prom

The metrics, their types and labels are in docs/METRICS.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.server != "" {
				return o.remoteMetrics(cmd)
			}
			r, err := o.resolver()
			if err != nil {
				return err
			}
			l, err := layout.FromEnv(o.root)
			if err != nil {
				return err
			}
			svcs, err := r.All()
			if err != nil {
				return err
			}
			infos, errs := svctl.Statuses(svcs)
			var known []svctl.Info
			for i, info := range infos {
				if errs[i] == nil { // one being set up has no status yet
					known = append(known, info)
				}
			}
			of := func() map[string]app.Membership {
				m, _ := gen.New(l, nil).Apps()
				return m
			}
			apps := svctl.AppsOf(svcs, infos, errs, of, nil)
			var counters *events.Counters
			if _, err := os.Stat(events.Dir(r.ScanDir)); err == nil { // sv-scan's scan dir
				c, err := events.ReadCounters(r.ScanDir)
				if err != nil {
					return err
				}
				counters = &c
			}
			return metrics.Write(cmd.OutOrStdout(), known, apps, counters, node)
		},
	}
	cmd.Flags().StringVar(&node, "node", node, "the node label's value (empty: none)")
	return cmd
}
