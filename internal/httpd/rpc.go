package httpd

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/tokens"
	"github.com/supervision-suite/supervision/internal/xmlrpc"
)

// This file is supervisord's XML-RPC API at /RPC2, the "supervisor"
// namespace as supervisorctl and other tools call it (supervisord's docs,
// "XML-RPC API"): each service is a process, each application (or a
// service outside any, alone) a group, with supervisord's states, fault
// codes and answers.

// supervisord's fault codes (supervisor/xmlrpc.py).
const (
	faultUnknownMethod  = 1
	faultIncorrectParam = 2
	faultBadArguments   = 3
	faultBadName        = 10
	faultBadSignal      = 11
	faultNoFile         = 20
	faultFailed         = 30
	faultAbnormal       = 40
	faultSpawnError     = 50
	faultAlreadyStarted = 60
	faultNotRunning     = 70
	faultSuccess        = 80
)

var faultNames = map[int]string{
	faultUnknownMethod: "UNKNOWN_METHOD", faultIncorrectParam: "INCORRECT_PARAMETERS",
	faultBadArguments: "BAD_ARGUMENTS", faultBadName: "BAD_NAME", faultBadSignal: "BAD_SIGNAL",
	faultNoFile: "NO_FILE", faultFailed: "FAILED", faultAbnormal: "ABNORMAL_TERMINATION",
	faultSpawnError: "SPAWN_ERROR", faultAlreadyStarted: "ALREADY_STARTED", faultNotRunning: "NOT_RUNNING",
}

// rpcFault is a fault a method answers: supervisord's text is the code's
// name, then what it is about.
type rpcFault struct {
	code int
	what string
}

func (f *rpcFault) Error() string {
	if f.what == "" {
		return faultNames[f.code]
	}
	return faultNames[f.code] + ": " + f.what
}

func fault(code int, what string) error { return &rpcFault{code, what} }

// supervisord's process states and their codes (supervisor/states.py).
type supState struct {
	name string
	code int
}

var (
	supStopped  = supState{"STOPPED", 0}
	supStarting = supState{"STARTING", 10}
	supRunning  = supState{"RUNNING", 20}
	supBackoff  = supState{"BACKOFF", 30}
	supStopping = supState{"STOPPING", 40}
	supExited   = supState{"EXITED", 100}
	supFatal    = supState{"FATAL", 200}
	supUnknown  = supState{"UNKNOWN", 1000}
)

// supStates is the supervisord state of each phase of ours. waiting (for
// what it depends on) is on its way to start; blocked (what it needs
// failed) is kept from starting, as supervisord's BACKOFF is, and says
// why; a oneshot done has EXITED.
var supStates = map[string]supState{
	"down": supStopped, "starting": supStarting, "up": supRunning, "stopping": supStopping,
	"draining": supStopping, "finish": supStopping, "backoff": supBackoff, "fatal": supFatal,
	"waiting": supStarting, "blocked": supBackoff, "done": supExited,
}

func stateOf(info svctl.Info) supState {
	if st, ok := supStates[info.State]; ok {
		return st
	}
	return supUnknown
}

// rpcMethod is one method: the role it needs, and what it does.
type rpcMethod struct {
	role tokens.Role
	call func(s *Server, ctx context.Context, args []any) (any, error)
}

var rpcMethods map[string]rpcMethod

