// WaitPaths and WaitMounts block until paths exist or mount points are
// mounted, woken by the kernel (inotify; POLLPRI on /proc/self/mountinfo)
// rather than by polling on a timer.
package inotify

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Paths returns once every path exists, or with an error naming the first
// missing one when ctx ends.
func WaitPaths(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	w, err := New()
	if err != nil {
		return err
	}
	defer w.Close()
	watched := map[string]bool{}
	for {
		missing := ""
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				missing = p
				break
			}
		}
		if missing == "" {
			return nil
		}
		// Watch the deepest directory that exists on the way to the missing
		// path, following symlinks (a dangling link's target appears in
		// another directory); once the next level appears, the loop watches
		// that one.
		dir := deepestExisting(missing)
		if !watched[dir] {
			const mask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
			if err := w.Add(dir, mask); err != nil {
				return err
			}
			watched[dir] = true
			continue // the path may have appeared before the watch existed
		}
		if _, err := w.Next(ctx, -1); err != nil {
			return &NotYetError{What: missing + " does not exist", Err: err}
		}
	}
}

// NotYetError says what was still missing when the wait ended.
type NotYetError struct {
	What string // "/run/x does not exist"
	Err  error  // why the wait ended: the context's error, or a poll error
}

func (e *NotYetError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *NotYetError) Unwrap() error { return e.Err }

// deepestExisting returns the deepest directory that exists on the way to
// the absolute path p, following symlinks: the directory in which the next
// missing component will be created, where a dangling link's target may be
// in quite another place than the link.
func deepestExisting(p string) string {
	for hops := 0; hops < 40; hops++ {
		parts := strings.Split(strings.TrimPrefix(filepath.Clean(p), "/"), "/")
		cur := "/"
		followed := false
		for i, c := range parts {
			next := filepath.Join(cur, c)
			fi, err := os.Lstat(next)
			if err != nil {
				return cur
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				target, err := os.Readlink(next)
				if err != nil {
					return cur
				}
				if !filepath.IsAbs(target) {
					target = filepath.Join(cur, target)
				}
				p = filepath.Join(append([]string{target}, parts[i+1:]...)...)
				followed = true
				break
			}
			if !fi.IsDir() {
				return cur // a file where a directory should be: watch its parent
			}
			cur = next
		}
		if !followed {
			return cur
		}
	}
	return "/" // a symlink loop: the deadline still bounds the wait
}

// waitReadable polls fd for the given events until ctx ends: by its
// deadline, or cancelled (an eventfd wakes the poll).
func waitReadable(ctx context.Context, fd int, events int16) error {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return err
	}
	defer unix.Close(wake)
	stop := context.AfterFunc(ctx, func() { unix.Write(wake, []byte{1, 0, 0, 0, 0, 0, 0, 0}) })
	defer stop()
	for {
		timeout := -1
		if dl, ok := ctx.Deadline(); ok {
			timeout = int(time.Until(dl).Milliseconds()) + 1
			if timeout <= 0 {
				return ctx.Err()
			}
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}, {Fd: int32(wake), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n > 0 && pfd[0].Revents != 0 {
			return nil
		}
	}
}

// Mounts returns once every path is a mount point in this mount namespace.
// The kernel marks /proc/self/mountinfo with POLLPRI when the mount table
// changes, so the wait costs nothing.
func WaitMounts(ctx context.Context, points []string) error {
	if len(points) == 0 {
		return nil
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		mounted, err := mountPoints(f)
		if err != nil {
			return err
		}
		missing := firstMissing(mounted, points)
		if missing == "" {
			return nil
		}
		if err := waitReadable(ctx, int(f.Fd()), unix.POLLPRI); err != nil {
			return &NotYetError{What: missing + " is not mounted", Err: err}
		}
	}
}

// Unmounted returns the first of points that is not a mount point in this
// mount namespace now, or "".
func Unmounted(points []string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	mounted, err := mountPoints(f)
	if err != nil {
		return "", err
	}
	return firstMissing(mounted, points), nil
}

func firstMissing(mounted map[string]bool, points []string) string {
	for _, p := range points {
		if !mounted[filepath.Clean(p)] {
			return p
		}
	}
	return ""
}

// mountPoints reads the mount point field (the 5th) of mountinfo.
func mountPoints(r io.Reader) (map[string]bool, error) {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 {
			out[unescapeMount(fields[4])] = true
		}
	}
	return out, sc.Err()
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}
