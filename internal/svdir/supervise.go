package svdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// ErrLocked means another supervisor holds supervise/lock.
var ErrLocked = errors.New("another supervisor is running it (supervise/lock is held)")

// ErrNotSupervised means no supervisor listens on supervise/control.
var ErrNotSupervised = errors.New("not supervised (no supervisor listens on supervise/control)")

// Supervise is a supervise directory held by a supervisor: the lock, the
// control FIFO it reads letters from, the ok FIFO whose open read end tells
// clients it runs, and the status files it writes.
type Supervise struct {
	Dir     string
	Control *os.File // read end (opened read-write: it never sees EOF)
	lock    int      // fd of supervise/lock, held locked; -1 none
	ok      int      // fd of the ok FIFO's read end; -1 none
	// dirFd is the directory itself (O_PATH), which the status files are
	// written relative to, as runsv writes them relative to its working
	// directory: no path walk through the supervise link at every write
	// (a quarter of sv-scan's time taking a service up went to them).
	dirFd   int
	lastPid int
	wrote   bool
}

// Acquire takes over the supervise directory at dir, as runsv does: it
// creates the directory (or, when dir is a dangling symlink, its target),
// locks supervise/lock, and makes and opens the control and ok FIFOs.
func Acquire(dir string) (*Supervise, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	s := &Supervise{Dir: dir, dirFd: -1, lock: -1, ok: -1}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	var err error
	if s.dirFd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	// Everything relative to the directory, with plain system calls: no
	// path walk through the supervise link each time, and only the
	// control FIFO, which is read, goes into Go's poller.
	// O_NONBLOCK: a FIFO put in the lock's place fails the open (ENXIO)
	// rather than block the supervisor until someone reads it.
	if s.lock, err = unix.Openat(s.dirFd, "lock", unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0o600); err != nil {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(dir, "lock"), Err: err}
	}
	if err := lockExclusive(s.lock); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	control, err := s.openFIFO("control", unix.O_RDWR|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	s.Control = os.NewFile(uintptr(control), filepath.Join(dir, "control"))
	if s.ok, err = s.openFIFO("ok", unix.O_RDONLY|unix.O_NONBLOCK); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// lockExclusive takes the supervisor's lock. A tool asking whether the
// service is supervised the way s6-svok does holds a shared lock for an
// instant; that must not make the supervisor give up, so a busy lock is
// tried again for a little while before it counts as another supervisor's.
func lockExclusive(fd int) error {
	var err error
	for wait := time.Millisecond; wait <= 32*time.Millisecond; wait *= 2 {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		time.Sleep(wait)
	}
	return err
}

// makeDir creates a supervise directory; a dangling symlink gets its target.
func makeDir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	target, lerr := os.Readlink(dir)
	if lerr != nil {
		return nil // a real directory, already there
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(dir), target)
	}
	return os.MkdirAll(target, 0o755)
}