func init() {
	read, control := tokens.Read, tokens.Control
	rpcMethods = map[string]rpcMethod{
		"supervisor.getAPIVersion":        {read, func(*Server, context.Context, []any) (any, error) { return apiVersion, nil }},
		"supervisor.getVersion":           {read, func(*Server, context.Context, []any) (any, error) { return apiVersion, nil }},
		"supervisor.getSupervisorVersion": {read, func(*Server, context.Context, []any) (any, error) { return supervisorVersion, nil }},
		"supervisor.getIdentification":    {read, (*Server).rpcIdentification},
		"supervisor.getState":             {read, (*Server).rpcState},
		"supervisor.getPID":               {read, (*Server).rpcPID},
		"supervisor.getProcessInfo":       {read, (*Server).rpcProcessInfo},
		"supervisor.getAllProcessInfo":    {read, (*Server).rpcAllProcessInfo},
		"supervisor.startProcess":         {control, moveProcess(starting)},
		"supervisor.stopProcess":          {control, moveProcess(stopping)},
		"supervisor.startProcessGroup":    {control, moveGroup(starting)},
		"supervisor.stopProcessGroup":     {control, moveGroup(stopping)},
		"supervisor.startAllProcesses":    {control, moveAll(starting)},
		"supervisor.stopAllProcesses":     {control, moveAll(stopping)},
		"supervisor.signalProcess":        {control, (*Server).rpcSignalProcess},
		"supervisor.signalProcessGroup":   {control, (*Server).rpcSignalGroup},
		"supervisor.signalAllProcesses":   {control, (*Server).rpcSignalAll},
		"supervisor.readProcessStdoutLog": {read, (*Server).rpcReadLog},
		"supervisor.readProcessStderrLog": {read, (*Server).rpcReadLog},
		"supervisor.readProcessLog":       {read, (*Server).rpcReadLog},
		"supervisor.tailProcessStdoutLog": {read, (*Server).rpcTailLog},
		"supervisor.tailProcessStderrLog": {read, (*Server).rpcTailLog},
		"system.listMethods":              {read, (*Server).rpcListMethods},
		"system.multicall":                {read, (*Server).rpcMulticall},
	}
}

// apiVersion is what supervisorctl checks before anything (it refuses
// another); supervisorVersion is what it shows as supervisord's.
const (
	apiVersion        = "3.0"
	supervisorVersion = "4.2.5 (supervision sv-http)"
)

// startWait bounds how long startProcess(wait=true) waits for a process
// to be running (ready), and stopProcess for it to be stopped.
const startWait = 60 * time.Second

// rpc answers POST /RPC2: one XML-RPC call.
func (s *Server) rpc(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRPCBody)
	call, err := xmlrpc.ReadCall(r.Body)
	if err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		s.fail(w, r, status, err.Error())
		return
	}
	who := callerOf(r)
	if m, ok := rpcMethods[call.Method]; ok && who.role < m.role {
		// supervisorctl says "Server requires authentication" to a 401;
		// a fault it does not expect would be a Python traceback.
		s.log.Printf("401 %s %s from %s: %s has the %s role, this needs %s", call.Method, r.URL.Path, remote(r), who.name, who.role, m.role)
		w.Header().Set("WWW-Authenticate", `Basic realm="supervision", charset="UTF-8"`)
		s.fail(w, r, http.StatusUnauthorized, call.Method+" needs the control role")
		return
	}
	result, err := s.rpcCall(r.Context(), call.Method, call.Params, who)
	var b bytes.Buffer
	var f *rpcFault
	switch {
	case errors.As(err, &f):
		xmlrpc.WriteFault(&b, f.code, f.Error())
	case err != nil:
		xmlrpc.WriteFault(&b, faultFailed, "FAILED: "+err.Error())
	default:
		if err := xmlrpc.WriteResponse(&b, result); err != nil {
			b.Reset()
			xmlrpc.WriteFault(&b, faultFailed, "FAILED: "+err.Error())
		}
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(b.Bytes())
}

func (s *Server) rpcCall(ctx context.Context, method string, args []any, who caller) (any, error) {
	m, ok := rpcMethods[method]
	if !ok {
		return nil, fault(faultUnknownMethod, method)
	}
	if who.role < m.role {
		return nil, fault(faultFailed, method+" needs the control role")
	}
	if m.role == tokens.Control {
		s.log.Printf("%s%s by %s", method, describeArgs(args), who.name)
	}
	return m.call(s, ctx, args)
}

func describeArgs(args []any) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, fmt.Sprint(a))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Arguments, as supervisord takes them.

func argString(args []any, i int) (string, error) {
	if i >= len(args) {
		return "", fault(faultIncorrectParam, "")
	}
	s, ok := args[i].(string)
	if !ok {
		return "", fault(faultIncorrectParam, "")
	}
	return s, nil
}

// argWait is the optional wait flag: true when absent.
func argWait(args []any, i int) bool {
	if i >= len(args) {
		return true
	}
	b, ok := args[i].(bool)
	return !ok || b
}

func argInt(args []any, i int) (int, error) {
	if i >= len(args) {
		return 0, fault(faultIncorrectParam, "")
	}
	n, ok := args[i].(int)
	if !ok {
		return 0, fault(faultIncorrectParam, "")
	}
	return n, nil
}

