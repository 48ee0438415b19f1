// Package poller waits for many descriptors in one goroutine and calls
// each one's handler when it is readable. sv-scan watches every control
// FIFO, pidfd and log pipe of its services through one Poller, so that a
// quiet service costs no goroutine, and so no stack, at all.
//
// The Poller is an epoll instance that Go's own poller watches: the
// goroutine that dispatches is parked, holding no thread, until one of
// the descriptors is ready.
package poller

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Next is what a handler wants after it ran.
type Next int

const (
	// Again: call the handler again when the descriptor is readable.
	Again Next = iota
	// Later: not until Watch.Resume (the handler handed the work on).
	Later
	// Done: never again; the watch is stopped as by Watch.Stop.
	Done
)

// Handler is called on the Poller's goroutine when its descriptor is
// readable, or has hung up or failed (the handler finds out by reading).
// It must not block: what may take time goes to a goroutine of its own,
// with Later.
type Handler func() Next

// Poller dispatches readiness to handlers.
type Poller struct {
	epfd *os.File // the epoll instance, non-blocking, in Go's poller
	raw  int

	mu      sync.Mutex
	watches map[uint64]*Watch
	nextKey uint64
}

// Watch is one descriptor being watched.
type Watch struct {
	p   *Poller
	key uint64
	fd  int
	h   Handler
	// owns: the watch closes fd when it stops.
	owns bool

	// mu is held while the handler runs: Stop waits for a call in
	// progress, so that fd is not closed under it.
	mu      sync.Mutex
	stopped bool
}

// New makes a Poller and starts its goroutine; Close ends it.
func New() (*Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll: set non-blocking: %w", err)
	}
	p := &Poller{epfd: os.NewFile(uintptr(fd), "epoll"), raw: fd, watches: map[uint64]*Watch{}}
	rc, err := p.epfd.SyscallConn()
	if err != nil {
		p.epfd.Close()
		return nil, err
	}
	go p.loop(rc)
	return p, nil
}

// Close stops the dispatch goroutine. Watches still open are not called
// again; their descriptors are left to their owners.
func (p *Poller) Close() error { return p.epfd.Close() }

// loop waits in Go's poller until the epoll instance has events, then
// takes and dispatches them all.
func (p *Poller) loop(rc interface {
	Read(func(fd uintptr) bool) error
}) {
	events := make([]unix.EpollEvent, 32)
	for {
		err := rc.Read(func(uintptr) bool {
			n, err := unix.EpollWait(p.raw, events, 0)
			if err != nil {
				return !errors.Is(err, unix.EINTR)
			}
			for _, ev := range events[:n] {
				p.dispatch(uint64(ev.Fd) | uint64(ev.Pad)<<32)
			}
			return false // drained: wait until there is more
		})
		if err != nil {
			return // closed
		}
	}
}

func (p *Poller) dispatch(key uint64) {
	p.mu.Lock()
	w := p.watches[key]
	p.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	next := w.h()
	switch next {
	case Again:
		w.arm(unix.EPOLL_CTL_MOD)
	case Done:
		w.stopLocked()
	}
	w.mu.Unlock()
}

// Add watches fd, a non-blocking descriptor, for readability: h is
// called once it is readable, then again each time it is after h
// returned Again. With owns, fd is closed when the watch stops.
func (p *Poller) Add(fd int, owns bool, h Handler) (*Watch, error) {
	p.mu.Lock()
	p.nextKey++
	w := &Watch{p: p, key: p.nextKey, fd: fd, h: h, owns: owns}
	p.watches[w.key] = w
	p.mu.Unlock()
	if err := w.arm(unix.EPOLL_CTL_ADD); err != nil {
		p.mu.Lock()
		delete(p.watches, w.key)
		p.mu.Unlock()
		return nil, err
	}
	return w, nil
}

// arm asks for one event of the descriptor (one-shot: a handler is never
// called twice at once, and Later holds further calls back).
func (w *Watch) arm(op int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(uint32(w.key)), Pad: int32(uint32(w.key >> 32))}
	if err := unix.EpollCtl(w.p.raw, op, w.fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// Resume calls the handler again once the descriptor is readable, after
// it returned Later.
func (w *Watch) Resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.arm(unix.EPOLL_CTL_MOD)
	}
}

// Stop ends the watch: once it returns, the handler is not running and
// will not be called again. It must not be called from the watch's own
// handler, which returns Done instead.
func (w *Watch) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLocked()
}

func (w *Watch) stopLocked() {
	if w.stopped {
		return
	}
	w.stopped = true
	unix.EpollCtl(w.p.raw, unix.EPOLL_CTL_DEL, w.fd, nil)
	w.p.mu.Lock()
	delete(w.p.watches, w.key)
	w.p.mu.Unlock()
	if w.owns {
		unix.Close(w.fd)
	}
}
