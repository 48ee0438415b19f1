package svlog

import (
	"fmt"
	"os"
	"testing"
)

// benchLines is 64 KiB-ish of the throughput bench's 84-byte lines,
// written by the benchmarks in pieces of 4 KiB, as seq writes them into a
// pipe (so most pieces begin and end inside a line).
func benchLines() []byte {
	var b []byte
	for i := 0; len(b) < 1<<20; i++ {
		b = fmt.Appendf(b, "line %09d abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz 0123456789abcd\n", i)
	}
	return b
}

// BenchmarkWrite is the logger's own work per byte, rotation on (1 MB, as
// the throughput bench), the input given in 4 KiB pieces.
func BenchmarkWrite(b *testing.B) {
	data := benchLines()
	for _, stamp := range []string{StampNone, StampISO, StampTAI64N} {
		b.Run(stamp, func(b *testing.B) {
			l, err := Open(Config{Dir: b.TempDir(), Size: 1000000, Files: 2, Stamp: stamp}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for p := data; len(p) > 0; {
					n := min(4096, len(p))
					l.Write(p[:n])
					p = p[n:]
				}
			}
		})
	}
}

// BenchmarkPump is Pump on a pipe that a writer fills in 4 KiB writes:
// the system calls per chunk and the logger's work together.
func BenchmarkPump(b *testing.B) {
	data := benchLines()
	for _, stamp := range []string{StampNone, StampISO} {
		b.Run(stamp, func(b *testing.B) {
			l, err := Open(Config{Dir: b.TempDir(), Size: 1000000, Files: 2, Stamp: stamp}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, w, err := os.Pipe()
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for p := data; len(p) > 0; {
						n := min(4096, len(p))
						w.Write(p[:n])
						p = p[n:]
					}
					w.Close()
				}()
				if err := l.Pump(int(r.Fd()), -1); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