func (s *Server) rpcIdentification(context.Context, []any) (any, error) {
	return cmp.Or(s.cfg.Node, "supervisor"), nil
}

// rpcState: supervisord's own state; this server answers only while
// sv-scan runs it.
func (s *Server) rpcState(context.Context, []any) (any, error) {
	return xmlrpc.Struct{{Name: "statecode", Value: 1}, {Name: "statename", Value: "RUNNING"}}, nil
}

func (s *Server) rpcPID(context.Context, []any) (any, error) {
	return s.cfg.ScannerPid, nil
}

// process is a service as supervisord's process: its group is its
// application, or itself.
type process struct {
	svc  svctl.Service
	info svctl.Info
}

func (p process) group() string {
	if p.info.App != "" {
		return p.info.App
	}
	return p.svc.Name
}

// namespec is supervisord's name of a process: group:name, or the name
// alone when the group is the process.
func (p process) namespec() string {
	if g := p.group(); g != p.svc.Name {
		return g + ":" + p.svc.Name
	}
	return p.svc.Name
}

func (s *Server) processes() ([]process, error) {
	svcs, infos, errs, err := s.model.all()
	if err != nil {
		return nil, err
	}
	infos = known(svcs, infos, errs)
	out := make([]process, len(svcs))
	for i := range svcs {
		out[i] = process{svcs[i], infos[i]}
	}
	return out, nil
}

// find is the process of a namespec: NAME, or GROUP:NAME.
func (s *Server) find(spec string) (process, error) {
	group, name, grouped := strings.Cut(spec, ":")
	if !grouped {
		name = group
	}
	ps, err := s.processes()
	if err != nil {
		return process{}, err
	}
	for _, p := range ps {
		if p.svc.Name == name && (!grouped || p.group() == group) {
			return p, nil
		}
	}
	return process{}, fault(faultBadName, spec)
}

