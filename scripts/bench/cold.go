package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(section{70, "cold", (*bench).coldSection})
	// The OpenRC part of cold alone (it is also in cold): its runs are
	// the slowest, and an A/B of an OpenRC change needs only them.
	register(section{71, "cold-openrc", (*bench).coldOpenRCOnly})
}

func (b *bench) coldOpenRCOnly(r *strings.Builder) {
	if len(b.sections) == 0 {
		return // a full run has it in cold
	}
	fmt.Fprintf(r, "## %d services from cold, OpenRC only\n", coldN)
	b.coldOpenRCSection(r)
}

const (
	coldN        = 100              // services started from cold
	coldReps     = 3                // runs of each way, but:
	coldRCReps   = 1                // openrc default (10-20s each way, on 2 CPUs)
	coldLimit    = 60 * time.Second // bounds every wait of the section
	coldRCLimit  = 240 * time.Second
	tmpfsMagic   = 0x01021994
	coldTmpfsDir = "/dev/shm"
)

// coldRun is one way of starting coldN services from cold, repeated.
type coldRun struct {
	running, ready, waiter []time.Duration
	err                    string
}

// coldKind is how the hand-written services are made, and how their
// readiness is awaited.
type coldKind int

const (
	coldPlain    coldKind = iota // rawService: no readiness
	coldS6Notify                 // and notification-fd 3: s6-svwait -U
	coldOptions                  // and OPTIONS with SVC_READY=fd:3 (sv-scan, no sv-exec): sv-ctl wait ready
	coldLevels                   // coldOptions, in depLevels levels, each needing every service of the one before
	coldApp                      // coldOptions, all members of one application (SVC_GROUP_NAME=bench)
)

func coldNames() []string {
	names := make([]string, coldN)
	for i := range names {
		names[i] = fmt.Sprintf("s%03d", i)
	}
	return names
}

// coldWait waits until every name in dir is a file holding a pid (the
// daemons' markers), woken by inotify; it returns when the last was seen.
func coldWait(dir string, names []string, limit time.Duration) (time.Time, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return time.Time{}, err
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		return time.Time{}, err
	}
	pending := map[string]bool{}
	for _, n := range names {
		pending[n] = true
	}
	check := func(n string) {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			delete(pending, n)
		}
	}
	for _, n := range names {
		check(n)
	}
	deadline := time.Now().Add(limit)
	buf := make([]byte, 64*1024)
	for len(pending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return time.Time{}, fmt.Errorf("timed out after %s: %d of %d daemons running", limit, len(names)-len(pending), len(names))
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, int(left.Milliseconds())+1); n <= 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			continue
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			l := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+l], "\x00"))
			off += unix.SizeofInotifyEvent + l
			if mask&unix.IN_Q_OVERFLOW != 0 {
				for p := range pending {
					check(p)
				}
			} else if pending[name] {
				check(name)
			}
		}
	}
	return time.Now(), nil
}

// coldService makes one hand-written service dir of the kind.
func (b *bench) coldService(dir, marker string, kind coldKind) error {
	if kind == coldPlain {
		return b.rawService(dir, marker)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	extra, content := "notification-fd", "3\n"
	switch kind {
	case coldOptions:
		extra, content = "OPTIONS", "SVC_READY=fd:3\n"
	case coldLevels:
		extra, content = "OPTIONS", "SVC_READY=fd:3\n"+levelNeeds(filepath.Base(dir))
	case coldApp:
		extra, content = "OPTIONS", "SVC_READY=fd:3\nSVC_GROUP_NAME="+benchApp+"\n"
	}
	if err := os.WriteFile(filepath.Join(dir, extra), []byte(content), 0o644); err != nil {
		return err
	}
	run := fmt.Sprintf("#!/bin/sh\necho $$ >%s\necho >&3\nexec sleep 100000 3>&-\n", marker)
	return os.WriteFile(filepath.Join(dir, "run"), []byte(run), 0o755)
}

// coldRaw starts a scanner on coldN hand-written service dirs, made under
// base and linked in its scan dir before it starts, until every daemon has
// written its pid; with readiness, then until the waiter returns, and the
// waiter once more, all being ready, for its own time.
func (b *bench) coldRaw(s supervisor, base string, kind coldKind, reps int) coldRun {
	var cr coldRun
	names := coldNames()
	for rep := 0; rep < reps; rep++ {
		dir := filepath.Join(base, fmt.Sprintf("cold-%s-%d", slug(s.name), kind), strconv.Itoa(rep))
		scan, marks := filepath.Join(dir, "scan"), filepath.Join(dir, "mark")
		os.MkdirAll(scan, 0o755)
		os.MkdirAll(marks, 0o755)
		var svcs []string
		for _, n := range names {
			svc := filepath.Join(dir, "svc", n)
			err := b.coldService(svc, filepath.Join(marks, n), kind)
			if err == nil {
				err = os.Symlink(svc, filepath.Join(scan, n))
			}
			if err != nil {
				cr.err = err.Error()
				return cr
			}
			svcs = append(svcs, svc)
		}
		waiter := func(deadline time.Time) (time.Time, error) {
			if kind == coldS6Notify {
				return s6Wait(svcs, deadline)
			}
			return b.svctlWait([]string{"--scandir", scan}, names, deadline)
		}
		t0 := time.Now()
		_, stop, err := b.start(s, scan)
		if err != nil {
			cr.err = err.Error()
			return cr
		}
		at, err := coldWait(marks, names, coldLimit)
		if err == nil {
			cr.running = append(cr.running, at.Sub(t0))
			if kind != coldPlain {
				at, err = waiter(t0.Add(coldLimit))
				if err == nil {
					cr.ready = append(cr.ready, at.Sub(t0))
					w0 := time.Now()
					at, err = waiter(w0.Add(coldLimit))
					cr.waiter = append(cr.waiter, at.Sub(w0))
				}
			}
		}
		stop()
		if err != nil {
			cr.err = err.Error()
			return cr
		}
		os.RemoveAll(dir)
	}
	return cr
}

// s6Wait runs s6-svwait -U on the service dirs until it succeeds (it fails
// at once for a dir whose s6-supervise has not written its status yet: not
// so once its daemon runs, but it is tried again then), and returns when
// it did.
func s6Wait(svcs []string, deadline time.Time) (time.Time, error) {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return time.Time{}, errors.New("s6-svwait -U: timed out")
		}
		cmd := exec.Command("s6-svwait", append([]string{"-U", "-t", strconv.FormatInt(left.Milliseconds()+1, 10)}, svcs...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return time.Now(), nil
		}
		if !bytes.Contains(out, []byte("s6_svstatus_read")) {
			return time.Time{}, fmt.Errorf("s6-svwait -U: %v: %s", err, bytes.TrimSpace(out))
		}
		time.Sleep(time.Millisecond)
	}
}

