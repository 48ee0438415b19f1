package ready

import (
	"bytes"
	"context"
	"os"
)

// ReadLine calls ready when a newline arrives on r, the read end of the
// pipe at the daemon's fd N (s6's notification-fd protocol); a pipe closed
// without one means no readiness. It returns then, or when ctx ends; r is
// closed when ctx ends, which is what unblocks a read.
func ReadLine(ctx context.Context, r *os.File, ready func()) {
	go func() { <-ctx.Done(); r.Close() }()
	buf := make([]byte, 256)
	for {
		n, err := r.Read(buf)
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			ready()
			return
		}
		if err != nil {
			return
		}
	}
}