// group is the processes of a group (GROUP, or GROUP:*), by name.
func (s *Server) group(spec string) ([]process, error) {
	name := strings.TrimSuffix(spec, ":*")
	ps, err := s.processes()
	if err != nil {
		return nil, err
	}
	var out []process
	for _, p := range ps {
		if p.group() == name {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fault(faultBadName, spec)
	}
	return out, nil
}

// supInfo is getProcessInfo's struct of a process.
func (p process) supInfo() xmlrpc.Struct {
	now := time.Now()
	st := stateOf(p.info)
	// start is when the process running started, or the last one did
	// (its exit's time less its uptime); stop, when the last one ended.
	var start, stop int
	switch e := p.info.LastExit; {
	case !p.info.Started.IsZero():
		start = int(p.info.Started.Unix())
	case e != nil && !e.At.IsZero():
		start = int(e.At.Add(-time.Duration(e.Uptime * float64(time.Second))).Unix())
	}
	if e := p.info.LastExit; e != nil && !e.At.IsZero() && p.info.Pid == 0 {
		stop = int(e.At.Unix())
	}
	exit := 0 // supervisord's exitstatus: -1 for a signal, as ours
	if e := p.info.LastExit; e != nil && !e.Unknown {
		exit = e.Code
	}
	spawnErr := cmp.Or(p.info.Fatal, p.info.Waiting, p.info.Error)
	logfile := ""
	if p.info.Log != nil && p.info.Log.Dir != "" {
		logfile = filepath.Join(p.info.Log.Dir, "current")
	}
	return xmlrpc.Struct{
		{Name: "name", Value: p.svc.Name},
		{Name: "group", Value: p.group()},
		{Name: "description", Value: describe(p.info, st, start, stop, spawnErr, now)},
		{Name: "start", Value: start},
		{Name: "stop", Value: stop},
		{Name: "now", Value: int(now.Unix())},
		{Name: "state", Value: st.code},
		{Name: "statename", Value: st.name},
		{Name: "spawnerr", Value: spawnErr},
		{Name: "exitstatus", Value: exit},
		{Name: "logfile", Value: logfile},
		{Name: "stdout_logfile", Value: logfile},
		{Name: "stderr_logfile", Value: ""},
		{Name: "pid", Value: p.info.Pid},
	}
}

// describe is getProcessInfo's description, as supervisord words it:
// "pid 42, uptime 1:02:03" running; why, failing; when it stopped, or
// "Not started".
func describe(info svctl.Info, st supState, start, stop int, spawnErr string, now time.Time) string {
	switch st {
	case supRunning:
		up := max(0, int(now.Unix())-start)
		return fmt.Sprintf("pid %d, uptime %s", info.Pid, pyTimedelta(up))
	case supFatal, supBackoff:
		return cmp.Or(spawnErr, "unknown error (try \"tail "+info.Name+"\")")
	case supStopped, supExited:
		if start == 0 {
			return "Not started"
		}
		return time.Unix(int64(stop), 0).Format("Jan 02 03:04 PM")
	}
	return ""
}

// pyTimedelta writes seconds as Python's str(timedelta) does: 1:02:03,
// or "2 days, 1:02:03".
func pyTimedelta(secs int) string {
	days, rest := secs/86400, secs%86400
	hms := fmt.Sprintf("%d:%02d:%02d", rest/3600, rest/60%60, rest%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}

func (s *Server) rpcProcessInfo(_ context.Context, args []any) (any, error) {
	spec, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	p, err := s.find(spec)
	if err != nil {
		return nil, err
	}
	return p.supInfo(), nil
}

func (s *Server) rpcAllProcessInfo(context.Context, []any) (any, error) {
	ps, err := s.processes()
	if err != nil {
		return nil, err
	}
	// supervisord lists by group, then by name.
	slices.SortStableFunc(ps, func(a, b process) int { return strings.Compare(a.group(), b.group()) })
	out := make([]xmlrpc.Struct, len(ps))
	for i, p := range ps {
		out[i] = p.supInfo()
	}
	return out, nil
}

// running: supervisord's RUNNING_STATES (STARTING, RUNNING, BACKOFF,
// STOPPING) — one that may not be started again.
func running(st supState) bool {
	return st == supStarting || st == supRunning || st == supBackoff || st == supStopping
}

// move is a start or a stop as supervisord's methods make them: to whom
// it applies, the letter sent, what a wait waits for, and the faults.
type move struct {
	applies  func(supState) bool
	letter   string
	until    func(p process) (what string, cond func(svctl.Info) (bool, error))
	refused  int // the process is already there: ALREADY_STARTED, NOT_RUNNING
	waitFail int // the wait did not end well: SPAWN_ERROR, FAILED
}

var (
	// starting: up, until the process is ready (a oneshot done).
	starting = move{applies: notRunning, letter: "u", refused: faultAlreadyStarted, waitFail: faultSpawnError,
		until: func(p process) (string, func(svctl.Info) (bool, error)) {
			return svctl.WaitReady, svctl.Started(p.info)
		}}
	// stopping: down, until the process is down.
	stopping = move{applies: running, letter: "d", refused: faultNotRunning, waitFail: faultFailed,
		until: func(process) (string, func(svctl.Info) (bool, error)) {
			return svctl.WaitDown, func(i svctl.Info) (bool, error) { return i.Down(), nil }
		}}
)

func notRunning(st supState) bool { return !running(st) }

// moveProcess is startProcess or stopProcess(name, wait): one process, or
// a group as GROUP:*.
func moveProcess(m move) func(*Server, context.Context, []any) (any, error) {
	return func(s *Server, ctx context.Context, args []any) (any, error) {
		spec, err := argString(args, 0)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(spec, ":*") {
			return moveGroup(m)(s, ctx, args)
		}
		p, err := s.find(spec)
		if err != nil {
			return nil, err
		}
		if !m.applies(stateOf(p.info)) {
			return nil, fault(m.refused, p.namespec())
		}
		if err := svctl.Send(p.svc, m.letter); err != nil {
			return nil, fault(faultFailed, err.Error())
		}
		if argWait(args, 1) {
			if err := m.wait(ctx, p); err != nil {
				return nil, err
			}
		}
		return true, nil
	}
}

// wait waits, at most startWait, for the move to have taken effect.
func (m move) wait(ctx context.Context, p process) error {
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	what, cond := m.until(p)
	if _, err := svctl.WaitFor(ctx, p.svc, what, cond); err != nil {
		return fault(m.waitFail, p.namespec())
	}
	return nil
}

// moveGroup is start/stopProcessGroup(name, wait).
func moveGroup(m move) func(*Server, context.Context, []any) (any, error) {
	return func(s *Server, ctx context.Context, args []any) (any, error) {
		spec, err := argString(args, 0)
		if err != nil {
			return nil, err
		}
		ps, err := s.group(spec)
		if err != nil {
			return nil, err
		}
		return m.each(ctx, ps, argWait(args, 1)), nil
	}
}

// moveAll is start/stopAllProcesses(wait).
func moveAll(m move) func(*Server, context.Context, []any) (any, error) {
	return func(s *Server, ctx context.Context, args []any) (any, error) {
		ps, err := s.processes()
		if err != nil {
			return nil, err
		}
		return m.each(ctx, ps, argWait(args, 0)), nil
	}
}

// each sends the letter to every process the move applies to, then, with
// wait, waits for each: sv-scan orders the starts and stops by the
// dependencies, so every letter goes first.
func (m move) each(ctx context.Context, ps []process, wait bool) []xmlrpc.Struct {
	var sent []process
	results := each(ps, m.applies, func(p process) error {
		sent = append(sent, p)
		if err := svctl.Send(p.svc, m.letter); err != nil {
			return fault(faultFailed, err.Error())
		}
		return nil
	})
	for i, p := range sent {
		if wait && resultOK(results[i]) {
			if err := m.wait(ctx, p); err != nil {
				setResult(results[i], err)
			}
		}
	}
	return results
}

// each acts on every process of ps that pred takes, and answers
// supervisord's list of results: name, group, status, description.
func each(ps []process, pred func(supState) bool, act func(process) error) []xmlrpc.Struct {
	out := []xmlrpc.Struct{}
	for _, p := range ps {
		if !pred(stateOf(p.info)) {
			continue
		}
		res := xmlrpc.Struct{{Name: "name", Value: p.svc.Name}, {Name: "group", Value: p.group()},
			{Name: "status", Value: faultSuccess}, {Name: "description", Value: "OK"}}
		if err := act(p); err != nil {
			setResult(res, err)
		}
		out = append(out, res)
	}
	return out
}

func resultOK(res xmlrpc.Struct) bool {
	status, _ := res.Get("status")
	return status == faultSuccess
}

// setResult makes a result say err: its fault's code, FAILED otherwise.
func setResult(res xmlrpc.Struct, err error) {
	code := faultFailed
	var f *rpcFault
	if errors.As(err, &f) {
		code = f.code
	}
	for i := range res {
		switch res[i].Name {
		case "status":
			res[i].Value = code
		case "description":
			res[i].Value = err.Error()
		}
	}
}

// signalProcess sends a signal (a name, with or without SIG, or a number) to a
// running process.
func signalProcess(p process, name string) error {
	sig, err := options.ParseSignal(name)
	if err != nil {
		return fault(faultBadSignal, name)
	}
	if !running(stateOf(p.info)) || p.info.Pid == 0 {
		return fault(faultNotRunning, p.namespec())
	}
	if err := svctl.Signal(p.svc, sig); err != nil {
		return fault(faultFailed, err.Error())
	}
	return nil
}

func (s *Server) rpcSignalProcess(_ context.Context, args []any) (any, error) {
	spec, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	sig, err := rpcSignalArg(args, 1)
	if err != nil {
		return nil, err
	}
	p, err := s.find(spec)
	if err != nil {
		return nil, err
	}
	return true, signalProcess(p, sig)
}

// rpcSignalArg is a signal as supervisorctl sends it: a name or a number.
func rpcSignalArg(args []any, i int) (string, error) {
	if n, err := argInt(args, i); err == nil {
		return fmt.Sprint(n), nil
	}
	return argString(args, i)
}

func (s *Server) rpcSignalGroup(_ context.Context, args []any) (any, error) {
	spec, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	sig, err := rpcSignalArg(args, 1)
	if err != nil {
		return nil, err
	}
	ps, err := s.group(spec)
	if err != nil {
		return nil, err
	}
	return each(ps, running, func(p process) error { return signalProcess(p, sig) }), nil
}

func (s *Server) rpcSignalAll(_ context.Context, args []any) (any, error) {
	sig, err := rpcSignalArg(args, 0)
	if err != nil {
		return nil, err
	}
	ps, err := s.processes()
	if err != nil {
		return nil, err
	}
	return each(ps, running, func(p process) error { return signalProcess(p, sig) }), nil
}

// logFile is the file of a process's log: current, in its log directory.
func (s *Server) logFile(spec string) (string, error) {
	p, err := s.find(spec)
	if err != nil {
		return "", err
	}
	dir, err := svctl.LogDir(p.svc)
	if err != nil {
		return "", fault(faultNoFile, p.namespec())
	}
	return filepath.Join(dir, "current"), nil
}

// maxLogRead bounds what one call reads of a log.
const maxLogRead = 1 << 20

// rpcReadLog is readProcessStdoutLog(name, offset, length): length bytes
// from offset; a negative offset is that many bytes from the end (length
// then 0); length 0, to the end. The services' stdout and stderr go to
// the one log.
func (s *Server) rpcReadLog(_ context.Context, args []any) (any, error) {
	spec, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	offset, err := argInt(args, 1)
	if err != nil {
		return nil, err
	}
	length, err := argInt(args, 2)
	if err != nil {
		return nil, err
	}
	if length < 0 || offset < 0 && length != 0 {
		return nil, fault(faultBadArguments, "")
	}
	path, err := s.logFile(spec)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fault(faultFailed, "")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fault(faultFailed, "")
	}
	from, n := int64(offset), int64(length)
	if offset < 0 {
		from, n = max(0, fi.Size()+int64(offset)), int64(-offset)
	}
	if n == 0 {
		n = fi.Size() - from
	}
	data, err := io.ReadAll(io.NewSectionReader(f, from, max(0, min(n, maxLogRead))))
	if err != nil {
		return nil, fault(faultFailed, "")
	}
	return strings.ToValidUTF8(string(data), "\uFFFD"), nil
}

// rpcTailLog is tailProcessStdoutLog(name, offset, length): up to length
// bytes from offset, or the last length bytes when the log has grown past
// offset+length (overflow); answers [bytes, the log's size, overflow].
func (s *Server) rpcTailLog(_ context.Context, args []any) (any, error) {
	spec, err := argString(args, 0)
	if err != nil {
		return nil, err
	}
	offset, err := argInt(args, 1)
	if err != nil {
		return nil, err
	}
	length, err := argInt(args, 2)
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fault(faultBadArguments, "")
	}
	path, err := s.logFile(spec)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return []any{"", offset, false}, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return []any{"", offset, false}, nil
	}
	size := fi.Size()
	from, n, overflow := int64(offset), int64(min(length, maxLogRead)), false
	if size > from+n {
		overflow, from = true, size-n
	}
	n = max(0, min(n, size-from))
	data, _ := io.ReadAll(io.NewSectionReader(f, from, n))
	return []any{strings.ToValidUTF8(string(data), "\uFFFD"), int(size), overflow}, nil
}

