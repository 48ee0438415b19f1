package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The hooks section: from a daemon's death (kill -9 by the bench) to what
// its supervisor runs for it: sv-scan's ON_EXIT command, sv-scan's
// webhook received on loopback, and supervisord's event listener told of
// PROCESS_STATE_EXITED. The floor is the bench itself running the same
// hook command (fork, exec of sh, its write seen through inotify).

func init() { register(section{95, "hooks", (*bench).hooksSection}) }

func (b *bench) hooksSection(r *strings.Builder) {
	fmt.Fprintf(r, "## A daemon's death to its hook\n\n")
	fmt.Fprintf(r, "From kill -9 of a daemon that has run over a second to its hook having run: the hook is `/bin/sh -c 'echo $SV_PID >FILE'` and the bench sees FILE written through inotify (as it sees a daemon's pid file in the sections above). sv-scan's `ON_EXIT` runs the command; its webhook (`ON_EXIT=webhook:URL`) is a POST to a server of the bench's on loopback, timed to the request's arrival, the deliverer (sv-webhook) started by the first and lingering for the next; supervisord's is an `[eventlistener]` subscribed to PROCESS_STATE_EXITED, a python3 program that uses `supervisor.childutils` and writes the same file. Each run is its own service, killed once. The floor is the bench running the hook command itself. %d runs each.\n\n", b.reps)
	fmt.Fprintf(r, "| hook | runs | median | min | max | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
	var base time.Duration
	row(r, "sv-scan, ON_EXIT command", b.svscanHook(b.reps, hookCmd), &base)
	row(r, "sv-scan, ON_EXIT command, no restart (SVC_RESTART=never)", b.svscanHook(b.reps, hookCmdAlone), &base)
	row(r, "sv-scan, ON_EXIT webhook (received)", b.svscanHook(b.reps, hookWebhook), &base)
	if _, err := exec.LookPath("supervisord"); err == nil && b.root {
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			row(r, "supervisord, event listener (childutils)", b.supervisordHook(b.reps), &base)
		}
	}
	row(r, "the hook command alone (floor)", b.hookFloor(b.reps), &base)
	fmt.Fprintln(r)
}

// hookCommand writes the dead daemon's pid, as the hook's environment
// says it, to file.
func hookCommand(file string) string { return fmt.Sprintf("echo $SV_PID >%s", file) }

// The kinds of sv-scan's hook measured: a command, the same with no
// restart spawned beside it, a webhook.
const (
	hookCmd      = "cmd"
	hookCmdAlone = "cmd-alone"
	hookWebhook  = "webhook"
)

// svscanHook measures sv-scan: n services, each with ON_EXIT (a command
// or a webhook), each killed once.
func (b *bench) svscanHook(n int, kind string) stats {
	webhook := kind == hookWebhook
	dir := filepath.Join(b.work, "hooks-"+kind)
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	var got chan string
	action := ""
	if webhook {
		srv, url, ch, err := hookReceiver()
		if err != nil {
			return stats{err: err.Error()}
		}
		defer srv.Close()
		got, action = ch, "ON_EXIT=webhook:"+url
	}
	t := &tree{family: "sv-scan", dir: dir}
	scan := filepath.Join(dir, "scan")
	os.MkdirAll(scan, 0o755)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		svc := filepath.Join(root, "etc/sv", name)
		if err := os.MkdirAll(svc, 0o755); err != nil {
			return stats{err: err.Error()}
		}
		marker := filepath.Join(dir, name+".marker")
		hook := "ON_EXIT='" + hookCommand(filepath.Join(dir, name+".hook")) + "'"
		if webhook {
			hook = action
		}
		if kind == hookCmdAlone {
			hook += "\nSVC_RESTART=never"
		}
		opts := fmt.Sprintf("SVC_CMD='/bin/sh -c \"%s\"'\nLOG=none\n%s\n", daemonSpec{}.script(marker), hook)
		if err := os.WriteFile(filepath.Join(svc, "OPTIONS"), []byte(opts), 0o644); err != nil {
			return stats{err: err.Error()}
		}
		os.Symlink(svc, filepath.Join(scan, name))
		t.markers = append(t.markers, marker)
	}
	env := append(os.Environ(), "SV_ROOT="+root)
	gen := exec.Command(filepath.Join(b.bin, "sv-gen"), "sync")
	gen.Env = env
	if out, err := gen.CombinedOutput(); err != nil {
		return stats{err: fmt.Sprintf("sv-gen sync: %v: %s", err, out)}
	}
	cmd := exec.Command(filepath.Join(b.bin, "sv-scan"), scan)
	cmd.Env, cmd.Dir = env, b.work
	cmd.Stderr = io.Discard
	if err := b.startTop(t, cmd, false); err != nil {
		return stats{err: err.Error()}
	}
	defer t.stop()
	defer removeCgroupTree(b.work, scan)
	pids := make([]int, n)
	for i, m := range t.markers {
		var err error
		if pids[i], _, err = waitMarker(m, 0, 20*time.Second); err != nil {
			return stats{err: err.Error()}
		}
	}
	time.Sleep(1100 * time.Millisecond) // each daemon has run a while: a death, not a failed start
	var ds []time.Duration
	for i, pid := range pids {
		name := fmt.Sprintf("s%04d", i)
		t0 := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		var at time.Time
		var err error
		if webhook {
			at, err = waitReceived(got, name, 20*time.Second)
		} else {
			_, at, err = waitMarker(filepath.Join(dir, name+".hook"), 0, 20*time.Second)
		}
		if err != nil {
			return stats{err: err.Error()}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}

// hookReceiver is an HTTP server on loopback that tells, for each POST,
// which service's event it holds.
func hookReceiver() (*http.Server, string, chan string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	got := make(chan string, 1024)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Service string }
		json.NewDecoder(r.Body).Decode(&ev)
		got <- ev.Service
	})}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String() + "/hook", got, nil
}

