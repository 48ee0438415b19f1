package httpd

import (
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/svctl"
)

// model is the services' state as the server answers it: each service's
// Info, read again only when its supervise/state.json or status changed
// (a stat of each, where a read is a dozen system calls and a JSON
// decode), or when an event named it. A listing of 1,000 services so
// costs 2,000 stats, not 1,000 reads.
type model struct {
	res   svctl.Resolver
	mu    sync.Mutex
	cache map[string]*entry // by service name
}

type entry struct {
	key  [2]fileKey
	info svctl.Info
}

// fileKey tells a file written again: sv-scan replaces state.json and
// status by a rename, so each write is a new inode.
type fileKey struct {
	ino, size uint64
	mtime     int64
}

func newModel(res svctl.Resolver) *model {
	return &model{res: res, cache: map[string]*entry{}}
}

// forget drops what is held of a service: an event named it.
func (m *model) forget(name string) {
	m.mu.Lock()
	delete(m.cache, name)
	m.mu.Unlock()
}

// all is every service of the scan dir, by name, with its state.
func (m *model) all() ([]svctl.Service, []svctl.Info, []error, error) {
	svcs, err := m.res.All()
	if err != nil {
		return nil, nil, nil, err
	}
	infos, errs := m.statuses(svcs)
	return svcs, infos, errs, nil
}

// statuses is svctl.Statuses, from what is held where it is current.
func (m *model) statuses(svcs []svctl.Service) ([]svctl.Info, []error) {
	infos, errs := make([]svctl.Info, len(svcs)), make([]error, len(svcs))
	keys := make([][2]fileKey, len(svcs))
	var stale []int
	now := time.Now()
	m.mu.Lock()
	for i, svc := range svcs {
		keys[i] = keyOf(svc.Dir)
		e := m.cache[svc.Name]
		if e == nil || e.key != keys[i] || e.info.Dir != svc.Dir || keys[i][0].ino == 0 {
			stale = append(stale, i)
			continue
		}
		infos[i] = e.info
		infos[i].Uptime = now.Sub(e.info.Since).Seconds()
	}
	m.mu.Unlock()
	if len(stale) == 0 {
		return infos, errs
	}
	todo := make([]svctl.Service, len(stale))
	for j, i := range stale {
		todo[j] = svcs[i]
	}
	read, readErrs := svctl.Statuses(todo)
	m.mu.Lock()
	defer m.mu.Unlock()
	for j, i := range stale {
		infos[i], errs[i] = read[j], readErrs[j]
		if readErrs[j] == nil && keys[i][0].ino != 0 && read[j].Supervisor == "sv-scan" {
			m.cache[svcs[i].Name] = &entry{key: keys[i], info: read[j]}
		}
	}
	return infos, errs
}

// one is the state of one service.
func (m *model) one(svc svctl.Service) (svctl.Info, error) {
	infos, errs := m.statuses([]svctl.Service{svc})
	return infos[0], errs[0]
}

func keyOf(dir string) [2]fileKey {
	var k [2]fileKey
	for i, name := range []string{"state.json", "status"} {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, "supervise", name), &st) == nil {
			k[i] = fileKey{ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano()}
		}
	}
	return k
}