func (s *Server) rpcListMethods(context.Context, []any) (any, error) {
	names := make([]string, 0, len(rpcMethods))
	for name := range rpcMethods {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// rpcMulticall is system.multicall([{methodName, params}...]): each
// call's result in a list of one, or its fault as a struct. The caller's
// role is checked for each call (see rpc): a read-only caller's
// multicall may not hide a control method.
func (s *Server) rpcMulticall(ctx context.Context, args []any) (any, error) {
	if len(args) != 1 {
		return nil, fault(faultIncorrectParam, "")
	}
	calls, ok := args[0].([]any)
	if !ok {
		return nil, fault(faultIncorrectParam, "")
	}
	who, _ := ctx.Value(ctxKey{}).(caller)
	out := make([]any, len(calls))
	for i, c := range calls {
		st, _ := c.(xmlrpc.Struct)
		name, _ := st.Get("methodName")
		params, _ := st.Get("params")
		method, _ := name.(string)
		list, _ := params.([]any)
		var res any
		var err error
		if method == "system.multicall" {
			err = fault(faultIncorrectParam, "recursive multicall")
		} else {
			res, err = s.rpcCall(ctx, method, list, who)
		}
		if err != nil {
			code := faultFailed
			var f *rpcFault
			if errors.As(err, &f) {
				code = f.code
			}
			out[i] = xmlrpc.Struct{{Name: "faultCode", Value: code}, {Name: "faultString", Value: err.Error()}}
			continue
		}
		out[i] = []any{res}
	}
	return out, nil
}
