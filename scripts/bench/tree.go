package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A tree is one supervisor family running n services, each with a logger
// of its own kind: what a user of that family would set up. The sections
// on memory, idle CPU and stopping measure whole trees.
type tree struct {
	family  string
	cmd     *exec.Cmd // the top process: the scanner, or supervisord
	stop    func()
	dir     string   // where the services are
	markers []string // each daemon writes its pid there when it runs
	svcs    []string // each service's dir (its supervise/ is there), or its supervisord name
	conf    string   // supervisord's config file
}

// families are the trees the bench can build: ours and each peer
// installed here (peers only as root: they run in a PID namespace).
func (b *bench) families() []string {
	fams := []string{"sv-scan"}
	if !b.root {
		return fams
	}
	for _, f := range []struct{ name, bin string }{{"runit", "runsvdir"}, {"s6", "s6-svscan"}, {"daemontools", "svscan"}, {"supervisord", "supervisord"}} {
		if _, err := exec.LookPath(f.bin); err == nil {
			fams = append(fams, f.name)
		}
	}
	return fams
}

// familyLabel names a family by its scanner in the report.
var familyLabel = map[string]string{
	"sv-scan":     "sv-scan (builtin logging)",
	"runit":       "runit (runsvdir, runsv, svlogd)",
	"s6":          "s6 (s6-svscan, s6-supervise, s6-log)",
	"daemontools": "daemontools (svscan, supervise, multilog)",
	"supervisord": "supervisord (its own logging)",
}

// daemonSpec is what each service runs: a shell that records its pid in
// the marker with a builtin and execs sleep; with ignoreTerm, one that
// ignores TERM (as sleep then does too).
type daemonSpec struct{ ignoreTerm bool }

func (d daemonSpec) script(marker string) string {
	trap := ""
	if d.ignoreTerm {
		trap = "trap '' TERM; "
	}
	return fmt.Sprintf("%secho $$ >%s; exec sleep 100000", trap, marker)
}

// buildTree lays out n services for family under dir and starts its
// top process; it returns once every daemon runs.
func (b *bench) buildTree(family, dir string, n int, d daemonSpec, stopTimeout time.Duration) (*tree, error) {
	t := &tree{family: family, dir: dir}
	var err error
	switch family {
	case "sv-scan":
		err = b.svscanTree(t, n, d, stopTimeout)
	case "supervisord":
		err = b.supervisordTree(t, n, d, stopTimeout)
	default:
		err = b.daemontoolsTree(t, n, d, stopTimeout)
	}
	if err != nil {
		if t.stop != nil {
			t.stop()
		}
		return nil, err
	}
	for _, m := range t.markers {
		if _, _, err := waitMarker(m, 0, 120*time.Second); err != nil {
			t.stop()
			return nil, fmt.Errorf("%s: %d services: %s: %w", family, n, filepath.Base(m), err)
		}
	}
	return t, nil
}

func (b *bench) svscanTree(t *tree, n int, d daemonSpec, stopTimeout time.Duration) error {
	root, err := b.generated(n, d, stopTimeout)
	if err != nil {
		return err
	}
	// A fresh start: no supervise state or marker of an earlier tree.
	for _, sub := range []string{"run/sv/supervise", "run/sv/log-supervise"} {
		os.RemoveAll(filepath.Join(root, sub))
		os.MkdirAll(filepath.Join(root, sub), 0o755)
	}
	scan := filepath.Join(t.dir, "scan")
	if err := os.MkdirAll(scan, 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		marker := filepath.Join(root, name+".marker")
		os.Remove(marker)
		if err := os.Symlink(filepath.Join(root, "etc/sv", name), filepath.Join(scan, name)); err != nil {
			return err
		}
		t.markers = append(t.markers, marker)
		t.svcs = append(t.svcs, filepath.Join(scan, name))
	}
	cmd := exec.Command(filepath.Join(b.bin, "sv-scan"), scan)
	cmd.Env, cmd.Dir = append(os.Environ(), "SV_ROOT="+root), b.work
	return b.startTop(t, cmd, false)
}

