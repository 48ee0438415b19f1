package main

// The logging section: how fast each logger writes a rotated log directory,
// and what each loses when it is killed while a service writes.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(section{60, "logging", (*bench).loggingSection})
}

const (
	// tpFormat is seq's format for the throughput lines: 84 bytes with the
	// newline, the number zero-padded so that every line is as long.
	tpFormat = "line %09.0f abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz 0123456789abcd"
	tpLines  = 250000 // lines per throughput run
	tpSize   = 1000000
	tpFiles  = 100 // 250,000 lines of 84 bytes fill 21 files: nothing is pruned
	lossKill = 10  // kills per loss run
)

// tpLine is throughput line n, without its newline.
func tpLine(n int) string { return fmt.Sprintf(tpFormat, float64(n)) }

// logProduce is the loss producer: "produce.sh COUNT STOP" prints
// "line N N" for N = 1, 2, ... until STOP exists, appending a byte to
// COUNT after each line is written (so COUNT's size is how many lines are
// surely in the pipe), then prints "end" and sleeps, so that no supervisor
// restarts it.
const logProduce = `n=0
while [ ! -e "$2" ]; do
	n=$((n+1))
	echo "line $n $n"
	printf x >>"$1"
done
echo end
exec sleep 100000
`

// logCheck is what a log directory holds.
type logCheck struct {
	lines, garbled int
	seen           []uint8 // seen[n]: how many times line n is there (saturating)
	end            bool    // the loss producer's "end" is there
	files          int     // rotated files
	maxRotated     int64   // the largest rotated file
	sample         string  // the first garbled line, and its file
}

// logFiles are the files of a log directory that hold lines: current,
// previous (s6-log), and the rotated @*.s and @*.u, oldest first.
func logFiles(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var rotated []string
	var previous, current bool
	for _, e := range ents {
		switch n := e.Name(); {
		case strings.HasPrefix(n, "@"):
			rotated = append(rotated, n)
		case n == "previous":
			previous = true
		case n == "current":
			current = true
		}
	}
	sort.Strings(rotated) // TAI64N labels sort in time order
	if previous {
		rotated = append(rotated, "previous")
	}
	if current {
		rotated = append(rotated, "current")
	}
	return rotated
}