// svctlWait runs sv-ctl wait ready on the names (where: --root or
// --scandir), and returns when it did.
func (b *bench) svctlWait(where, names []string, deadline time.Time) (time.Time, error) {
	left := time.Until(deadline).Round(time.Millisecond)
	if left <= 0 {
		return time.Time{}, errors.New("sv-ctl wait ready: no time left")
	}
	args := append(append(append(append([]string(nil), where...), "wait", "ready"), names...), "--timeout", left.String())
	out, err := exec.Command(filepath.Join(b.bin, "sv-ctl"), args...).CombinedOutput()
	if err != nil {
		return time.Time{}, fmt.Errorf("sv-ctl wait ready: %v: %s", err, bytes.TrimSpace(out))
	}
	return time.Now(), nil
}

// coldFloor is the floor under every supervisor: the bench itself starts
// the coldN ./run, one after another, until all have written their pid.
func (b *bench) coldFloor(reps int) coldRun {
	var cr coldRun
	names := coldNames()
	for rep := 0; rep < reps; rep++ {
		dir := filepath.Join(b.work, "cold-floor", strconv.Itoa(rep))
		marks := filepath.Join(dir, "mark")
		os.MkdirAll(marks, 0o755)
		for _, n := range names {
			if err := b.rawService(filepath.Join(dir, "svc", n), filepath.Join(marks, n)); err != nil {
				cr.err = err.Error()
				return cr
			}
		}
		var cmds []*exec.Cmd
		t0 := time.Now()
		for _, n := range names {
			cmd := exec.Command(filepath.Join(dir, "svc", n, "run"))
			if err := cmd.Start(); err != nil {
				cr.err = err.Error()
				break
			}
			cmds = append(cmds, cmd)
		}
		var at time.Time
		var err error
		if cr.err == "" {
			at, err = coldWait(marks, names, coldLimit)
		}
		for _, cmd := range cmds {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if cr.err != "" {
			return cr
		}
		if err != nil {
			cr.err = err.Error()
			return cr
		}
		cr.running = append(cr.running, at.Sub(t0))
	}
	return cr
}

// coldGen is the same with sv-gen's services (started directly by sv-scan), each with
// SVC_READY=fd:3 and a daemon that writes a newline to fd 3; readiness is
// waited for with sv-ctl wait ready. The tree is made once; its runtime
// state (what /run would hold: run/sv/supervise, run/sv/log-supervise) is
// emptied before each run.
func (b *bench) coldGen(s supervisor, root string, reps int) coldRun {
	var cr coldRun
	names := coldNames()
	marks := filepath.Join(root, "mark")
	scan := filepath.Join(root, "run/sv/service")
	where := []string{"--root", root}
	for rep := 0; rep < reps; rep++ {
		for _, d := range []string{marks, filepath.Join(root, "run/sv/supervise"), filepath.Join(root, "run/sv/log-supervise")} {
			os.RemoveAll(d)
			os.MkdirAll(d, 0o755)
		}
		t0 := time.Now()
		_, stop, err := b.start(s, scan)
		if err != nil {
			cr.err = err.Error()
			return cr
		}
		at, err := coldWait(marks, names, coldLimit)
		if err == nil {
			cr.running = append(cr.running, at.Sub(t0))
			at, err = b.svctlWait(where, names, t0.Add(coldLimit))
		}
		if err == nil {
			cr.ready = append(cr.ready, at.Sub(t0))
			w0 := time.Now()
			at, err = b.svctlWait(where, names, w0.Add(coldLimit))
			cr.waiter = append(cr.waiter, at.Sub(w0))
		}
		stop()
		if err != nil {
			cr.err = err.Error()
			return cr
		}
	}
	return cr
}

// coldGenerate makes coldN services with sv-gen under root, enabled, each
// ready by fd 3.
func (b *bench) coldGenerate(root string) error {
	names := coldNames()
	marks := filepath.Join(root, "mark")
	add := func(n string) error {
		daemon := fmt.Sprintf("echo $$ >%s; echo >&3; exec sleep 100000 3>&-", filepath.Join(marks, n))
		cmd := exec.Command(filepath.Join(b.bin, "sv-gen"), "--root", root, "add", n, "--enable", "--set", "SVC_READY=fd:3", "--", "/bin/sh", "-c", daemon)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sv-gen add %s: %v: %s", n, err, bytes.TrimSpace(out))
		}
		return nil
	}
	if err := add(names[0]); err != nil { // lays out the tree
		return err
	}
	work := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := add(n); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, n := range names[1:] {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // nil when none
}

// missing says why a row has no time ("" when it has).
func (row *coldRC) missing() string {
	switch {
	case row != nil && len(row.times) > 0:
		return ""
	case row != nil && row.err != "":
		return row.err
	}
	return "no result"
}

// coldRC is what `openrc default` did for one backend in the sandbox.
type coldRC struct {
	times, stops []time.Duration
	running      []int // daemons running when openrc returned
	later        []int // and a second later
	deptree      time.Duration
	err          string
}

// coldOpenRCScript runs in the OpenRC sandbox (see openrcSandbox). It puts
// N services in the default runlevel, in turn sv.sN (ours, the builtin
// backend; the scanner runs first), peerN (supervisor= supervise-daemon)
// and noopN (start() { :; }), each set alone; times `openrc default` from
// a runlevel in which none of them runs, then `openrc empty` back, REPS
// times, with rc_parallel=YES (sv.sN after a boot: each started and
// stopped once before, then the run dir emptied and the scanner started
// again).
const coldOpenRCScript = openrcPrelude + `
# --- ours: sv.sN through /etc/init.d/supervision, the builtin backend ----
add() { sv-gen add s$1 -- /bin/sh -c "echo \$\$ >$root/mark/s$1; exec sleep 100000" >/dev/null 2>&1 || echo "error builtin sv-gen add s$1 failed"; }
ours builtin $(i=1; while [ $i -le "$N" ]; do echo s$i; i=$((i+1)); done)

# --- OpenRC's own: supervisor=supervise-daemon --------------------------
peer() {
	mkdir -p "$peers/svc/$1"
	printf '#!/bin/sh\necho $$ >%s\nexec sleep 100000\n' "$peers/mark/$1" >"$peers/svc/$1/run"
	chmod 755 "$peers/svc/$1/run"
	printf '#!/sbin/openrc-run\nsupervisor=supervise-daemon\ncommand=%s\n' "$peers/svc/$1/run" >/etc/init.d/peer$1
	chmod 755 /etc/init.d/peer$1
	default peer$1
}
each peer
deptree supervise-daemon
measure supervise-daemon "$peers/mark"
rm -f /etc/runlevels/default/* /etc/init.d/peer*

# --- OpenRC's floor: start() { :; } -------------------------------------
noop() {
	printf '#!/sbin/openrc-run\nstart() { :; }\nstop() { :; }\n' >/etc/init.d/noop$1
	chmod 755 /etc/init.d/noop$1
	default noop$1
}
each noop
deptree noop
measure noop /run/cold-none last
`

// openrcPrelude is the start of every script run in the OpenRC sandbox:
// "sh -c SCRIPT sh BIN TREE N REPS [MORE...]". Its functions print
//
//	deptree WHO MICROSECONDS   (rc-update -u: OpenRC reading every depend())
//	time WHO MICROSECONDS OPENRC-EXIT-CODE
//	stop WHO MICROSECONDS
//	running WHO AT-RETURN ONE-SECOND-LATER
//	error WHO TEXT
const openrcPrelude = `
BIN=$1 TREE=$2 N=$3 REPS=$4
export PATH="$BIN:$PATH"
now() { date +%s%N; }
echo 'rc_parallel="YES"' >>/etc/rc.conf
mkdir -p /etc/runlevels/empty
alive() { # alive DIR: how many markers in DIR name a live process (no fork)
	n=0
	for f in "$1"/*; do
		[ -s "$f" ] || continue
		read pid <"$f"
		st=
		while read k v; do
			[ "$k" = State: ] && { st=$v; break; }
		done <"/proc/$pid/status" 2>/dev/null
		case $st in "" | Z*) ;; *) n=$((n+1)) ;; esac
	done
	echo $n
}
deptree() { # deptree WHO
	t0=$(now)
	timeout 120 rc-update -u >/dev/null 2>&1
	echo "deptree $1 $(( ($(now) - t0) / 1000 ))"
}
measure() { # measure WHO MARKDIR [last]: from a runlevel where none runs
	r=0
	while [ $r -lt "$REPS" ]; do
		rm -f "$2"/*
		t0=$(now)
		timeout 120 openrc default >/run/cold-$1.out 2>&1
		rc=$?
		t1=$(now)
		a=$(alive "$2")
		sleep 1
		echo "time $1 $(( (t1 - t0) / 1000 )) $rc"
		echo "running $1 $a $(alive "$2")"
		[ $rc = 0 ] || echo "error $1 openrc default exited $rc: $(grep -m 1 -i 'error\|fail' /run/cold-$1.out)"
		r=$((r+1))
		[ $r = "$REPS" ] && [ "$3" = last ] && break # the sandbox's end stops all
		t0=$(now)
		timeout 120 openrc empty >/dev/null 2>&1
		echo "stop $1 $(( ($(now) - t0) / 1000 ))"
	done
}
each() { # each CMD: CMD 1 .. CMD N, four at a time
	i=1
	while [ $i -le "$N" ]; do
		"$@" $i &
		[ $((i % 4)) = 0 ] && wait
		i=$((i+1))
	done
	wait
}
default() { # default NAME...: the default runlevel holds these
	for s in "$@"; do ln -s "/etc/init.d/$s" "/etc/runlevels/default/$s"; done
}
root=/run/cold-sv
peers=/run/cold-peers
mkdir -p "$root/run/sv/service" "$root/mark" "$peers/mark"
ours() { # ours WHO NAME...: sv.NAME through /etc/init.d/supervision, the
	# builtin backend, each NAME made by "add NUMBER" (1..N)
	who=$1; shift
	export SV_ROOT=$root
	cp "$TREE/rc/supervision" /etc/init.d/supervision
	chmod 755 /etc/init.d/supervision
	printf 'SV_BACKEND=builtin\nSV_ROOT=%s\nSV_RC=%s\n' "$root" "$BIN/sv-rc" >/etc/conf.d/supervision
	sv-gen init >/dev/null 2>&1
	each add
	sv-gen enable --openrc "$@" >/dev/null || echo "error $who sv-gen enable --openrc failed"
	ln -s /etc/init.d/supervision /etc/runlevels/empty/supervision
	default supervision $(for n in "$@"; do echo sv.$n; done)
	deptree $who
	timeout 120 openrc empty >/dev/null 2>&1 # the scanner, and nothing else
	rc-service supervision status >/dev/null 2>&1 || echo "error $who the scanner did not start"
	# The boot before: every service started once (synced, so stamped)
	# and stopped; then a boot empties /run: the run dir goes, the
	# scanner starts again. What is timed is the first start since that
	# boot.
	timeout 120 openrc default >/dev/null 2>&1
	timeout 120 openrc empty >/dev/null 2>&1
	rc-service supervision stop >/dev/null 2>&1
	rm -rf "$root/run"
	mkdir -p "$root/run/sv/service"
	rc-service supervision start >/dev/null 2>&1 || echo "error $who the scanner did not start again"
	measure $who "$root/mark"
	rm -f /etc/runlevels/default/* /etc/runlevels/empty/*
	timeout 120 openrc empty >/dev/null 2>&1 # stops the scanner
	rm -f /etc/init.d/sv.* /etc/init.d/supervision
	unset SV_ROOT
}
`

// coldOpenRC runs coldOpenRCScript in the sandbox.
func (b *bench) coldOpenRC(reps int) (map[string]*coldRC, error) {
	return b.openrcSandbox(coldOpenRCScript, []string{"builtin", "supervise-daemon", "noop"}, reps)
}

// openrcSandbox runs script (openrcPrelude and what uses it) in the
// OpenRC sandbox, a private mount namespace: nothing of the machine's
// OpenRC is touched. It is bounded: past coldRCLimit every process of the
// sandbox is killed by pid. whos are the rows the script measures.
func (b *bench) openrcSandbox(script string, whos []string, reps int, more ...string) (map[string]*coldRC, error) {
	if !b.root {
		return nil, errors.New("needs root (a mount namespace)")
	}
	for _, p := range []string{"openrc", "rc-update", "supervise-daemon", "unshare"} {
		if _, err := exec.LookPath(p); err != nil {
			return nil, fmt.Errorf("no %s here", p)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-m", "--propagation", "private", self, openrcInner,
		filepath.Join(b.work, "cold-ns"), "/bin/sh", "-c", script, "sh", b.bin, filepath.Dir(b.bin), strconv.Itoa(coldN), strconv.Itoa(reps)}, more...)
	cmd := exec.Command("unshare", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timedOut := false
	select {
	case err = <-done:
	case <-time.After(coldRCLimit):
		timedOut = true
		endMountNamespaceOf(cmd.Process.Pid)
		err = <-done
	}
	rows := parseOpenRCSandbox(out.String())
	if timedOut {
		for _, who := range whos {
			if rows[who] == nil {
				rows[who] = &coldRC{}
			}
			if r := rows[who]; len(r.times) < reps && r.err == "" {
				r.err = fmt.Sprintf("the sandbox was ended after %s", coldRCLimit)
			}
		}
	} else if err != nil && len(rows) == 0 {
		return nil, fmt.Errorf("the OpenRC run: %v", err)
	}
	return rows, nil
}

// parseOpenRCSandbox reads the lines openrcPrelude's functions print.
func parseOpenRCSandbox(out string) map[string]*coldRC {
	rows := map[string]*coldRC{}
	row := func(who string) *coldRC {
		if rows[who] == nil {
			rows[who] = &coldRC{}
		}
		return rows[who]
	}
	us := func(s string) time.Duration { n, _ := strconv.Atoi(s); return time.Duration(n) * time.Microsecond }
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "deptree":
			row(f[1]).deptree = us(f[2])
		case len(f) == 4 && f[0] == "time":
			row(f[1]).times = append(row(f[1]).times, us(f[2]))
		case len(f) == 3 && f[0] == "stop":
			row(f[1]).stops = append(row(f[1]).stops, us(f[2]))
		case len(f) == 4 && f[0] == "running":
			a, _ := strconv.Atoi(f[2])
			l, _ := strconv.Atoi(f[3])
			row(f[1]).running = append(row(f[1]).running, a)
			row(f[1]).later = append(row(f[1]).later, l)
		case len(f) >= 2 && f[0] == "error":
			if r := row(f[1]); r.err == "" {
				r.err = strings.Join(f[2:], " ")
			}
		}
	}
	return rows
}

