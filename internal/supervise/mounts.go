package supervise

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/deps"
	"github.com/supervision-suite/supervision/internal/inotify"
)

// mountWatch is how services wait for SVC_WAIT_MOUNT in sv-scan itself:
// a service whose mount is not there waits (`waiting: mount PATH`), and
// every change of the mount table has each waiting service look again.
// The kernel wakes whoever polls /proc/self/mountinfo at each change.
// It says so with POLLPRI, but only to the first poll after the change,
// which an epoll nested in another (the scanner's poller, inside Go's)
// spends; so the file is in Go's own poller, edge-triggered on the
// readability it always has: each wake-up is one event. A goroutine
// waits there, for the scanner, once the first service waits for a mount.
type mountWatch struct {
	once    sync.Once
	err     error
	mu      sync.Mutex
	waiting map[*service]bool
}

// watch starts watching the mount table, once.
func (m *mountWatch) watch() error {
	m.once.Do(func() {
		f, err := os.OpenFile("/proc/self/mountinfo", os.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			m.err = err
			return
		}
		rc, err := f.SyscallConn()
		if err != nil {
			f.Close()
			m.err = err
			return
		}
		go func() {
			first := true
			rc.Read(func(uintptr) bool {
				if !first {
					m.wake()
				}
				first = false
				return false // wait for the next change, for good
			})
		}()
	})
	return m.err
}

// wait records whether svc waits for a mount.
func (m *mountWatch) wait(svc *service, waits bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case waits && m.waiting == nil:
		m.waiting = map[*service]bool{svc: true}
	case waits:
		m.waiting[svc] = true
	default:
		delete(m.waiting, svc)
	}
}

// wake has every waiting service look again.
func (m *mountWatch) wake() {
	m.mu.Lock()
	to := make([]*service, 0, len(m.waiting))
	for svc := range m.waiting {
		to = append(to, svc)
	}
	m.mu.Unlock()
	notify(to)
}

// mountGate: whether the service's SVC_WAIT_MOUNT points are all mounted.
// Where the mount table cannot be watched, sv-exec waits for them
// instead, as under the other supervisors.
func (s *service) mountGate() deps.Verdict {
	var points []string
	if o := s.cfg.svc; o != nil {
		points = o.Config.Wait.Mounts
	}
	m := &s.sc.mounts
	if len(points) == 0 {
		m.wait(s, false)
		return deps.Verdict{Start: true}
	}
	if err := m.watch(); err != nil {
		return deps.Verdict{Start: true}
	}
	m.wait(s, true) // before the look: a mount made meanwhile wakes it
	missing, err := inotify.Unmounted(points)
	if err != nil || missing == "" {
		m.wait(s, false)
		return deps.Verdict{Start: true}
	}
	return deps.Verdict{Reason: "mount " + missing}
}
