package httpd

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svctl"
	"github.com/supervision-suite/supervision/internal/svdir"
)

// model is the services' state as the server answers it: the scan dir's
// listing and each service's Info, held until inotify says they changed.
// Its inotify instance is its own, read without blocking at the start of
// each request: a change made before a request began (sv-scan renames a
// new state.json into place) is in the queue by then, so an answer is
// never older than the request, and a listing of 1,000 unchanged
// services costs one read(2), not 1,000 stats or reads.
type model struct {
	res svctl.Resolver

	mu      sync.Mutex
	fd      int   // the inotify instance; -1 without one: every answer reads
	scanWd  int32 // the scan dir's watch
	listed  []svctl.Service
	listOK  bool
	byWd    map[int32]string // a supervise dir's watch: its service
	cache   map[string]svctl.Info
	scratch []byte
	reads   int // services read from their files, for the tests
}

// The events that say something changed: in the scan dir, a link made or
// removed; in a supervise dir, a file written or renamed into place (or
// the directory gone).
const (
	scanMask      = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	superviseMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
)

func newModel(res svctl.Resolver) *model {
	m := &model{res: res, fd: -1, byWd: map[int32]string{}, cache: map[string]svctl.Info{}, scratch: make([]byte, 64<<10)}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return m
	}
	wd, err := unix.InotifyAddWatch(fd, res.ScanDir, scanMask)
	if err != nil {
		unix.Close(fd)
		return m
	}
	m.fd, m.scanWd = fd, int32(wd)
	return m
}

// forget drops what is held of a service: an event named it.
func (m *model) forget(name string) {
	m.mu.Lock()
	delete(m.cache, name)
	m.mu.Unlock()
}

// drain takes the changes inotify queued and forgets what they touch.
// Called with m.mu held.
func (m *model) drain() {
	if m.fd < 0 {
		m.listOK = false
		clear(m.cache)
		return
	}
	for {
		n, err := unix.Read(m.fd, m.scratch)
		if n <= 0 || err != nil {
			if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				m.forgetAll() // the instance failed: read everything again
			}
			return
		}
		m.apply(m.scratch[:n])
	}
}

func (m *model) apply(buf []byte) {
	for len(buf) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(buf[0:]))
		mask := binary.NativeEndian.Uint32(buf[4:])
		size := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[12:]))
		file := unix.ByteSliceToString(buf[unix.SizeofInotifyEvent:min(size, len(buf))])
		buf = buf[min(size, len(buf)):]
		switch {
		case mask&unix.IN_Q_OVERFLOW != 0:
			m.forgetAll()
		case wd == m.scanWd:
			m.listOK = false
		default:
			name, ok := m.byWd[wd]
			if !ok || !stateEvent(mask, file) {
				continue
			}
			delete(m.cache, name)
			if mask&unix.IN_IGNORED != 0 { // the watch is gone with its dir
				delete(m.byWd, wd)
			}
		}
	}
}

// stateEvent: an event in a supervise dir that may change what Status
// reads: status, state.json or the exec mark replaced, or the directory
// itself gone. Not the FIFOs: reading a state opens supervise/ok, and
// must not forget the state it reads.
func stateEvent(mask uint32, file string) bool {
	return file == "" || mask&unix.IN_IGNORED != 0 || file == "status" || file == svdir.StateFile || file == svdir.ExecFile
}

// forgetAll: events were lost; everything is read again.
func (m *model) forgetAll() {
	m.listOK = false
	clear(m.cache)
}

// list is every service of the scan dir, by name.
func (m *model) list() ([]svctl.Service, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drain()
	if !m.listOK {
		svcs, err := m.res.All()
		if err != nil {
			return nil, err
		}
		m.listed, m.listOK = svcs, m.fd >= 0
	}
	return m.listed, nil
}

// all is every service of the scan dir, by name, with its state.
func (m *model) all() ([]svctl.Service, []svctl.Info, []error, error) {
	svcs, err := m.list()
	if err != nil {
		return nil, nil, nil, err
	}
	infos, errs := m.statuses(svcs)
	return svcs, infos, errs, nil
}

// statuses is svctl.Statuses, from what is held where nothing changed.
func (m *model) statuses(svcs []svctl.Service) ([]svctl.Info, []error) {
	infos, errs := make([]svctl.Info, len(svcs)), make([]error, len(svcs))
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drain()
	var stale []int
	for i, svc := range svcs {
		info, ok := m.cache[svc.Name]
		if !ok || info.Dir != svc.Dir {
			stale = append(stale, i)
			continue
		}
		info.Uptime = now.Sub(info.Since).Seconds()
		infos[i] = info
	}
	if len(stale) == 0 {
		return infos, errs
	}
	// Watched before they are read: a change made during the read is an
	// event the next request drains.
	todo := make([]svctl.Service, len(stale))
	watched := make([]bool, len(stale))
	for j, i := range stale {
		todo[j], watched[j] = svcs[i], m.watch(svcs[i])
	}
	read, readErrs := svctl.Statuses(todo)
	m.reads += len(todo)
	for j, i := range stale {
		infos[i], errs[i] = read[j], readErrs[j]
		if watched[j] && readErrs[j] == nil && read[j].Supervisor == "sv-scan" {
			m.cache[svcs[i].Name] = read[j]
		}
	}
	return infos, errs
}

// watch has inotify watch the service's supervise dir (through the link
// to it); false when it cannot (none yet, or no more watches).
func (m *model) watch(svc svctl.Service) bool {
	if m.fd < 0 {
		return false
	}
	wd, err := unix.InotifyAddWatch(m.fd, filepath.Join(svc.Dir, "supervise"), superviseMask)
	if err != nil {
		return false
	}
	m.byWd[int32(wd)] = svc.Name
	return true
}

// one is the state of one service; one that cannot be read says why.
func (m *model) one(svc svctl.Service) svctl.Info {
	infos, errs := m.statuses([]svctl.Service{svc})
	if errs[0] != nil {
		return svctl.Unknown(svc, errs[0])
	}
	return infos[0]
}
