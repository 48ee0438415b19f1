package svlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// Tail is the last n lines of the log in dir: current, and the rotated
// files before it when current holds fewer. It reads only the end of each
// file (at most n lines of MaxLine), and refuses a FIFO or a device in
// the log directory rather than wait on it.
func Tail(dir string, n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	files, err := Rotated(dir)
	if err != nil {
		return nil, err
	}
	files = append(files, filepath.Join(dir, "current"))
	var lines [][]byte
	for i := len(files) - 1; i >= 0 && len(lines) < n; i-- {
		got, err := lastLines(files[i], n-len(lines))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		lines = append(got, lines...)
	}
	return bytes.Join(lines, nil), nil
}

// lastLines reads the last n lines of a file, each with its newline (the
// last may have none).
func lastLines(path string, n int) ([][]byte, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// Read back from the end, more each time, until n lines are there:
	// each line is at most MaxLine, with a stamp and a newline.
	limit := min(fi.Size(), int64(n)*(MaxLine+64))
	var buf []byte
	for want := min(limit, 8<<10); ; want = min(limit, want*4) {
		buf = make([]byte, want)
		if _, err := f.ReadAt(buf, fi.Size()-want); err != nil && err != io.EOF {
			return nil, err
		}
		if want == limit || bytes.Count(buf, []byte("\n")) > n {
			break
		}
	}
	want := int64(len(buf))
	got := bytes.SplitAfter(buf, []byte("\n"))
	if len(got) > 0 && len(got[len(got)-1]) == 0 {
		got = got[:len(got)-1]
	}
	if want < fi.Size() && len(got) > 0 {
		got = got[1:] // the first was cut by where the read began
	}
	if len(got) > n {
		got = got[len(got)-n:]
	}
	return got, nil
}
