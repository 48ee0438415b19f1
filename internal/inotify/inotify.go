// Package inotify is how the suite waits for files without polling: one
// inotify instance shared among every wait of a process, and waits for
// paths to appear and mount points to be mounted (wait.go).
//
// Closing an inotify instance waits for the kernel's fsnotify mark reaper
// whenever marks were dropped shortly before, by this instance or any
// other: an SRCU grace period, milliseconds, paid by every wait that made
// and closed an instance of its own, where adding and removing a watch
// costs microseconds. So a Watch adds its watches to the one instance of
// the process and removes them when closed, and one goroutine reads the
// instance and hands each Watch the events of its own watches. The
// process still closes the instance as it exits, and may wait then: a
// client that must exit quickly (sv-rc stop) uses no inotify at all.
package inotify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// always are the events every watch of a watch descriptor is told of,
// whatever it asked for: the watch ended, or events were lost.
const always = unix.IN_IGNORED | unix.IN_Q_OVERFLOW | unix.IN_UNMOUNT

// Watch is a set of watches on the process's inotify instance, with the
// events they caught since last asked. It is for one goroutine at a time.
type Watch struct {
	in   *instance
	wds  map[int32]bool
	wake chan struct{} // holds a token while events are pending

	mu      sync.Mutex
	pending []byte // raw struct inotify_event records
}

// instance is the process's inotify instance: who watches each watch
// descriptor, and with what mask. Several Watches of one file share its
// descriptor (the kernel gives one per inode and instance).
type instance struct {
	fd   int
	file *os.File
	mu   sync.Mutex
	subs map[int32]map[*Watch]uint32
}

var (
	once    sync.Once
	shared  *instance
	initErr error
)

func get() (*instance, error) {
	once.Do(func() {
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			initErr = fmt.Errorf("inotify: %w", err)
			return
		}
		// Non-blocking: os.File reads it through Go's poller, so the
		// reader holds no thread while nothing happens.
		shared = &instance{fd: fd, file: os.NewFile(uintptr(fd), "inotify"), subs: map[int32]map[*Watch]uint32{}}
		go shared.read()
	})
	return shared, initErr
}

// Release closes the process's instance, if it made one, and so waits here
// for what closing it costs; for a process about to exec another program,
// whose exec would close it (close-on-exec) and wait inside the execve.
// No Watch is to be used after.
func Release() {
	once.Do(func() { initErr = errors.New("inotify: released") })
	if shared != nil {
		shared.file.Close()
	}
}

// New returns an empty Watch.
func New() (*Watch, error) {
	in, err := get()
	if err != nil {
		return nil, err
	}
	return &Watch{in: in, wds: map[int32]bool{}, wake: make(chan struct{}, 1)}, nil
}

// Add watches path for the events of mask (IN_* flags). Adding a path
// again, or another name of a file already watched, adds to its mask.
func (w *Watch) Add(path string, mask uint32) error {
	in := w.in
	in.mu.Lock()
	defer in.mu.Unlock()
	// IN_MASK_ADD: the descriptor may be shared with other Watches, whose
	// events must go on.
	wd, err := unix.InotifyAddWatch(in.fd, path, mask|unix.IN_MASK_ADD)
	if err != nil {
		return &os.PathError{Op: "inotify watch", Path: path, Err: err}
	}
	id := int32(wd)
	subs := in.subs[id]
	if subs == nil {
		subs = map[*Watch]uint32{}
		in.subs[id] = subs
	}
	subs[w] |= mask
	w.wds[id] = true
	return nil
}

// Next returns the events caught since it was last called, as raw struct
// inotify_event records, waiting for some at most timeout (negative: no
// limit); none when the time is up. ctx ending is an error.
func (w *Watch) Next(ctx context.Context, timeout time.Duration) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-w.wake:
	case <-expire:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.pending
	w.pending = nil
	select { // a token for what Next takes now is stale
	case <-w.wake:
	default:
	}
	return ev, nil
}

// Wake holds a token while events are pending, for a caller that waits on
// more than this Watch: it selects on Wake, then takes the events with
// Next(ctx, 0).
func (w *Watch) Wake() <-chan struct{} { return w.wake }

// Close removes the watches that no other Watch shares. The Watch is not
// to be used after.
func (w *Watch) Close() {
	in := w.in
	in.mu.Lock()
	defer in.mu.Unlock()
	for wd := range w.wds {
		subs := in.subs[wd]
		delete(subs, w)
		if len(subs) == 0 && subs != nil {
			delete(in.subs, wd)
			unix.InotifyRmWatch(in.fd, uint32(wd))
		}
	}
	w.wds = nil
}

// read hands each event to the Watches of its descriptor, for the life of
// the process.
func (in *instance) read() {
	buf := make([]byte, 64*1024)
	for {
		n, err := in.file.Read(buf)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return // the instance is gone: waits end at their timeouts
		}
		in.route(buf[:n])
	}
}

func (in *instance) route(buf []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, rec := range Records(buf) {
		wd := int32(binary.NativeEndian.Uint32(rec[0:]))
		mask := binary.NativeEndian.Uint32(rec[4:])
		if mask&unix.IN_Q_OVERFLOW != 0 { // events lost: everyone looks again
			for _, subs := range in.subs {
				for w := range subs {
					w.deliver(rec)
				}
			}
			continue
		}
		for w, want := range in.subs[wd] {
			if mask&(want|always) != 0 {
				w.deliver(rec)
			}
		}
		if mask&unix.IN_IGNORED != 0 { // the kernel dropped the watch
			for w := range in.subs[wd] {
				delete(w.wds, wd)
			}
			delete(in.subs, wd)
		}
	}
}

func (w *Watch) deliver(rec []byte) {
	w.mu.Lock()
	w.pending = append(w.pending, rec...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Event is one inotify event, read.
type Event struct {
	Wd   int32
	Mask uint32
	Name string // in the watched directory; "" for the watched file itself
}

// Events reads the events of a buffer of records; whole is false when the
// buffer ends in a record cut short (some event may be missing).
func Events(buf []byte) (evs []Event, whole bool) {
	n := 0
	for _, rec := range Records(buf) {
		evs = append(evs, Event{
			Wd:   int32(binary.NativeEndian.Uint32(rec[0:])),
			Mask: binary.NativeEndian.Uint32(rec[4:]),
			Name: unix.ByteSliceToString(rec[unix.SizeofInotifyEvent:]),
		})
		n += len(rec)
	}
	return evs, n == len(buf)
}

// Records splits a buffer read from an inotify instance into its struct
// inotify_event records (wd, mask, cookie, len, then len bytes of
// NUL-padded name). A record cut short ends the list.
func Records(buf []byte) [][]byte {
	var out [][]byte
	for len(buf) >= unix.SizeofInotifyEvent {
		end := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[12:]))
		if end > len(buf) || end < unix.SizeofInotifyEvent {
			break
		}
		out = append(out, buf[:end:end])
		buf = buf[end:]
	}
	return out
}
