package supervise

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/proc"
)

// startRun starts a unit's ./run in its directory, with runsv's files: the
// output FIFO as stdout of the service and stdin of its log program, and
// sv-scan's own stderr. It adds the readiness channel SVC_READY asks for:
// the write end of a pipe at fd N, or NOTIFY_SOCKET. The read end of the
// pipe, if any, is returned.
func (s *service) startRun(u *unit) (*proc.Process, *os.File, error) {
	files := []*os.File{s.sc.devnull, os.Stdout, os.Stderr}
	var closeAfter []*os.File
	defer func() {
		for _, f := range closeAfter {
			f.Close()
		}
	}()
	switch {
	case u.isLog:
		in, err := s.out.readEnd()
		if err != nil {
			return nil, nil, err
		}
		files[0] = in
		closeAfter = append(closeAfter, in)
	case s.out != nil:
		w, err := s.out.writeEnd()
		if err != nil {
			return nil, nil, err
		}
		files[1] = w
		closeAfter = append(closeAfter, w)
	}
	env := s.sc.environ
	var readyRead *os.File
	if !u.isLog {
		switch r := s.cfg.ready; r.Kind {
		case options.ReadyFD:
			rd, wr, err := os.Pipe()
			if err != nil {
				return nil, nil, err
			}
			for len(files) <= r.FD {
				files = append(files, nil)
			}
			files[r.FD] = wr
			readyRead = rd
			closeAfter = append(closeAfter, wr)
		case options.ReadyNotify:
			ns, err := s.notifySocket()
			if err != nil {
				return nil, nil, err
			}
			env = append(append([]string(nil), env...), "NOTIFY_SOCKET="+ns.Addr())
		}
	}
	cg := s.cgroupFD(u)
	if !u.isLog {
		if p, ok := s.spawnDirect(u, files, env, cg); ok {
			return p, readyRead, nil
		}
	}
	p, err := s.sc.reaper.Start(proc.Spec{
		Path: filepath.Join(u.dir, "run"), Argv: []string{"./run"}, Env: env, Dir: u.dir,
		Files: files, CgroupFD: cg, OnExit: s.onExit(u),
	})
	if err != nil && readyRead != nil {
		readyRead.Close()
		readyRead = nil
	}
	return p, readyRead, err
}

func (s *service) cgroupFD(u *unit) int {
	u.memLimit, u.oom = false, false
	cg := s.cgroupOf(u)
	if cg == nil {
		return -1
	}
	if err := cg.Fresh(); err != nil {
		s.logf("%s: cgroup %s: %v", u.name, cg.Path, err)
	}
	s.limitMemory(u)
	return cg.FD()
}

// limitMemory has the kernel hold the run to SVC_MEMORY_MAX where the
// service's cgroup can (memory.max), and notes its OOM kills so far; else
// the health checks measure it.
func (s *service) limitMemory(u *unit) {
	if u.isLog || u.cfg.health == nil || u.cfg.health.MemoryMax <= 0 || !s.sc.memoryLimits() {
		return
	}
	if err := s.cg.SetMemoryMax(u.cfg.health.MemoryMax); err != nil {
		return
	}
	n, err := s.cg.OOMKills()
	u.memLimit, u.oomBase = err == nil, n
}

// startFinish starts ./finish with runit's arguments: the exit code (-1
// when killed by a signal) and the low byte of the wait status.
func (s *service) startFinish(u *unit) (*proc.Process, error) {
	code := "-1"
	if u.lastExit != nil && u.lastExit.Code >= 0 {
		code = strconv.Itoa(u.lastExit.Code)
	}
	return s.spawnScript(u, s.onExit(u), filepath.Join(u.dir, "finish"), "./finish", code, strconv.Itoa(u.lastWstat&0xff))
}

// spawnControl starts a user's control/<letter> script.
func (s *service) spawnControl(u *unit, path string) (*proc.Process, error) {
	rel, _ := filepath.Rel(u.dir, path)
	return s.spawnScript(u, nil, path, rel)
}

// spawnScript starts a helper of the service (finish, control) in its
// directory, writing to the service's output as runsv's do. Its end goes
// to onExit, or with nil to the Process's Exit channel.
func (s *service) spawnScript(u *unit, onExit func(proc.Exit), path string, argv ...string) (*proc.Process, error) {
	files := []*os.File{s.sc.devnull, os.Stdout, os.Stderr}
	if s.out != nil && !u.isLog {
		w, err := s.out.writeEnd()
		if err != nil {
			return nil, err
		}
		defer w.Close()
		files[1] = w
	}
	return s.sc.reaper.Start(proc.Spec{Path: path, Argv: argv, Env: s.sc.environ, Dir: u.dir, Files: files, CgroupFD: -1, OnExit: onExit})
}