// dirBytes is the size of all the lines in dir now.
func dirBytes(dir string) int64 {
	var n int64
	for _, f := range logFiles(dir) {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// readLog reads every line of dir; parse says which number a line is
// (ok false: a line that is none of the producer's, torn or joined).
func readLog(dir string, parse func(string) (int, bool)) logCheck {
	var c logCheck
	for _, f := range logFiles(dir) {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if strings.HasPrefix(f, "@") {
			c.files++
			c.maxRotated = max(c.maxRotated, int64(len(data)))
		}
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			var line string
			if i < 0 {
				line, data = string(data), nil
			} else {
				line, data = string(data[:i]), data[i+1:]
			}
			c.lines++
			if line == "end" {
				c.end = true
				continue
			}
			n, ok := parse(line)
			if !ok || n <= 0 || n > 1<<26 {
				if c.garbled == 0 {
					c.sample = fmt.Sprintf("%q in %s", line, f)
				}
				c.garbled++
				continue
			}
			for n >= len(c.seen) {
				c.seen = append(c.seen, make([]uint8, len(c.seen)+1024)...)
			}
			if c.seen[n] < 255 {
				c.seen[n]++
			}
		}
	}
	return c
}

// missing and dups count, over lines 1..total, those not there and the
// extra copies of those there more than once.
func (c logCheck) missing(total int) (missing, dups int) {
	for n := 1; n <= total; n++ {
		k := 0
		if n < len(c.seen) {
			k = int(c.seen[n])
		}
		if k == 0 {
			missing++
		} else {
			dups += k - 1
		}
	}
	for n := total + 1; n < len(c.seen); n++ {
		dups += int(c.seen[n]) // a number past the end: counted as extra
	}
	return missing, dups
}

func parseTP(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "line" {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || line != tpLine(n) {
		return 0, false
	}
	return n, true
}

// tpStamp is the timestamp the stamped throughput rows ask of every
// logger: TAI64N, s6-log's t and sv-log's tai64n, the same 25 characters
// and a space before each line.
const tpStamp = "tai64n"

// parseTPStamped takes a throughput line after its TAI64N label.
func parseTPStamped(line string) (int, bool) {
	if len(line) < 26 || line[0] != '@' || line[25] != ' ' || strings.Trim(line[1:25], "0123456789abcdef") != "" {
		return 0, false
	}
	return parseTP(line[26:])
}

// parseLoss takes "line N N": a line whose two numbers differ is two torn
// lines joined, with what was between them lost.
func parseLoss(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "line" || f[1] != f[2] {
		return 0, false
	}
	n, err := strconv.Atoi(f[1])
	return n, err == nil
}

// lookLogger finds a program: on PATH, else in Debian's s6 bin dir.
func lookLogger(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/lib/s6/bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is not installed", name)
}

// pipeLogger is a logger program that reads its standard input.
type pipeLogger struct {
	name    string
	argv    func(dir string) ([]string, error) // also prepares dir
	stamped bool                               // asked for TAI64N stamps
}

func (b *bench) pipeLoggers() []pipeLogger {
	svlog := filepath.Join(b.bin, "sv-log")
	size := strconv.Itoa(tpSize)
	files := strconv.Itoa(tpFiles)
	look := func(name string, args func(p, dir string) []string) func(string) ([]string, error) {
		return func(dir string) ([]string, error) {
			p, err := lookLogger(name)
			if err != nil {
				return nil, err
			}
			return args(p, dir), os.MkdirAll(dir, 0o755)
		}
	}
	return []pipeLogger{
		{"sv-log", func(dir string) ([]string, error) {
			return []string{svlog, "--size", size, "--files", files, "--timestamp", "none", dir}, nil
		}, false},
		{"svlogd (runit)", func(dir string) ([]string, error) {
			p, err := lookLogger("svlogd")
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			return []string{p, dir}, os.WriteFile(filepath.Join(dir, "config"), []byte("s"+size+"\nn"+files+"\n"), 0o644)
		}, false},
		{"s6-log (s6)", look("s6-log", func(p, dir string) []string { return []string{p, "-b", "n" + files, "s" + size, dir} }), false},
		{"multilog (daemontools)", look("multilog", func(p, dir string) []string { return []string{p, "s" + size, "n" + files, dir} }), false},
		{"sv-log, timestamps", func(dir string) ([]string, error) {
			return []string{svlog, "--size", size, "--files", files, "--timestamp", tpStamp, dir}, nil
		}, true},
		{"s6-log (s6), timestamps", look("s6-log", func(p, dir string) []string { return []string{p, "-b", "n" + files, "t", "s" + size, dir} }), true},
	}
}

// tpResult is one logger's throughput runs.
type tpResult struct {
	times      []time.Duration
	maxRotated int64
	files      int
	bad        string // what a run found wrong on disk
	err        string
}

func (t *tpResult) check(dir string, total int, stamped bool) {
	parse := parseTP
	if stamped {
		parse = parseTPStamped
	}
	c := readLog(dir, parse)
	miss, dups := c.missing(total)
	if miss+dups+c.garbled > 0 && t.bad == "" {
		t.bad = fmt.Sprintf("run %d: %d lost, %d duplicated, %d garbled", len(t.times), miss, dups, c.garbled)
	}
	t.maxRotated = max(t.maxRotated, c.maxRotated)
	t.files = c.files
}

// pipeRun is one throughput run of a logger program: seq writes the lines
// into a pipe to it; the time is from seq's start (the logger already
// started) to the logger's exit at the end of its input.
func (b *bench) pipeRun(argv []string) (time.Duration, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	var stderr bytes.Buffer
	logger := exec.Command(argv[0], argv[1:]...)
	logger.Stdin, logger.Stderr, logger.Dir = r, &stderr, b.work
	logger.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := logger.Start(); err != nil {
		r.Close()
		w.Close()
		return 0, err
	}
	prod := exec.Command("seq", "-f", tpFormat, "1", strconv.Itoa(tpLines))
	prod.Stdout = w
	prod.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	t0 := time.Now()
	perr := prod.Start()
	r.Close()
	w.Close()
	done := make(chan error, 1)
	go func() { done <- logger.Wait() }()
	var d time.Duration
	select {
	case err = <-done:
		d = time.Since(t0)
	case <-time.After(60 * time.Second):
		syscall.Kill(-logger.Process.Pid, syscall.SIGKILL)
		<-done
		err = errors.New("timed out")
	}
	if perr == nil {
		if err != nil {
			syscall.Kill(-prod.Process.Pid, syscall.SIGKILL)
		}
		prod.Wait()
	}
	switch {
	case perr != nil:
		return 0, perr
	case err != nil:
		return 0, fmt.Errorf("%v %s", err, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

// builtinRun is one throughput run of sv-scan's in-process logger: the
// service, made by sv-gen, waits at a gate (a FIFO) and then execs seq;
// the time is from opening the gate to the log directory holding every
// byte of it (polled every 2 ms).
func (b *bench) builtinRun(root, stamp string) (time.Duration, string, error) {
	gate := filepath.Join(root, "gate")
	script := filepath.Join(root, "produce.sh")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return 0, "", err
	}
	if err := unix.Mkfifo(gate, 0o600); err != nil {
		return 0, "", err
	}
	body := fmt.Sprintf("read x <%s\nexec seq -f '%s' 1 %d\n", gate, tpFormat, tpLines)
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		return 0, "", err
	}
	env := append(os.Environ(), "SV_ROOT="+root)
	gen := func(args ...string) error {
		cmd := exec.Command(filepath.Join(b.bin, "sv-gen"), args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("sv-gen %s: %v: %s", args[0], err, out)
		}
		return nil
	}
	if err := gen("add", "prod", "--set", "SVC_RESTART=never", "--set", "LOG_SIZE="+strconv.Itoa(tpSize),
		"--set", "LOG_FILES="+strconv.Itoa(tpFiles), "--set", "LOG_TIMESTAMP="+stamp, "--", "/bin/sh", script); err != nil {
		return 0, "", err
	}
	if err := gen("enable", "prod"); err != nil {
		return 0, "", err
	}
	logDir := filepath.Join(root, "var/log/sv/prod")
	_, stop, err := b.start(supervisor{name: "sv-scan", cmd: []string{filepath.Join(b.bin, "sv-scan")}}, filepath.Join(root, "run/sv/service"))
	if err != nil {
		return 0, "", err
	}
	defer stop()
	want := tpBytes()
	if stamp != "none" {
		want += int64(tpLines) * 26 // a TAI64N label and a space per line
	}
	took, err := openGateUntil(gate, func() bool { return dirBytes(logDir) >= want })
	if err != nil {
		return 0, logDir, fmt.Errorf("%v: %d of %d bytes logged", err, dirBytes(logDir), want)
	}
	return took, logDir, nil
}

// tpBytes is what a throughput run writes.
func tpBytes() int64 { return int64(tpLines) * int64(len(tpLine(1))+1) }

// openGateUntil waits for the producer to open its gate FIFO for reading
// (its service started), opens it, and returns how long it then took until
// logged says every byte is on disk (polled every 2 ms, at most 60 s).
func openGateUntil(gate string, logged func() bool) (time.Duration, error) {
	var fd int
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		if fd, err = unix.Open(gate, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
			break
		}
		if !errors.Is(err, unix.ENXIO) || time.Now().After(deadline) {
			return 0, fmt.Errorf("the producer did not start: %v", err)
		}
	}
	t0 := time.Now()
	unix.Write(fd, []byte("go\n"))
	unix.Close(fd)
	for !logged() {
		if time.Since(t0) > 60*time.Second {
			return 0, errors.New("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(t0), nil
}

// supervisordLogger names supervisord's own log files in the tables.
const supervisordLogger = "supervisord (its own log files)"

// supervisordRun is builtinRun for supervisord: one [program:] whose
// output goes to stdout_logfile, rotated at the same size; supervisord
// runs in a PID namespace of its own. Its files (prod.log, prod.log.1 the
// newest rotated, ...) are then renamed the way the checks read a log
// directory (current, and rotated files that sort oldest first).
func (b *bench) supervisordRun(root string) (time.Duration, string, error) {
	logDir := filepath.Join(root, "log")
	gate := filepath.Join(root, "gate")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return 0, "", err
	}
	if err := unix.Mkfifo(gate, 0o600); err != nil {
		return 0, "", err
	}
	// The producer is a script: supervisord's config would take the %s
	// of seq's format for its own expansions.
	script := filepath.Join(root, "produce.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("read x <%s\nexec seq -f '%s' 1 %d\n", gate, tpFormat, tpLines)), 0o644); err != nil {
		return 0, "", err
	}
	conf := filepath.Join(root, "supervisord.conf")
	body := fmt.Sprintf("[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\nchildlogdir=%s\n"+
		"[program:prod]\ncommand=/bin/sh %s\nstdout_logfile=%s/prod.log\nstdout_logfile_maxbytes=%d\nstdout_logfile_backups=%d\nautorestart=false\nstartsecs=0\n",
		root, root, root, script, logDir, tpSize, tpFiles)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return 0, "", err
	}
	p, err := exec.LookPath("supervisord")
	if err != nil {
		return 0, "", err
	}
	_, stop, err := b.start(supervisor{name: "supervisord", cmd: []string{p, "-n", "-c"}, needsNS: true}, conf)
	if err != nil {
		return 0, "", err
	}
	defer stop()
	size := func() int64 {
		var n int64
		files, _ := filepath.Glob(filepath.Join(logDir, "prod.log*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	took, err := openGateUntil(gate, func() bool { return size() >= tpBytes() })
	if err != nil {
		return 0, logDir, fmt.Errorf("%v: %d of %d bytes logged", err, size(), tpBytes())
	}
	stop()
	for i := tpFiles; i >= 1; i-- {
		os.Rename(filepath.Join(logDir, fmt.Sprintf("prod.log.%d", i)), filepath.Join(logDir, fmt.Sprintf("@%04d.s", tpFiles-i)))
	}
	os.Rename(filepath.Join(logDir, "prod.log"), filepath.Join(logDir, "current"))
	return took, logDir, nil
}

// tpRow is one row of the throughput table: how to run it, and whether
// its lines are stamped and whose they are.
type tpRow struct {
	name          string
	stamped, ours bool
	// run makes one run in dir; it returns the time and the log dir.
	run func(dir string) (time.Duration, string, error)
}

func (b *bench) tpRows() []tpRow {
	pipe := func(l pipeLogger) tpRow {
		return tpRow{l.name, l.stamped, strings.HasPrefix(l.name, "sv-"), func(dir string) (time.Duration, string, error) {
			argv, err := l.argv(dir)
			if err != nil {
				return 0, dir, err
			}
			d, err := b.pipeRun(argv)
			return d, dir, err
		}}
	}
	builtin := func(name, stamp string) tpRow {
		return tpRow{name, stamp != "none", true, func(dir string) (time.Duration, string, error) { return b.builtinRun(dir, stamp) }}
	}
	loggers := b.pipeLoggers()
	rows := []tpRow{pipe(loggers[0]), builtin("sv-scan, builtin logger", "none")}
	for _, l := range loggers[1:] {
		if l.stamped {
			continue
		}
		rows = append(rows, pipe(l))
	}
	if b.root {
		if _, err := exec.LookPath("supervisord"); err == nil {
			rows = append(rows, tpRow{supervisordLogger, false, false, b.supervisordRun})
		}
	}
	// With timestamps: ours and s6-log's, the one peer here that stamps
	// in the same format (svlogd's t is TAI64N too but it is far behind
	// already without).
	for _, l := range loggers {
		if l.stamped && strings.HasPrefix(l.name, "sv-log") {
			rows = append(rows, pipe(l), builtin("sv-scan, builtin logger, timestamps", tpStamp))
		} else if l.stamped {
			rows = append(rows, pipe(l))
		}
	}
	return rows
}

func (b *bench) throughput() (rows []tpRow, res []*tpResult) {
	reps := min(b.reps, 5)
	base := filepath.Join(b.work, "logging-tp")
	rows = b.tpRows()
	res = make([]*tpResult, len(rows))
	for i := range res {
		res[i] = &tpResult{}
	}
	// Runs alternate between the loggers, so that whatever else the machine
	// does weighs on all of them alike.
	for rep := 0; rep < reps; rep++ {
		for i, row := range rows {
			t := res[i]
			if t.err != "" {
				continue
			}
			dir := filepath.Join(base, fmt.Sprintf("%s-%d", slug(row.name), rep))
			d, logDir, err := row.run(dir)
			if err == nil {
				t.times = append(t.times, d)
				t.check(logDir, tpLines, row.stamped)
			} else {
				t.err = err.Error()
			}
			os.RemoveAll(dir)
		}
	}
	return rows, res
}

// lossResult is one loss run.
type lossResult struct {
	written, lost, dups, garbled int
	kills                        int
	sample                       string // a garbled line
	took                         time.Duration
	end                          bool
	err                          string
}

// lossDir makes a service dir whose ./run is the producer and whose
// log/run is logRun.
func (b *bench) lossDir(svc, count, stopFile, logRun string) error {
	if err := os.MkdirAll(filepath.Join(svc, "log"), 0o755); err != nil {
		return err
	}
	produce := filepath.Join(b.work, "logging-produce.sh")
	if err := os.WriteFile(produce, []byte(logProduce), 0o644); err != nil {
		return err
	}
	run := fmt.Sprintf("#!/bin/sh\nexec 2>&1\nexec /bin/sh %s %s %s\n", produce, count, stopFile)
	if err := os.WriteFile(filepath.Join(svc, "run"), []byte(run), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(svc, "log", "run"), []byte("#!/bin/sh\nexec 2>&1\n"+logRun+"\n"), 0o755)
}

// waitFor polls cond every 5 ms until it holds, or fails after limit.
func waitFor(limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// finishLoss stops the producer, waits for its last line in the log, and
// counts.
func finishLoss(res *lossResult, logDir, count, stopFile string, t0 time.Time) {
	os.WriteFile(stopFile, nil, 0o644)
	err := waitFor(20*time.Second, "the producer's last line in the log", func() bool {
		return tailIsEnd(logDir)
	})
	res.took = time.Since(t0)
	if err != nil && res.err == "" {
		res.err = err.Error()
	}
	fi, err := os.Stat(count)
	if err != nil {
		res.err = "no count: " + err.Error()
		return
	}
	res.written = int(fi.Size())
	c := readLog(logDir, parseLoss)
	res.end = c.end
	res.lost, res.dups = c.missing(res.written)
	res.garbled, res.sample = c.garbled, c.sample
}

// tailIsEnd: the log's last line is the producer's "end".
func tailIsEnd(dir string) bool {
	files := logFiles(dir)
	for i := len(files) - 1; i >= 0; i-- {
		f, err := os.Open(filepath.Join(dir, files[i]))
		if err != nil {
			continue
		}
		fi, _ := f.Stat()
		if fi == nil || fi.Size() == 0 {
			f.Close()
			continue
		}
		buf := make([]byte, 4)
		n, _ := f.ReadAt(buf, max(fi.Size()-4, 0))
		f.Close()
		return string(buf[:n]) == "end\n"
	}
	return false
}

// lossUnder runs the producer with logRun as its log/run under a
// supervisor and kills the logger lossKill times: by its pid with KILL
// (kill "pid"), or by asking the supervisor for KILL (kill "k": the
// control letter). pidOf reads the logger's pid as its supervisor has it.
func (b *bench) lossUnder(s supervisor, name, logRun string, prep func(logDir string) error, pidOf func(logSvc string) int, how string) lossResult {
	var res lossResult
	dir := filepath.Join(b.work, "logging-loss-"+slug(name))
	scan := filepath.Join(dir, "scan")
	svc := filepath.Join(scan, "prod")
	logDir := filepath.Join(dir, "log")
	count, stopFile := filepath.Join(dir, "count"), filepath.Join(dir, "stop")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return lossResult{err: err.Error()}
	}
	if prep != nil {
		if err := prep(logDir); err != nil {
			return lossResult{err: err.Error()}
		}
	}
	if err := b.lossDir(svc, count, stopFile, strings.ReplaceAll(logRun, "DIR", logDir)); err != nil {
		return lossResult{err: err.Error()}
	}
	cmd, stop, err := b.start(s, scan)
	if err != nil {
		return lossResult{err: err.Error()}
	}
	defer stop()
	logSvc := filepath.Join(svc, "log")
	t0 := time.Now()
	pid := 0
	if err := waitFor(20*time.Second, "the logger to start", func() bool {
		pid = pidOf(logSvc)
		return pid > 0 && dirBytes(logDir) > 0
	}); err != nil {
		return lossResult{err: err.Error()}
	}
	for res.kills < lossKill {
		size := dirBytes(logDir)
		if how == "k" {
			if err := sendControl(logSvc, 'k'); err != nil {
				res.err = err.Error()
				break
			}
		} else {
			host := b.hostPid(cmd, s, pid)
			if host <= 0 {
				res.err = fmt.Sprintf("logger pid %d not found", pid)
				break
			}
			syscall.Kill(host, syscall.SIGKILL)
		}
		res.kills++
		old := pid
		// Restarted, and writing: the next kill finds it busy with what
		// waited in the pipe.
		if err := waitFor(20*time.Second, "the logger's restart", func() bool {
			pid = pidOf(logSvc)
			return pid > 0 && pid != old && dirBytes(logDir) > size
		}); err != nil {
			res.err = err.Error()
			break
		}
	}
	finishLoss(&res, logDir, count, stopFile, t0)
	return res
}

// sendControl writes a control letter to a runit-protocol supervisor.
func sendControl(svc string, c byte) error {
	fd, err := unix.Open(filepath.Join(svc, "supervise", "control"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte{c})
	return err
}

// pidFile reads supervise/pid (runsv, sv-scan).
func pidFile(svc string) int {
	data, _ := os.ReadFile(filepath.Join(svc, "supervise", "pid"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return n
}

// s6Pid asks s6-svstat.
func s6Pid(svc string) int {
	out, err := exec.Command("s6-svstat", "-o", "up,pid", svc).Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 2 || f[0] != "true" {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// svstatPid asks daemontools' svstat: "DIR: up (pid N) S seconds".
func svstatPid(svc string) int {
	out, _ := exec.Command("svstat", svc).Output()
	s := string(out)
	i := strings.Index(s, ": up (pid ")
	if i < 0 {
		return 0
	}
	s = s[i+len(": up (pid "):]
	n, _ := strconv.Atoi(s[:max(strings.IndexByte(s, ')'), 0)])
	return n
}

// lossBuiltin: sv-scan's in-process logger; sv-scan itself is killed with
// KILL and started again, lossKill times. The service is sv-gen's.
func (b *bench) lossBuiltin() lossResult {
	var res lossResult
	root := filepath.Join(b.work, "logging-loss-builtin")
	count, stopFile := filepath.Join(root, "count"), filepath.Join(root, "stop")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return lossResult{err: err.Error()}
	}
	produce := filepath.Join(root, "produce.sh")
	if err := os.WriteFile(produce, []byte(logProduce), 0o644); err != nil {
		return lossResult{err: err.Error()}
	}
	env := append(os.Environ(), "SV_ROOT="+root)
	for _, args := range [][]string{
		{"add", "prod", "--set", "LOG_SIZE=" + strconv.Itoa(tpSize), "--set", "LOG_FILES=" + strconv.Itoa(tpFiles), "--set", "LOG_TIMESTAMP=none", "--", "/bin/sh", produce, count, stopFile},
		{"enable", "prod"},
	} {
		cmd := exec.Command(filepath.Join(b.bin, "sv-gen"), args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return lossResult{err: fmt.Sprintf("sv-gen %s: %v: %s", args[0], err, out)}
		}
	}
	scan := filepath.Join(root, "run/sv/service")
	logDir := filepath.Join(root, "var/log/sv/prod")
	svc := filepath.Join(scan, "prod")
	var cur *exec.Cmd
	startScan := func() error {
		cur = exec.Command(filepath.Join(b.bin, "sv-scan"), scan)
		cur.Env, cur.Dir = env, b.work
		cur.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return cur.Start()
	}
	// Whatever happens, the producer and the last sv-scan end.
	prodPid, prodStart := 0, ""
	defer func() {
		if cur != nil && cur.ProcessState == nil {
			cur.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { cur.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cur.Process.Kill()
				<-done
			}
		}
		if prodPid > 0 && prodStart != "" && procStart(prodPid) == prodStart {
			syscall.Kill(prodPid, syscall.SIGKILL) // sv-scan did not stop it
		}
	}()
	t0 := time.Now()
	if err := startScan(); err != nil {
		return lossResult{err: err.Error()}
	}
	if err := waitFor(20*time.Second, "the service to log", func() bool {
		prodPid = pidFile(svc)
		return prodPid > 0 && dirBytes(logDir) > 0
	}); err != nil {
		return lossResult{err: err.Error()}
	}
	prodStart = procStart(prodPid)
	for res.kills < lossKill {
		size := dirBytes(logDir)
		cur.Process.Kill()
		cur.Wait()
		res.kills++
		if err := startScan(); err != nil {
			res.err = err.Error()
			break
		}
		if err := waitFor(20*time.Second, "the new sv-scan to log", func() bool { return dirBytes(logDir) > size }); err != nil {
			res.err = err.Error()
			break
		}
	}
	if p := pidFile(svc); p != prodPid && res.err == "" {
		res.err = fmt.Sprintf("the producer was started again (pid %d, was %d): not adopted", p, prodPid)
	}
	finishLoss(&res, logDir, count, stopFile, t0)
	return res
}

// procStart is a live process's start time (in clock ticks since boot),
// which tells it from a later process given the same pid; "" if it is
// gone or a zombie.
func procStart(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" {
		return ""
	}
	return f[19]
}

// lossRow is one row of the loss table.
type lossRow struct {
	logger, under, kill string
	res                 lossResult
}

func (b *bench) lossRuns() []lossRow {
	svlog := filepath.Join(b.bin, "sv-log")
	svlogRun := fmt.Sprintf("exec %s --size %d --files %d --timestamp none DIR", svlog, tpSize, tpFiles)
	rows := []lossRow{
		{"sv-scan, builtin logger", "sv-scan", "kill -9 of sv-scan, sv-scan started again", b.lossBuiltin()},
		{"sv-log", "sv-scan", "letter k (sv-scan sends KILL)",
			b.lossUnder(supervisor{name: "sv-scan", cmd: []string{filepath.Join(b.bin, "sv-scan")}}, "sv-log-svscan", svlogRun, nil, pidFile, "k")},
	}
	notMeasured := func(logger, under, why string) {
		rows = append(rows, lossRow{logger, under, "", lossResult{err: "not measured: " + why}})
	}
	peer := func(logger, under, scanner string, args []string, logRun string, prep func(string) error, pidOf func(string) int, tools ...string) {
		if !b.root {
			notMeasured(logger, under, "needs root (a PID namespace)")
			return
		}
		p, err := exec.LookPath(scanner)
		if err != nil {
			notMeasured(logger, under, scanner+" is not installed")
			return
		}
		for _, t := range tools {
			if _, err := lookLogger(t); err != nil {
				notMeasured(logger, under, err.Error())
				return
			}
		}
		s := supervisor{name: under, cmd: append([]string{p}, args...), needsNS: true}
		rows = append(rows, lossRow{logger, under, "kill -9 of its pid", b.lossUnder(s, logger+"-"+under, logRun, prep, pidOf, "pid")})
	}
	peer("sv-log", "runsvdir", "runsvdir", []string{"-P"}, svlogRun, nil, pidFile)
	svlogdPrep := func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "config"), []byte(fmt.Sprintf("s%d\nn%d\n", tpSize, tpFiles)), 0o644)
	}
	if p, err := lookLogger("svlogd"); err == nil {
		peer("svlogd", "runsvdir", "runsvdir", []string{"-P"}, "exec "+p+" DIR", svlogdPrep, pidFile)
	} else {
		notMeasured("svlogd", "runsvdir", err.Error())
	}
	if p, err := lookLogger("s6-log"); err == nil {
		peer("s6-log", "s6-svscan", "s6-svscan", nil, fmt.Sprintf("exec %s -b n%d s%d DIR", p, tpFiles, tpSize), nil, s6Pid, "s6-svstat")
	} else {
		notMeasured("s6-log", "s6-svscan", err.Error())
	}
	if p, err := lookLogger("multilog"); err == nil {
		peer("multilog", "svscan", "svscan", nil, fmt.Sprintf("exec %s s%d n%d DIR", p, tpSize, tpFiles), nil, svstatPid, "svstat")
	} else {
		notMeasured("multilog", "svscan", err.Error())
	}
	notMeasured("supervisord", "supervisord", "its logger is supervisord itself, and a killed supervisord takes its programs' output pipes with it (a new one starts the programs afresh): there is no logger to kill on its own")
	return rows
}

func (b *bench) loggingSection(r *strings.Builder) {
	fmt.Fprintf(r, "## Logging: throughput and lines lost\n\n")
	fmt.Fprintf(r, "Throughput: a producer, `seq -f` (%d lines of %d bytes, written in 4 KiB blocks through a pipe), feeds each logger with rotation at %d bytes, %d rotated files kept (about %d are made: nothing is pruned), no timestamps for any (but the last rows). For a logger program (`sv-log --size %d --files %d`, `svlogd` with `s%d` and `n%d` in its config, `s6-log -b n%d s%d`, `multilog s%d n%d`) the time is from seq's start, the logger already running, to the logger's exit at the end of its input; for sv-scan's builtin logger (a service made by `sv-gen add --set LOG_SIZE=%d --set LOG_FILES=%d --set LOG_TIMESTAMP=none`) it is from opening a gate the service waits at before it execs seq, to the log directory holding every byte (polled every 2 ms). Each run then reads the whole directory (current and rotated files) and checks that every line is there once and intact. Runs alternate between the loggers. Lines/s is the line count over the time; its min and max come from the slowest and fastest runs; the ratio is against sv-log's median. The last rows are the same with timestamps: TAI64N, `s6-log -b n%d t s%d` and `sv-log --timestamp tai64n` (sv-scan's with `LOG_TIMESTAMP=tai64n`), each line read back after its label; their ratio is against sv-log's with timestamps.\n\n",
		tpLines, len(tpLine(1))+1, tpSize, tpFiles, tpLines*(len(tpLine(1))+1)/tpSize, tpSize, tpFiles, tpSize, tpFiles, tpFiles, tpSize, tpSize, tpFiles, tpSize, tpFiles, tpFiles, tpSize)
	fmt.Fprintf(r, "| logger | runs | lines/s median | min | max | time median | lines on disk | largest rotated file | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	rows, res := b.throughput()
	var base [2]float64 // sv-log's median, without and with timestamps
	var faster, torn []string
	var ourMax int64
	for i, row := range rows {
		name, t := row.name, res[i]
		if t.err != "" || len(t.times) == 0 {
			why := t.err
			if why == "" {
				why = "no run"
			}
			if !strings.HasPrefix(why, "not measured") {
				why = "not measured: " + why
			}
			fmt.Fprintf(r, "| %s | | %s | | | | | | |\n", name, why)
			continue
		}
		st := summarize(t.times)
		med := float64(tpLines) / st.med.Seconds()
		kind := 0
		if row.stamped {
			kind = 1
		}
		if base[kind] == 0 {
			base[kind] = med
		}
		ok := fmt.Sprintf("all %d, once", tpLines)
		if t.bad != "" {
			ok = "**" + t.bad + "**"
		}
		fmt.Fprintf(r, "| %s | %d | %s | %s | %s | %s | %s | %s | %.2fx |\n", name, st.n, kps(med), kps(float64(tpLines)/st.max.Seconds()),
			kps(float64(tpLines)/st.min.Seconds()), round(st.med), ok, mb(t.maxRotated), med/base[kind])
		switch {
		case row.ours:
			ourMax = max(ourMax, t.maxRotated)
		case t.bad != "":
			torn = append(torn, name)
		case med > base[kind]:
			faster = append(faster, fmt.Sprintf("%s (%.2fx)", name, med/base[kind]))
		}
	}
	if len(torn) > 0 {
		fmt.Fprintf(r, "\nNot every line of %s is whole: it rotates by bytes, not at line ends, so the line that straddles the limit is split between two files at each rotation (its halves count as lost and garbled above); its speed is bought that way and is no match for the others'.\n", strings.Join(torn, ", "))
	}
	if len(faster) > 0 {
		fmt.Fprintf(r, "\nBehind: %s wrote more lines per second than our logger of the same kind (timestamps or not) here. Per chunk of input (up to 64 KiB) sv-log makes three system calls without timestamps (tee to a private pipe, read it to find the line ends, splice from the input into current) and four with them (tee, read, write the stamped copy, splice the input to /dev/null to take it), where a plain logger makes a read and a write: the price of taking bytes from the input only once they are written. There is no allocation per line, and a rotation's fsync runs beside the writing (the file is @TAI64N.u until it is synced). What is left: the tee and its read per chunk.\n", strings.Join(faster, ", "))
	}
	if ourMax > int64(tpSize)*21/20 {
		fmt.Fprintf(r, "\nBehind: our rotated files grow past the %d-byte limit (up to %s), where svlogd, s6-log and multilog stay under it. The logger rotates only within a chunk of input that begins at a line boundary: it asks whether the disk ends mid-line (diskMid) as it was before the chunk, so in a chunk that begins by finishing a line, no line can rotate. A producer whose writes cut lines (stdio's 4 KiB blocks into a pipe, as seq here) gives such a chunk once in 86 KB of 84-byte lines at best, more rarely when the logger takes several blocks at once; fed the same lines in writes that end at line ends, sv-log's files stay under 1 MB. What would close it: in writeSegsLocked (internal/svlog), track the mid-line state segment by segment within the chunk.\n", tpSize, mb(ourMax))
	}

	fmt.Fprintf(r, "\nLoss: the service's `./run` is a shell that prints `line N N` for N = 1, 2, ... as fast as it can, appending a byte to a count file after each line is written (so the count is how many lines surely reached the pipe), and prints `end` when told to stop. Its logger is killed with KILL %d times while it writes: the first kill once it has logged something, each next one as soon as the bench (polling every 5 ms) sees the restarted logger's first write, so that the kill finds it busy with what waited in the pipe meanwhile, the hardest moment for every logger alike; then the producer is stopped, its `end` awaited in the log, and every line read back. Lost: numbers up to the count that are not in the log; duplicated: extra copies; garbled: lines that are not whole, pieces of two lines joined (`line A B` with A and B different, or a field short), where a logger lost what was between them or wrote a piece twice. Peers run as log/ of a service dir under their own scanner, each in a PID namespace; the loggers are set as above (1 MB rotation, no timestamps). The time is the whole run, most of it the supervisors' restart delays (runsv, s6-supervise and supervise wait a second before restarting a process that ran less than one). sv-scan's builtin logger is sv-scan itself: it is killed with KILL while the daemon goes on writing into the FIFO in its supervise dir, and a new sv-scan adopts the daemon and reads on from the FIFO.\n\n", lossKill)
	fmt.Fprintf(r, "| logger | supervisor | killed by | kills | lines written | lost | duplicated | garbled | time |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var ourLoss, ourTorn, cleanPeers []string
	ourDups := 0
	for _, row := range b.lossRuns() {
		res := row.res
		if res.written == 0 && res.err != "" {
			fmt.Fprintf(r, "| %s | %s | %s | | %s | | | | |\n", row.logger, row.under, row.kill, res.err)
			continue
		}
		lost := strconv.Itoa(res.lost)
		if res.err != "" {
			lost += " (" + res.err + ")"
		}
		garbled := strconv.Itoa(res.garbled)
		if strings.HasPrefix(row.logger, "sv-") && res.lost > 0 {
			lost = "**" + lost + "**"
			ourLoss = append(ourLoss, fmt.Sprintf("%s under %s lost %d lines", row.logger, row.under, res.lost))
		}
		if strings.HasPrefix(row.logger, "sv-") && res.garbled > 0 {
			garbled = "**" + garbled + "**"
			ourTorn = append(ourTorn, fmt.Sprintf("%s under %s wrote %d (the first: %s)", row.logger, row.under, res.garbled, res.sample))
		}
		if strings.HasPrefix(row.logger, "sv-") {
			ourDups += res.dups
		} else if res.err == "" && res.lost+res.dups+res.garbled == 0 {
			cleanPeers = append(cleanPeers, row.logger)
		}
		fmt.Fprintf(r, "| %s | %s | %s | %d | %d | %s | %d | %s | %s |\n", row.logger, row.under, row.kill, res.kills, res.written, lost, res.dups, garbled, round(res.took))
	}
	if len(ourLoss) > 0 {
		fmt.Fprintf(r, "\n**Lines lost by our loggers: %s.** They are meant to lose none: bytes leave the pipe only once written.\n", strings.Join(ourLoss, "; "))
	}
	if len(ourTorn) > 0 {
		fmt.Fprintf(r, "\n**Garbled lines from our loggers: %s.** A logger killed after writing a chunk, or while writing it (the kernel ends a write cut by KILL at a page boundary), and before taking it from the pipe, leaves what it wrote in current; the next one writes the whole chunk again after it, and when what was left ends mid-line, that piece and the chunk's first line are joined into a line the daemon never wrote (no number is missing: both are elsewhere, whole).\n", strings.Join(ourTorn, "; "))
	}
	if ourDups > 0 || len(ourTorn) > 0 {
		behind := ""
		if len(cleanPeers) > 0 {
			behind = fmt.Sprintf("Behind %s, which wrote every line once here. ", strings.Join(cleanPeers, ", "))
		}
		fmt.Fprintf(r, "\n%sOur loggers lose nothing, at a price: a KILL between writing a chunk and taking it from the pipe leaves the chunk there, and the next logger writes it again (%d duplicated lines in all above; up to 64 KiB per kill), after whatever piece of it was already written. What would close it: before writing a chunk, note in a small state file beside current where current ends (one more write per chunk); a logger starting would cut current back to that point before writing what is in the pipe, so that no chunk is there twice, nor a piece of one.\n", behind, ourDups)
	}
	fmt.Fprintf(r, "\nsv-log under sv-scan is killed with the letter `k`, not by its pid: a KILL sv-scan is asked to send is no crash, and a restart follows at once. A log program that dies on its own is restarted at once, then at most a second apart (the daemon's output waits in the pipe meanwhile); runsv restarts its logger after a second each time. The same sv-log killed by its pid under runsvdir is the row beside svlogd.\n")
}

// kps writes lines per second in thousands.
func kps(v float64) string { return fmt.Sprintf("%.0fk", v/1000) }

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }
