package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/app"
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

func TestWrite(t *testing.T) {
	ready, restarts := true, 3
	infos := []svctl.Info{
		{Name: "web", State: svdir.PhaseUp, Want: "up", Pid: 42, Ready: &ready, Restarts: &restarts, App: "tier",
			Started: time.Unix(1_800_000_000, 500_000_000), Health: "unhealthy"},
		{Name: `we"ird`, State: svdir.PhaseFatal, Want: "down", Restarts: new(int), LastExit: &svdir.Exit{Code: -1, Signal: "SIGSEGV"}},
	}
	apps := []app.Status{{Name: "tier", State: app.Running, Minor: true}}
	var b strings.Builder
	if err := Write(&b, infos, apps, &events.Counters{HookFailures: 2}, "node1"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# TYPE sv_service_up gauge\n",
		`sv_service_up{service="web",app="tier",node="node1"} 1` + "\n",
		`sv_service_up{service="we\"ird",node="node1"} 0` + "\n",
		"# TYPE sv_service_restarts_total counter\n",
		`sv_service_restarts_total{service="web",app="tier",node="node1"} 3` + "\n",
		`sv_service_start_time_seconds{service="web",app="tier",node="node1"} 1.8000000005e+09` + "\n",
		`sv_service_last_exit_code{service="we\"ird",node="node1"} -1` + "\n",
		`sv_service_health{service="web",app="tier",node="node1"} 0` + "\n",
		`sv_service_state{service="web",app="tier",state="up",node="node1"} 1` + "\n",
		`sv_service_state{service="web",app="tier",state="down",node="node1"} 0` + "\n",
		`sv_service_state{service="we\"ird",state="fatal",node="node1"} 1` + "\n",
		`sv_app_state{app="tier",state="RUNNING",node="node1"} 1` + "\n",
		`sv_app_state{app="tier",state="STOPPED",node="node1"} 0` + "\n",
		`sv_app_minor_failure{app="tier",node="node1"} 1` + "\n",
		`sv_app_major_failure{app="tier",node="node1"} 0` + "\n",
		"# TYPE sv_hook_failures_total counter\n",
		`sv_hook_failures_total{node="node1"} 2` + "\n",
		`sv_events_dropped_total{node="node1"} 0` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// one-hot: each service has exactly one state at 1
	for _, svc := range []string{`service="web"`, `service="we\"ird"`} {
		n := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "sv_service_state{"+svc) && strings.HasSuffix(l, " 1") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d states at 1", svc, n)
		}
	}
	// no start time or health for what has none; no node label when none
	if strings.Contains(out, `sv_service_start_time_seconds{service="we\"ird"`) || strings.Contains(out, `sv_service_health{service="we\"ird"`) {
		t.Error("samples for values that do not exist")
	}
	b.Reset()
	Write(&b, infos[:1], nil, nil, "")
	if !strings.Contains(b.String(), `sv_service_up{service="web",app="tier"} 1`) {
		t.Errorf("without a node:\n%s", b.String())
	}
}

func TestEscape(t *testing.T) {
	if got := escape("a\\b\"c\nd"); got != `a\\b\"c\nd` {
		t.Errorf("escape = %q", got)
	}
}