// openFIFO makes the FIFO name in the directory if need be, and opens it.
func (s *Supervise) openFIFO(name string, flag int) (int, error) {
	path := filepath.Join(s.Dir, name)
	if err := unix.Mkfifoat(s.dirFd, name, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &os.PathError{Op: "mkfifo", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(s.dirFd, name, &st, 0); err != nil {
		return -1, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return -1, fmt.Errorf("%s exists and is not a FIFO", path)
	}
	fd, err := unix.Openat(s.dirFd, name, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// WriteStatus writes status, stat and (when the pid changed) pid, each
// atomically, as runsv's update_status does.
func (s *Supervise) WriteStatus(st Status, wantExit bool) error {
	if !s.wrote || st.Pid != s.lastPid {
		text := ""
		if st.Pid != 0 {
			text = strconv.Itoa(st.Pid) + "\n"
		}
		if err := s.replace("pid", []byte(text)); err != nil {
			return err
		}
		s.lastPid, s.wrote = st.Pid, true
	}
	if err := s.replace("stat", []byte(st.StatText(wantExit))); err != nil {
		return err
	}
	return s.replace("status", st.Encode())
}

// WriteState writes state.json atomically.
func (s *Supervise) WriteState(st *State) error {
	data, err := encodeState(st)
	if err != nil {
		return err
	}
	return s.replace(StateFile, data)
}

// replace writes the status file name the way runsv does: into
// NAME.new, renamed over NAME, so that a reader sees the old content or
// the new. Unlike the suite's other files (safefile, renameio) it is not
// fsynced: status files describe processes that a reboot ends anyway, and
// live in /run, and a sync per file would make every service taken up
// wait for the disk several times over. Only the supervisor holding
// supervise/lock writes here, so
// one fixed temporary name is safe, and a crash leaves at most one
// NAME.new behind. Plain system calls: os.OpenFile would try (and fail)
// to put a regular file in Go's poller, five more calls per write.
func (s *Supervise) replace(name string, data []byte) error {
	return s.renameInto(name, "write", func(tmp string) error { return writeAt(s.dirFd, tmp, data) })
}

// renameInto makes NAME.new in the directory with create, and renames it
// over NAME; on failure NAME.new goes and NAME is as it was.
func (s *Supervise) renameInto(name, op string, create func(tmp string) error) error {
	tmp := name + ".new"
	err := create(tmp)
	if err == nil {
		err = unix.Renameat(s.dirFd, tmp, s.dirFd, name)
	}
	if err != nil {
		unix.Unlinkat(s.dirFd, tmp, 0)
		return &os.PathError{Op: op, Path: filepath.Join(s.Dir, name), Err: err}
	}
	return nil
}

func writeAt(dirFd int, name string, data []byte) error {
	fd, err := unix.Openat(dirFd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	for len(data) > 0 && err == nil {
		var n int
		n, err = unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			err = nil
		}
		data = data[max(n, 0):]
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

// MarkExec records in the directory that the process pid has just exec'd
// the daemon (see the package function MarkExec): a symlink made under a
// temporary name and renamed over the mark, relative to the directory.
func (s *Supervise) MarkExec(pid int) error {
	return s.renameInto(ExecFile, "mark exec", func(tmp string) error {
		unix.Unlinkat(s.dirFd, tmp, 0) // one a crash left
		return unix.Symlinkat(strconv.Itoa(pid), s.dirFd, tmp)
	})
}

// Close releases the directory: clients see the supervisor gone (the ok
// FIFO loses its reader) and another supervisor may take the lock.
func (s *Supervise) Close() {
	if s.Control != nil {
		s.Control.Close()
	}
	for _, fd := range []*int{&s.ok, &s.lock, &s.dirFd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// StateFile is what sv-scan keeps beside runit's status files.
const StateFile = "state.json"

// State is what the 20 status bytes cannot say.
type State struct {
	Service       string    `json:"service"`
	Supervisor    string    `json:"supervisor"`
	SupervisorPid int       `json:"supervisor_pid"`
	Phase         string    `json:"phase"`              // see Phase*
	Want          string    `json:"want"`               // up, down, exit
	Oneshot       bool      `json:"oneshot,omitempty"`  // SVC_TYPE=oneshot: it succeeds by exiting 0 (done)
	App           string    `json:"app,omitempty"`      // SVC_GROUP_NAME: its application
	Required      bool      `json:"required,omitempty"` // SVC_REQUIRED: its failure is a major one of the application
	Pid           int       `json:"pid,omitempty"`
	PidStart      uint64    `json:"pid_start,omitempty"` // /proc start time, to know the pid again
	Since         time.Time `json:"since"`               // when the phase began
	Started       time.Time `json:"started,omitzero"`    // when the running process started
	Ready         bool      `json:"ready"`
	ReadyAt       time.Time `json:"ready_at,omitzero"`
	Restarts      int       `json:"restarts"`
	LastExit      *Exit     `json:"last_exit,omitempty"`
	Fatal         string    `json:"fatal,omitempty"`         // why it was given up
	Error         string    `json:"error,omitempty"`         // the last start or readiness failure
	Waiting       string    `json:"waiting,omitempty"`       // why it does not start yet (waiting, blocked)
	Health        string    `json:"health,omitempty"`        // healthy or unhealthy (SVC_HEALTH), once checked
	HealthOutput  string    `json:"health_output,omitempty"` // the last check's failure
	NextStart     time.Time `json:"next_start,omitzero"`
	Cgroup        string    `json:"cgroup,omitempty"`
	Log           *LogState `json:"log,omitempty"`
}

// Phases of a service, finer than runit's down/run/finish.
const (
	PhaseDown     = "down"     // not running, not scheduled
	PhaseStarting = "starting" // running, not ready yet
	PhaseUp       = "up"       // running and ready
	PhaseStopping = "stopping" // asked to stop, not gone yet
	PhaseDraining = "draining" // ./run exited; what it forked is being stopped
	PhaseFinish   = "finish"   // ./finish runs
	PhaseBackoff  = "backoff"  // down, restarting at NextStart
	PhaseFatal    = "fatal"    // given up; an explicit up starts it again
	PhaseWaiting  = "waiting"  // to start once what it depends on is ready
	PhaseBlocked  = "blocked"  // to start, but a service it needs failed, is down or absent
	PhaseDone     = "done"     // a oneshot that exited 0
)

// Exit is how the daemon last ended.
type Exit struct {
	Code    int       `json:"code"`             // -1 when killed by a signal
	Signal  string    `json:"signal,omitempty"` // e.g. "SIGSEGV"
	Unknown bool      `json:"unknown,omitempty"`
	At      time.Time `json:"at"`
	Uptime  float64   `json:"uptime"` // seconds it ran
	// Expected: the run ended as asked (a stop, a restart) or as the
	// service does (a oneshot's exit 0); else it failed.
	Expected bool `json:"expected,omitempty"`
}

// LogState is the health of the service's log.
type LogState struct {
	Kind    string    `json:"kind"` // builtin, or the log/run program
	Dir     string    `json:"dir,omitempty"`
	Error   string    `json:"error,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Dropped uint64    `json:"dropped,omitempty"` // lines lost since it last worked
	Pending int       `json:"pending,omitempty"` // bytes waiting in memory
}

// ReadState reads the state.json of a supervise directory. Like every
// status file, it must be a regular file of at most safefile.StateLimit.
func ReadState(dir string) (*State, error) {
	data, err := safefile.ReadFile(filepath.Join(dir, StateFile), safefile.StateLimit)
	if err != nil {
		return nil, err
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return st, nil
}

// ReadStatus reads a status file of any family.
func ReadStatus(dir string) (Decoded, error) {
	data, err := safefile.ReadFile(filepath.Join(dir, "status"), safefile.StateLimit)
	if err != nil {
		return Decoded{}, err
	}
	return DecodeStatus(data)
}

// SendControl writes letters to a service's control FIFO without blocking,
// as runit's sv does. A service with no supervisor is ErrNotSupervised.
func SendControl(serviceDir, letters string) error {
	return WriteFIFO(filepath.Join(serviceDir, "supervise", "control"), letters)
}

// WriteFIFO writes to a control FIFO (a service's, or a scanner's) without
// blocking. No reader, or no FIFO, is ErrNotSupervised.
func WriteFIFO(path, letters string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENOENT):
		return ErrNotSupervised
	case err != nil:
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(letters)); err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}