// endMountNamespaceOf kills, by pid, every process in pid's mount
// namespace (when it is not ours), then pid itself.
func endMountNamespaceOf(pid int) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	mine, _ := os.Readlink("/proc/self/ns/mnt")
	if err == nil && ns != mine {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			p, err := strconv.Atoi(e.Name())
			if err != nil || p == pid {
				continue
			}
			if l, _ := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); l == ns {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// coldTmpfs returns a fresh directory on a tmpfs, or "".
func coldTmpfs() string {
	var st unix.Statfs_t
	if unix.Statfs(coldTmpfsDir, &st) != nil || st.Type != tmpfsMagic {
		return ""
	}
	dir, err := os.MkdirTemp(coldTmpfsDir, "sv-bench-cold-")
	if err != nil {
		return ""
	}
	return dir
}

func (b *bench) coldSection(r *strings.Builder) {
	began := time.Now()
	fmt.Fprintf(r, "## %d services from cold\n\n", coldN)
	fmt.Fprintf(r, "%d service dirs are linked in the scan dir before the scanner starts; timed from starting the scanner (exec) until every daemon has written its pid (the bench watches the pid files with inotify). The services are the hand-written ones of the sections above (`./run` writes its pid with a builtin and execs sleep), the same for every supervisor; sv-scan gives them runsv's defaults (no OPTIONS, so no sv-exec). The service dirs, and so each supervisor's supervise/ state, are in the bench's work dir on disk like the other sections', and again on a tmpfs for sv-scan (where /run would keep it on a real system; see below). %d runs each, each from fresh service dirs; the scanner and all it started are ended between runs. The last row is the floor: the bench itself starting the %d `./run`, one after another. supervisord has no scan dir: a wrapper writes its config, a `[program:]` with default settings for each service dir of the scan dir, and execs it; its time includes that.\n\n", coldN, coldReps, coldN)
	coldLoadNote(r)
	fmt.Fprintf(r, "| supervisor | runs | all running: median | min | max | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
	var base time.Duration
	plain := map[string]stats{}
	var order []string
	for _, s := range b.withSupervisord() {
		st := coldStats(b.coldRaw(s, b.work, coldPlain, coldReps))
		plain[s.name] = st
		order = append(order, s.name)
		row(r, s.name, st, &base)
	}
	var tmpfs stats
	if dir := coldTmpfs(); dir == "" {
		tmpfs.err = "not measured: no tmpfs at " + coldTmpfsDir
	} else {
		for _, s := range b.supervisors() {
			if s.name == "sv-scan" {
				tmpfs = coldStats(b.coldRaw(s, dir, coldPlain, coldReps))
			}
		}
		os.RemoveAll(dir)
	}
	if tmpfs.n > 0 || tmpfs.err != "" {
		row(r, "sv-scan, service dirs on tmpfs", tmpfs, &base)
	}
	floor := coldStats(b.coldFloor(coldReps))
	row(r, "no supervisor (floor)", floor, &base)
	coldPlainVerdict(r, order, plain, tmpfs, floor)

	b.coldReadySection(r)
	b.coldOpenRCSection(r)
	fmt.Fprintf(os.Stderr, "bench: cold: the section took %s\n", time.Since(began).Round(time.Second))
}

// coldPlainVerdict says where sv-scan stands against the peers, and what
// its status writes cost.
func coldPlainVerdict(r *strings.Builder, order []string, plain map[string]stats, tmpfs, floor stats) {
	ours, ok := plain["sv-scan"]
	if !ok || ours.err != "" {
		return
	}
	var ahead, behind []string
	for _, name := range order {
		st := plain[name]
		if st.err != "" || strings.HasPrefix(name, "sv-scan") {
			continue
		}
		if st.med < ours.med {
			behind = append(behind, fmt.Sprintf("%s (%s)", name, round(st.med)))
		} else {
			ahead = append(ahead, name)
		}
	}
	fmt.Fprintln(r)
	if len(behind) > 0 {
		fmt.Fprintf(r, "Behind: %s started all %d sooner than sv-scan (%s). ", strings.Join(behind, ", "), coldN, round(ours.med))
	} else if len(ahead) > 0 {
		fmt.Fprintf(r, "sv-scan has all %d running first: it starts each `./run` itself, where the daemontools family first starts a supervisor process per service (runsv, s6-supervise, supervise) that then starts `./run`. ", coldN)
	}
	if tmpfs.err == "" && tmpfs.n > 0 {
		fmt.Fprintf(r, "sv-scan writes its supervise/ files (pid, stat, status, state.json) as runsv does, into a temporary file renamed over the old one, with no fsync (state of the running system, which a reboot does not keep). With the same dirs on a tmpfs sv-scan took %s instead of %s", round(tmpfs.med), round(ours.med))
		if floor.err == "" && floor.n > 0 {
			fmt.Fprintf(r, ", against a floor of %s", round(floor.med))
		}
		fmt.Fprintf(r, ": what is left of the difference is the disk's cost of creating files and renaming them.")
	}
	fmt.Fprintln(r)
}

func (b *bench) coldReadySection(r *strings.Builder) {
	fmt.Fprintf(r, "\n### All ready\n\n")
	fmt.Fprintf(r, "The same, until all %d are ready, where the supervisor has a notion of readiness; each daemon writes its pid, then a newline to fd 3, then execs sleep. sv-scan, two ways: services made by `sv-gen add NAME --enable --set SVC_READY=fd:3 -- /bin/sh -c '…'` (each with builtin logging; sv-scan reads the OPTIONS and, their run script being sv-gen's shared one that execs sv-exec, starts the daemon itself as sv-exec would, with no sv-exec run; the tree's runtime state is emptied before each run), and the hand-written dirs with an OPTIONS file holding only `SVC_READY=fd:3` (sv-scan reads it; no sv-exec); readiness awaited with `sv-ctl wait ready NAME…`. s6: the hand-written dirs with `notification-fd` 3; `s6-svwait -U DIR…`. The waiter is started once all the daemons run. \"All ready\" is from starting the scanner to the waiter returning; \"waiter alone\" is the same waiter run again at once, all being ready: its own cost, part of \"all ready\". The services are on disk, in the bench's work dir. Ratios against the first row.\n\n", coldN)
	fmt.Fprintf(r, "| supervisor | services | runs | all running: median | all ready: median | min | max | waiter alone | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var base time.Duration
	line := func(name, what string, cr coldRun) {
		if cr.err != "" {
			fmt.Fprintf(r, "| %s | %s | | | not measured: %s | | | | |\n", name, what, cr.err)
			return
		}
		run, ready, waiter := summarize(cr.running), summarize(cr.ready), summarize(cr.waiter)
		if base == 0 {
			base = ready.med
		}
		fmt.Fprintf(r, "| %s | %s | %d | %s | %s | %s | %s | %s | %.1fx |\n", name, what, ready.n, round(run.med), round(ready.med), round(ready.min), round(ready.max), round(waiter.med), float64(ready.med)/float64(base))
	}
	var gen, hand, s6 coldRun
	for _, s := range b.supervisors() {
		switch {
		case s.name == "sv-scan": // (--no-cgroups: the same, as in the table above)
			genRoot := filepath.Join(b.work, "cold-gen")
			gen = coldRun{}
			if err := b.coldGenerate(genRoot); err != nil {
				gen.err = err.Error()
			} else {
				gen = b.coldGen(s, genRoot, coldReps)
			}
			line(s.name, "sv-gen (sv-exec), SVC_READY=fd:3", gen)
			hand = b.coldRaw(s, b.work, coldOptions, coldReps)
			line(s.name, "hand-written, OPTIONS SVC_READY=fd:3", hand)
		case strings.HasPrefix(s.name, "sv-scan"):
		case strings.HasPrefix(s.name, "s6"):
			if _, err := exec.LookPath("s6-svwait"); err != nil {
				s6.err = "no s6-svwait"
			} else {
				s6 = b.coldRaw(s, b.work, coldS6Notify, coldReps)
			}
			line(s.name, "hand-written, notification-fd 3", s6)
		case strings.HasPrefix(s.name, "runit"):
			fmt.Fprintf(r, "| %s | | | | not measured: runsv has no readiness of its own (`sv start` may poll a ./check script) | | | | |\n", s.name)
		default:
			fmt.Fprintf(r, "| %s | | | | not measured: no readiness notion | | | | |\n", s.name)
		}
	}
	coldReadyVerdict(r, gen, hand, s6)
}

// coldReadyVerdict compares sv-scan's ready times with s6's.
func coldReadyVerdict(r *strings.Builder, gen, hand, s6 coldRun) {
	if s6.err != "" || len(s6.ready) == 0 {
		return
	}
	theirs := summarize(s6.ready).med
	fmt.Fprintln(r)
	if hand.err == "" && len(hand.ready) > 0 {
		ours := summarize(hand.ready).med
		if ours > theirs {
			fmt.Fprintf(r, "Behind: on the same hand-written dirs, sv-scan has all %d ready in %s, s6 in %s (%.1fx). ", coldN, round(ours), round(theirs), float64(ours)/float64(theirs))
		} else {
			fmt.Fprintf(r, "On the same hand-written dirs, sv-scan has all %d ready in %s, s6 in %s (%.1fx). ", coldN, round(ours), round(theirs), float64(ours)/float64(theirs))
		}
	}
	if gen.err == "" && len(gen.ready) > 0 {
		g := summarize(gen.ready).med
		if g > theirs {
			fmt.Fprintf(r, "Behind: sv-gen's services take %s (%.1fx s6). sv-scan starts their daemons itself (no shell, no sv-exec: the OPTIONS ask for nothing only sv-exec can do), but for each it loads the OPTIONS and their layers, resolves the environment and user as sv-exec would, and opens its builtin log (LOG=builtin by default: the log dir, its lock and current file), which the hand-written dirs have none of; which of these costs most is not profiled.", round(g), float64(g)/float64(theirs))
		}
	}
	fmt.Fprintln(r)
}

func coldStats(cr coldRun) stats {
	if cr.err != "" {
		return stats{err: "not measured: " + cr.err}
	}
	return summarize(cr.running)
}

// coldLoadNote says when the machine was busy with something else.
func coldLoadNote(r *strings.Builder) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return
	}
	if load, err := strconv.ParseFloat(f[0], 64); err == nil && load > float64(runtime.NumCPU()) {
		fmt.Fprintf(r, "(The machine was busy when this section started: load average %s on %d CPUs.)\n\n", f[0], runtime.NumCPU())
	}
}

func (b *bench) coldOpenRCSection(r *strings.Builder) {
	fmt.Fprintf(r, "\n### openrc default, %d services\n\n", coldN)
	fmt.Fprintf(r, "With the real OpenRC in its sandbox (a private mount namespace, as in the rc-service section) and `rc_parallel=\"YES\"` in its /etc/rc.conf: %d services in the default runlevel; `openrc default` is timed from a runlevel in which none of them runs until it returns, then `openrc empty` (stopping them all) until it returns. Ours: `sv.sN` (/etc/init.d/supervision, builtin backend, default settle time; made with `sv-gen add` and `sv-gen enable --openrc`), at the first start since a boot: each was started and stopped once before, then the run dir was emptied (as a boot empties /run) and the scanner (the supervision service) started again; each start returns once the daemon runs and, after its exec, first waits for something. OpenRC's: init scripts with `supervisor=supervise-daemon` whose command is the same kind of `./run` (a shell that writes its pid and execs sleep). The floor: init scripts whose start() and stop() do nothing. \"Running\" counts the daemons alive when `openrc default` returned, and a second later. \"Deptree\" is `rc-update -u` beforehand, OpenRC sourcing every init script for its depend() (the first sv.sN's runs `sv-rc depend-all`, the others read what it wrote): a boot pays it once, since /run/openrc is a tmpfs. Each set of services is alone in /etc/init.d when measured. %s; ratios against sv.sN.\n\n", coldN, coldRCRuns())
	rows, err := b.coldOpenRC(coldRCReps)
	if err != nil {
		fmt.Fprintf(r, "Not measured: %v.\n", err)
		return
	}
	if coldRCReps == 1 {
		fmt.Fprintf(r, "| backend | openrc default | running at return | a second later | openrc empty | deptree | ratio |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	} else {
		fmt.Fprintf(r, "| backend | runs | openrc default: median | min | max | running at return | a second later | openrc empty | deptree | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	}
	var base time.Duration
	names := map[string]string{"builtin": "sv.sN, builtin", "supervise-daemon": "OpenRC supervisor=supervise-daemon", "noop": "OpenRC, start() { :; } (floor)"}
	for _, who := range []string{"builtin", "supervise-daemon", "noop"} {
		row := rows[who]
		if why := row.missing(); why != "" {
			if coldRCReps == 1 {
				fmt.Fprintf(r, "| %s | not measured: %s | | | | | |\n", names[who], why)
			} else {
				fmt.Fprintf(r, "| %s | | not measured: %s | | | | | | | |\n", names[who], why)
			}
			continue
		}
		st := summarize(append([]time.Duration(nil), row.times...))
		if base == 0 {
			base = st.med
		}
		running, later := coldCounts(row.running), coldCounts(row.later)
		if who == "noop" {
			running, later = "n/a", "n/a"
		}
		stop := "not measured"
		if len(row.stops) > 0 {
			stop = round(summarize(append([]time.Duration(nil), row.stops...)).med)
		}
		if coldRCReps == 1 {
			fmt.Fprintf(r, "| %s | %s | %s | %s | %s | %s | %.2fx |\n", names[who], round(st.med), running, later, stop, round(row.deptree), float64(st.med)/float64(base))
		} else {
			fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %.2fx |\n", names[who], st.n, round(st.med), round(st.min), round(st.max), running, later, stop, round(row.deptree), float64(st.med)/float64(base))
		}
	}
	for _, who := range []string{"builtin", "supervise-daemon", "noop"} {
		if row := rows[who]; row != nil && row.err != "" && len(row.times) > 0 {
			fmt.Fprintf(r, "\n%s: %s\n", names[who], row.err)
		}
	}
	coldRCVerdict(r, rows)
}

// coldRCRuns says how many runs the OpenRC table has, and why so few.
func coldRCRuns() string {
	if coldRCReps == 1 {
		return "One run each (a run and the stop after it take 20-30s here; more would not fit this section's 4 minutes)"
	}
	return fmt.Sprintf("%d runs each", coldRCReps)
}

// coldCounts lists the counts of each run, "N of coldN" when all were the
// same.
func coldCounts(ns []int) string {
	var s []string
	same := true
	for _, n := range ns {
		s = append(s, strconv.Itoa(n))
		same = same && n == ns[0]
	}
	if same && len(ns) > 0 {
		return fmt.Sprintf("%d of %d", ns[0], coldN)
	}
	return strings.Join(s, ", ") + fmt.Sprintf(" of %d", coldN)
}

// coldRCVerdict compares sv.sN with supervise-daemon over OpenRC's floor.
func coldRCVerdict(r *strings.Builder, rows map[string]*coldRC) {
	ours, peer, floor := rows["builtin"], rows["supervise-daemon"], rows["noop"]
	if ours == nil || peer == nil || len(ours.times) == 0 || len(peer.times) == 0 {
		return
	}
	med := func(ds []time.Duration) time.Duration { return summarize(append([]time.Duration(nil), ds...)).med }
	o, p := med(ours.times), med(peer.times)
	fmt.Fprintln(r)
	for _, n := range ours.running {
		if n < coldN {
			fmt.Fprintf(r, "Wrong: `openrc default` returned with %d of sv.sN's %d daemons running, though each sv.sN start returns only once its daemon runs. ", n, coldN)
			break
		}
	}
	if o <= p {
		fmt.Fprintf(r, "sv.sN brings the runlevel up in %.2fx supervise-daemon's time.\n", float64(o)/float64(p))
		return
	}
	f := time.Duration(0)
	if floor != nil && len(floor.times) > 0 {
		f = med(floor.times)
	}
	fmt.Fprintf(r, "Behind: sv.sN brings the runlevel up in %.2fx supervise-daemon's time.", float64(o)/float64(p))
	if f > 0 && f < p {
		fmt.Fprintf(r, " Most of either is OpenRC's own work, the floor row (%s for %d init scripts that do nothing); over it supervise-daemon adds %s and sv.sN %s.", round(f), coldN, round(p-f), round(o-f))
	}
	fmt.Fprintf(r, " With rc_parallel all the starts run at once on %d CPUs, so what counts is the CPU time each costs, not its latency: per service supervise-daemon is one small C process that forks the daemon and returns, while sv.sN asks sv-scan in one request (its sync stamp, kept across boots, still holds), and sv-scan loads the OPTIONS, starts the daemon and looks in /proc until it waits for something; the init script reads the verdict with shell builtins.", runtime.NumCPU())
	if ours.deptree > peer.deptree {
		fmt.Fprintf(r, " The deptree pass is longer too (%s against %s): one `sv-rc depend-all` per pass, and each sv.sN sourcing a longer init script (with conf.d/supervision) and its depend() file.", round(ours.deptree), round(peer.deptree))
	}
	fmt.Fprintln(r)
}
