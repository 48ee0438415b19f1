package app

import (
	"reflect"
	"testing"
)

func up(name string, required bool) Member {
	return Member{Name: name, Required: required, Phase: "up", Want: "up", Ready: true}
}

func with(m Member, phase, want string) Member {
	m.Phase, m.Want = phase, want
	return m
}

// Supvisors' rules, case by case: the state's precedence, and which
// member makes which failure.
func TestEvaluate(t *testing.T) {
	web, db := up("web", false), up("db", true)
	cases := []struct {
		name    string
		members []Member
		state   State
		major   bool
		minor   bool
		reasons []Failure
		code    int
	}{
		{"all running", []Member{web, db}, Running, false, false, nil, ExitOK},
		{"one starting", []Member{with(web, "starting", "up"), db}, Starting, false, false, nil, ExitStarting},
		{"running, not ready yet, is starting", []Member{func() Member { m := web; m.Ready = false; return m }(), db}, Starting, false, false, nil, ExitStarting},
		{"between two starts is starting", []Member{with(web, "backoff", "up"), db}, Starting, false, false, nil, ExitStarting},
		{"waiting for a dependency is starting", []Member{with(web, "waiting", "up"), db}, Starting, false, false, nil, ExitStarting},
		{"stopping wins over starting", []Member{with(web, "starting", "up"), with(db, "stopping", "down")}, Stopping, false, false, nil, ExitStarting},
		{"a crash on the way to a restart is starting", []Member{with(web, "draining", "up"), db}, Starting, false, false, nil, ExitStarting},
		{"all down", []Member{with(web, "down", "down"), with(db, "down", "down")}, Stopped, false, false, nil, ExitStopped},
		{"a required member fatal: major", []Member{web, func() Member { m := with(db, "fatal", "down"); m.Why = "3 restarts"; return m }()},
			Running, true, false, []Failure{{"db", "fatal: 3 restarts"}}, ExitMajor},
		{"an optional member fatal: minor", []Member{func() Member { m := with(web, "fatal", "down"); m.Why = "3 restarts"; return m }(), db},
			Running, false, true, []Failure{{"web", "fatal: 3 restarts"}}, ExitMinor},
		{"a required member blocked: major", []Member{web, func() Member { m := with(db, "blocked", "up"); m.Why = "needs nfs (down)"; return m }()},
			Running, true, false, []Failure{{"db", "blocked: needs nfs (down)"}}, ExitMajor},
		{"a required member stopped while the application runs: major", []Member{web, with(db, "down", "down")},
			Running, true, false, []Failure{{"db", "stopped"}}, ExitMajor},
		{"a required member stopped while the application is stopped: none", []Member{with(web, "down", "down"), with(db, "down", "down")},
			Stopped, false, false, nil, ExitStopped},
		{"an optional member ended on a failure: minor", []Member{func() Member { m := with(web, "down", "down"); m.ExitFailed = true; return m }(), db},
			Running, false, true, []Failure{{"web", "exited on a failure"}}, ExitMinor},
		{"a oneshot running is starting", []Member{func() Member { m := up("mkdirs", true); m.Oneshot = true; return m }(), db}, Starting, false, false, nil, ExitStarting},
		{"a oneshot done is healthy", []Member{with(up("mkdirs", true), "done", "down"), db}, Running, false, false, nil, ExitOK},
		{"an unsupervised member is a failure", []Member{with(web, "unsupervised", "down"), db},
			Running, false, true, []Failure{{"web", "state unsupervised"}}, ExitMinor},
		{"both failures, major first", []Member{func() Member { m := with(web, "fatal", "down"); m.Why = "a"; return m }(), func() Member { m := with(db, "fatal", "down"); m.Why = "b"; return m }(), up("api", false)},
			Running, true, true, []Failure{{"db", "fatal: b"}, {"web", "fatal: a"}}, ExitMajor},
	}
	for _, c := range cases {
		st := Evaluate("app", c.members)
		if st.State != c.state || st.Major != c.major || st.Minor != c.minor || !reflect.DeepEqual(st.Reasons, c.reasons) || st.Code() != c.code {
			t.Errorf("%s: %+v (code %d), want %s major %v minor %v %v code %d", c.name, st, st.Code(), c.state, c.major, c.minor, c.reasons, c.code)
		}
	}
}

func TestWorseAndLine(t *testing.T) {
	if Worse(ExitOK, ExitStopped) != ExitStopped || Worse(ExitMajor, ExitMinor) != ExitMajor || Worse(ExitStarting, ExitStopped) != ExitStarting || Worse(ExitUnknown, ExitMajor) != ExitUnknown {
		t.Error("Worse does not keep the more serious code")
	}
	st := Evaluate("scen1", []Member{up("a", true), func() Member { m := with(up("b", false), "fatal", "down"); m.Why = "gave up"; return m }()})
	if got, want := st.Line(), "scen1 RUNNING major=no minor=yes (b: fatal: gave up)"; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}