// generated makes (once, and only as many as asked so far) services with
// sv-gen in a tree of their own, for every sv-scan tree of that kind: the
// first with sv-gen add, the others from an OPTIONS file each and one
// sv-gen sync (a thousand sv-gen add processes took half a minute).
func (b *bench) generated(n int, d daemonSpec, stopTimeout time.Duration) (string, error) {
	root := filepath.Join(b.work, fmt.Sprintf("svgen-%v-%s", d.ignoreTerm, stopTimeout))
	have := 0
	for ; ; have++ {
		if _, err := os.Stat(filepath.Join(root, "etc/sv", fmt.Sprintf("s%04d", have))); err != nil {
			break
		}
	}
	if have >= n {
		return root, nil
	}
	env := append(os.Environ(), "SV_ROOT="+root)
	gen := func(i int) error {
		name := fmt.Sprintf("s%04d", i)
		marker := filepath.Join(root, name+".marker")
		args := []string{"add", name, "--set", "LOG_TIMESTAMP=none"}
		if stopTimeout > 0 {
			args = append(args, "--set", "SVC_STOP_TIMEOUT="+stopTimeout.String())
		}
		cmd := exec.Command(filepath.Join(b.bin, "sv-gen"), append(args, "--", "/bin/sh", "-c", d.script(marker))...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sv-gen: %v: %s", err, out)
		}
		return nil
	}
	if have == 0 { // the first makes the tree, with sv-gen add
		if err := gen(0); err != nil {
			return "", err
		}
		have = 1
	}
	// The others as a user would write them by hand: an OPTIONS each
	// (the first's, renamed), then one sv-gen sync makes every service.
	first, err := os.ReadFile(filepath.Join(root, "etc/sv/s0000/OPTIONS"))
	if err != nil {
		return "", err
	}
	for i := have; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		dir := filepath.Join(root, "etc/sv", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		data := strings.ReplaceAll(string(first), "s0000", name)
		if err := os.WriteFile(filepath.Join(dir, "OPTIONS"), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	cmd := exec.Command(filepath.Join(b.bin, "sv-gen"), "sync")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("sv-gen sync: %v: %s", err, out)
	}
	return root, nil
}

// daemontoolsTree is runit, s6 or daemontools: a service dir per service
// whose ./run is the daemon, with log/run running the family's logger
// on a directory of its own.
func (b *bench) daemontoolsTree(t *tree, n int, d daemonSpec, stopTimeout time.Duration) error {
	scan := filepath.Join(t.dir, "scan")
	if err := os.MkdirAll(scan, 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		svc := filepath.Join(t.dir, "svc", name)
		logDir := filepath.Join(t.dir, "log", name)
		marker := filepath.Join(t.dir, name+".marker")
		for _, p := range []string{filepath.Join(svc, "log"), logDir} {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		}
		run := "#!/bin/sh\nexec 2>&1\n" + d.script(marker) + "\n"
		if err := os.WriteFile(filepath.Join(svc, "run"), []byte(run), 0o755); err != nil {
			return err
		}
		var logger string
		switch t.family {
		case "runit":
			os.WriteFile(filepath.Join(logDir, "config"), []byte("s1000000\nn10\n"), 0o644)
			logger = "svlogd " + logDir
		case "s6":
			logger = "s6-log n10 s1000000 " + logDir
			if stopTimeout > 0 { // s6-supervise sends KILL after this many ms
				os.WriteFile(filepath.Join(svc, "timeout-kill"), []byte(strconv.Itoa(int(stopTimeout.Milliseconds()))+"\n"), 0o644)
			}
		case "daemontools":
			logger = "multilog s1000000 n10 " + logDir
		}
		if err := os.WriteFile(filepath.Join(svc, "log", "run"), []byte("#!/bin/sh\nexec "+logger+"\n"), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(svc, filepath.Join(scan, name)); err != nil {
			return err
		}
		t.markers = append(t.markers, marker)
		t.svcs = append(t.svcs, svc)
	}
	var cmd *exec.Cmd
	switch t.family {
	case "runit":
		cmd = exec.Command("runsvdir", "-P", scan)
	case "s6":
		cmd = exec.Command("s6-svscan", "-c", "4096", scan) // it takes 500 by default
	case "daemontools":
		cmd = exec.Command("svscan", scan)
	}
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/lib/s6/bin")
	cmd.Dir = b.work
	return b.startTop(t, cmd, true)
}

// supervisordTree is supervisord with a [program] per service, its output
// in a log file that supervisord itself writes and rotates.
func (b *bench) supervisordTree(t *tree, n int, d daemonSpec, stopTimeout time.Duration) error {
	logs := filepath.Join(t.dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	var c strings.Builder
	fmt.Fprintf(&c, "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nchildlogdir=%s\n", t.dir, t.dir, logs)
	fmt.Fprintf(&c, "[unix_http_server]\nfile=%s/supervisor.sock\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n[supervisorctl]\nserverurl=unix://%s/supervisor.sock\n", t.dir, t.dir)
	wait := 10 * time.Second // supervisord's default stopwaitsecs
	if stopTimeout > 0 {
		wait = stopTimeout
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d", i)
		marker := filepath.Join(t.dir, name+".marker")
		fmt.Fprintf(&c, "[program:%s]\ncommand=/bin/sh -c \"%s\"\nstdout_logfile=%s/%s.log\nstdout_logfile_maxbytes=1MB\nstdout_logfile_backups=10\nredirect_stderr=true\nautorestart=true\nstartsecs=0\nstopwaitsecs=%d\n",
			name, d.script(marker), logs, name, int(wait.Seconds()))
		t.markers = append(t.markers, marker)
		t.svcs = append(t.svcs, name)
	}
	t.conf = filepath.Join(t.dir, "supervisord.conf")
	if err := os.WriteFile(t.conf, []byte(c.String()), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("supervisord", "-n", "-c", t.conf)
	cmd.Dir = b.work
	return b.startTop(t, cmd, true)
}

// startTop starts the tree's top process: in a PID namespace of its own
// for the peers (killing it ends everything), in a session for sv-scan
// (SIGINT: it stops its services, then exits).
func (b *bench) startTop(t *tree, cmd *exec.Cmd, ns bool) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if ns {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	t.cmd = cmd
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	t.stop = func() {
		if stopped {
			return
		}
		stopped = true
		if ns {
			cmd.Process.Kill()
		} else {
			cmd.Process.Signal(syscall.SIGINT)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	b.stop = append(b.stop, t.stop)
	return nil
}

// members lists the tree's processes (host pids), the top one included,
// and says which are daemons (what the services run: sleep).
func (t *tree) members() (sup, daemons []int) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, err := procStat(pid); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	queue := []int{t.cmd.Process.Pid}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		queue = append(queue, children[pid]...)
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "sleep" {
			daemons = append(daemons, pid)
		} else {
			sup = append(sup, pid)
		}
	}
	return sup, daemons
}

// procStat reads a process's parent and its CPU time (user+system ticks).
func procStat(pid int) (ppid int, ticks int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("bad stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, errors.New("bad stat")
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ppid, ut + st, nil
}
