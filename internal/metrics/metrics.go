// Package metrics writes the state of a scan dir's services and
// applications in Prometheus' text exposition format (0.0.4): what
// `sv-ctl metrics` prints, for node_exporter's textfile collector. The
// names and types are documented in docs/METRICS.md; labels are only
// service, app, node and state (no pid, no time: a label's values must
// stay few).
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// ServiceStates are the values of sv_service_state's state label: the
// phases of docs/EVENTS.md, and unsupervised.
var ServiceStates = []string{
	svdir.PhaseDown, svdir.PhaseStarting, svdir.PhaseUp, svdir.PhaseStopping, svdir.PhaseDraining,
	svdir.PhaseFinish, svdir.PhaseBackoff, svdir.PhaseFatal, svdir.PhaseWaiting, svdir.PhaseBlocked,
	svdir.PhaseDone, svctl.StateUnsupervised,
}

// AppStates are the values of sv_app_state's state label.
var AppStates = []app.State{app.Stopped, app.Starting, app.Running, app.Stopping}

// family is one metric: its name, type and help, and how a service (or
// an application) gives its samples.
type family struct {
	name, typ, help string
}

// Write writes the metrics of the services and applications, and
// sv-scan's counters (nil: none, another supervisor's scan dir), each
// sample labelled with node (the machine's name; none when empty).
func Write(w io.Writer, infos []svctl.Info, apps []app.Status, counters *events.Counters, node string) error {
	b := bufio.NewWriterSize(w, 64<<10)
	e := &exposition{b: b, node: node}
	e.serviceFamilies(infos)
	e.appFamilies(apps)
	if counters != nil {
		e.header(family{"sv_hook_failures_total", "counter", "Hooks that failed: killed past HOOK_TIMEOUT, a non-zero exit, not started, a webhook delivery dropped (each also a hook record of the events)."})
		e.sample("sv_hook_failures_total", float64(counters.HookFailures))
		e.header(family{"sv_events_dropped_total", "counter", "Events sv-scan could not write to its ring (a full disk): lost for every reader."})
		e.sample("sv_events_dropped_total", float64(counters.Lost))
	}
	return b.Flush()
}

type exposition struct {
	b    *bufio.Writer
	node string
	num  []byte // a value being written: one buffer for every sample
}

func (e *exposition) header(f family) {
	fmt.Fprintf(e.b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
}

// sample writes one line: name{labels} value. Labels come in pairs.
func (e *exposition) sample(name string, value float64, labels ...string) {
	e.b.WriteString(name)
	sep := byte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if labels[i+1] == "" && labels[i] == "app" {
			continue // a service outside any application
		}
		e.b.WriteByte(sep)
		e.b.WriteString(labels[i])
		e.b.WriteString(`="`)
		e.b.WriteString(escape(labels[i+1]))
		e.b.WriteByte('"')
		sep = ','
	}
	if e.node != "" {
		e.b.WriteByte(sep)
		e.b.WriteString(`node="`)
		e.b.WriteString(escape(e.node))
		e.b.WriteByte('"')
		sep = ','
	}
	if sep == ',' {
		e.b.WriteByte('}')
	}
	e.b.WriteByte(' ')
	e.num = strconv.AppendFloat(e.num[:0], value, 'g', -1, 64)
	e.b.Write(e.num)
	e.b.WriteByte('\n')
}

// escape is a label value as the text format has it: \, " and newline
// escaped.
func escape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// serviceFamilies writes each service metric, family by family (the
// format wants a family's samples together).
func (e *exposition) serviceFamilies(infos []svctl.Info) {
	gauges := []struct {
		f   family
		val func(svctl.Info) (float64, bool)
	}{
		{family{"sv_service_up", "gauge", "Whether a process of the service runs (starting, up or stopping)."},
			func(i svctl.Info) (float64, bool) { return bit(i.Up()), true }},
		{family{"sv_service_ready", "gauge", "Whether the service runs and is ready (SVC_READY)."},
			func(i svctl.Info) (float64, bool) { return bit(i.IsReady()), true }},
		{family{"sv_service_desired_up", "gauge", "Whether the service is wanted up."},
			func(i svctl.Info) (float64, bool) { return bit(i.Want == "up"), true }},
		{family{"sv_service_restarts_total", "counter", "Restarts after a crash or a failed start since the supervisor took the service up."},
			func(i svctl.Info) (float64, bool) {
				if i.Restarts == nil {
					return 0, false
				}
				return float64(*i.Restarts), true
			}},
		{family{"sv_service_start_time_seconds", "gauge", "When the running process started, in seconds since the epoch."},
			func(i svctl.Info) (float64, bool) {
				if !i.Up() || i.Started.IsZero() {
					return 0, false
				}
				return float64(i.Started.UnixNano()) / 1e9, true
			}},
		{family{"sv_service_last_exit_code", "gauge", "The exit code of the service's last run, -1 when a signal ended it."},
			func(i svctl.Info) (float64, bool) {
				if i.LastExit == nil || i.LastExit.Unknown {
					return 0, false
				}
				return float64(i.LastExit.Code), true
			}},
		{family{"sv_service_health", "gauge", "1 while the health check (SVC_HEALTH, SVC_MEMORY_MAX) passes, 0 while the service is unhealthy; none before the first check."},
			func(i svctl.Info) (float64, bool) {
				if i.Health == "" {
					return 0, false
				}
				return bit(i.Health == "healthy"), true
			}},
	}
	for _, g := range gauges {
		e.header(g.f)
		for _, i := range infos {
			if v, ok := g.val(i); ok {
				e.sample(g.f.name, v, "service", i.Name, "app", i.App)
			}
		}
	}
	e.header(family{"sv_service_state", "gauge", "The service's state, one-hot: 1 for the state it is in, 0 for the others."})
	for _, i := range infos {
		for _, st := range ServiceStates {
			e.sample("sv_service_state", bit(i.State == st), "service", i.Name, "app", i.App, "state", st)
		}
	}
}

// appFamilies writes the applications' metrics.
func (e *exposition) appFamilies(apps []app.Status) {
	e.header(family{"sv_app_state", "gauge", "The application's state, one-hot (Supvisors' STOPPED, STARTING, RUNNING, STOPPING)."})
	for _, a := range apps {
		for _, st := range AppStates {
			e.sample("sv_app_state", bit(a.State == st), "app", a.Name, "state", string(st))
		}
	}
	e.header(family{"sv_app_major_failure", "gauge", "Whether a required member of the application failed."})
	for _, a := range apps {
		e.sample("sv_app_major_failure", bit(a.Major), "app", a.Name)
	}
	e.header(family{"sv_app_minor_failure", "gauge", "Whether a member that is not required failed."})
	for _, a := range apps {
		e.sample("sv_app_minor_failure", bit(a.Minor), "app", a.Name)
	}
}