// waitReceived waits for the delivery of name's event, and says when it
// came.
func waitReceived(got chan string, name string, limit time.Duration) (time.Time, error) {
	deadline := time.After(limit)
	for {
		select {
		case s := <-got:
			if s == name {
				return time.Now(), nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("no delivery for %s", name)
		}
	}
}

// supervisordHook measures supervisord: n programs, and an event listener
// that writes each exited program's pid to its hook file.
func (b *bench) supervisordHook(n int) stats {
	dir := filepath.Join(b.work, "hooks-supervisord")
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return stats{err: err.Error()}
	}
	listener := filepath.Join(dir, "listener.py")
	if err := os.WriteFile(listener, []byte(supervisordListener), 0o644); err != nil {
		return stats{err: err.Error()}
	}
	t := &tree{family: "supervisord", dir: dir}
	var c strings.Builder
	fmt.Fprintf(&c, "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nchildlogdir=%s/logs\n", dir, dir, dir)
	fmt.Fprintf(&c, "[eventlistener:hook]\ncommand=/usr/bin/python3 %s %s\nevents=PROCESS_STATE_EXITED\nbuffer_size=1024\n", listener, dir)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		marker := filepath.Join(dir, name+".marker")
		fmt.Fprintf(&c, "[program:%s]\ncommand=/bin/sh -c \"%s\"\nautorestart=true\nstartsecs=0\nstdout_logfile=%s/logs/%s.log\n", name, daemonSpec{}.script(marker), dir, name)
		t.markers = append(t.markers, marker)
	}
	t.conf = filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(t.conf, []byte(c.String()), 0o644); err != nil {
		return stats{err: err.Error()}
	}
	cmd := exec.Command("supervisord", "-n", "-c", t.conf)
	cmd.Dir = b.work
	if err := b.startTop(t, cmd, true); err != nil {
		return stats{err: err.Error()}
	}
	defer t.stop()
	pids := make([]int, n)
	for i, m := range t.markers {
		var err error
		if pids[i], _, err = waitMarker(m, 0, 20*time.Second); err != nil {
			return stats{err: err.Error()}
		}
	}
	if _, _, err := waitMarker(filepath.Join(dir, "listener.ready"), 0, 20*time.Second); err != nil {
		return stats{err: "the listener: " + err.Error()}
	}
	time.Sleep(1100 * time.Millisecond)
	var ds []time.Duration
	for i, pid := range pids {
		name := fmt.Sprintf("s%04d", i)
		t0 := time.Now()
		syscall.Kill(t.hostPidOf(pid), syscall.SIGKILL)
		_, at, err := waitMarker(filepath.Join(dir, name+".hook"), 0, 20*time.Second)
		if err != nil {
			return stats{err: err.Error()}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}

// supervisordListener writes each exited program's pid to DIR/NAME.hook,
// as the hook command does for sv-scan.
const supervisordListener = `import os, sys
from supervisor import childutils
d = sys.argv[1]
with open(os.path.join(d, "listener.ready"), "w") as f:
    f.write("%d\n" % os.getpid())
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    fields = dict(x.split(":", 1) for x in payload.split())
    tmp = os.path.join(d, fields["processname"] + ".hook.tmp")
    with open(tmp, "w") as f:
        f.write(fields["pid"] + "\n")
    os.rename(tmp, os.path.join(d, fields["processname"] + ".hook"))
    childutils.listener.ok(sys.stdout)
`

// hookFloor is the bench running the hook command itself.
func (b *bench) hookFloor(n int) stats {
	dir := filepath.Join(b.work, "hooks-floor")
	defer os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	var ds []time.Duration
	for i := 0; i < n; i++ {
		file := filepath.Join(dir, fmt.Sprintf("%d.hook", i))
		t0 := time.Now()
		cmd := exec.Command("/bin/sh", "-c", hookCommand(file))
		cmd.Env = append(os.Environ(), "SV_PID=4242")
		if err := cmd.Start(); err != nil {
			return stats{err: err.Error()}
		}
		_, at, err := waitMarker(file, 0, 20*time.Second)
		cmd.Wait()
		if err != nil {
			return stats{err: err.Error()}
		}
		ds = append(ds, at.Sub(t0))
	}
	return summarize(ds)
}
