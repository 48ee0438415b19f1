package svctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/catalog"
	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/layout"
	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/safefile"
	"github.com/supervision-suite/supervision/internal/svdir"
	"github.com/supervision-suite/supervision/internal/svlog"
)

// LogDir finds where a service's log is written: what sv-scan reports, else
// LOG_DIR from its OPTIONS.
func LogDir(svc Service) (string, error) {
	if st, err := svdir.ReadState(filepath.Join(svc.Dir, "supervise")); err == nil && st.Log != nil {
		switch {
		case st.Log.Dir != "":
			return st.Log.Dir, nil
		case st.Log.Kind == "console":
			return "", fmt.Errorf("%s: its lines go to the scanner's standard output (LOG=console, or sv-scan --console): there is no log directory to read", svc.Name)
		}
	}
	dir, err := filepath.EvalSymlinks(svc.Dir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", svc.Name, unwrapPath(err))
	}
	svDir := filepath.Dir(dir)
	l := &options.Loader{SvDir: svDir, Root: layout.RootOf(svDir), Profile: os.Getenv("SV_PROFILE"),
		Catalog: catalog.New(filepath.Join(svDir, ".opt", "catalog"))}
	loaded, err := l.Load(filepath.Base(dir))
	if err != nil {
		return "", fmt.Errorf("%s: no log directory known: its OPTIONS do not load", svc.Name)
	}
	switch kind := loaded.Config.Log.Kind; kind {
	case options.LogNone, options.LogSyslog, options.LogCustom, options.LogConsole:
		return "", fmt.Errorf("%s: LOG=%s: there is no log directory to read", svc.Name, kind)
	}
	return loaded.Config.Log.Dir, nil
}

// Tail writes the last n lines of the log in dir: current, and the rotated
// files before it when current holds fewer. The log directory is its
// logger's user's: a FIFO or a device there is refused, not waited on
// (the logger bounds the size of what it writes, LOG_SIZE).
func Tail(dir string, n int, w io.Writer) error {
	data, err := svlog.Tail(dir, n)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// Follow writes what is appended to the log from now on, across rotations,
// until ctx ends. It waits on inotify, not on a timer.
func Follow(ctx context.Context, dir string, w io.Writer) error {
	watch, err := inotify.New()
	if err != nil {
		return err
	}
	defer watch.Close()
	if err := watch.Add(dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM); err != nil {
		return err
	}
	cur, err := safefile.Open(filepath.Join(dir, "current"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if cur != nil {
		cur.Seek(0, io.SeekEnd)
		defer func() { cur.Close() }()
	}
	for {
		if cur != nil {
			if _, err := io.Copy(w, cur); err != nil {
				return err
			}
		}
		// A new current after a rotation: finish the old one, then switch.
		if fi, err := os.Stat(filepath.Join(dir, "current")); err == nil {
			if old, _ := statOf(cur); cur == nil || !os.SameFile(fi, old) {
				if cur != nil {
					io.Copy(w, cur)
					cur.Close()
				}
				if cur, err = safefile.Open(filepath.Join(dir, "current")); err != nil {
					return err
				}
				continue
			}
		}
		if _, err := watch.Next(ctx, -1); err != nil {
			return nil // ctx ended: the follow is over
		}
	}
}

func statOf(f *os.File) (os.FileInfo, error) {
	if f == nil {
		return nil, errors.New("no file")
	}
	return f.Stat()
}
