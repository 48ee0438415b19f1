package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/internal/options"
	"github.com/supervision-suite/supervision/internal/svlog"
)

const logLong = `sv-log reads a service's output on standard input and writes it to DIR as
svlogd does: lines appended to DIR/current, rotated by size into
@TAI64N.s files, keeping --files of them; tai64nlocal and grep on @*.s
work as with svlogd. It is the log/run program that LOG=builtin runs under
runit, s6 and daemontools (sv-scan does the same in-process).

No line is lost when sv-log is stopped or killed: bytes leave the pipe
only once written, and an unfinished line is written at once and
continued by the next sv-log. When DIR cannot be written, the newest lines
wait in memory (the oldest dropped past a bound), the failure is said on
stderr, and when writing works again a line tells how many were lost.

With --console NAME there is no DIR: each line goes to standard output
after NAME and ': ', whole (LOG=console: the supervisor's output, PID 1's
in a container).`

func newLogCmd() *cobra.Command {
	var size, stamp, console string
	var files int
	cmd := &cobra.Command{
		Use:   "log [flags] DIR | --console NAME",
		Short: "Write standard input to a rotated log directory (like svlogd)",
		Long:  logLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if console != "" {
				return exactArgs(0, "no DIR with --console")(cmd, args)
			}
			return exactArgs(1, "the log DIR")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if console != "" {
				l, _ := svlog.Open(svlog.Config{Console: svlog.NewConsole(cmd.OutOrStdout()), Prefix: console + ": "}, nil)
				return pumpUntilSignal(l)
			}
			n, err := options.ParseSize(size)
			if err != nil {
				return &usageError{fmt.Errorf("--size: %v", err)}
			}
			if stamp != svlog.StampNone && stamp != svlog.StampTAI64N && stamp != svlog.StampISO {
				return &usageError{fmt.Errorf("--timestamp %q: want none, tai64n or iso", stamp)}
			}
			stderr := cmd.ErrOrStderr()
			l, err := svlog.Open(svlog.Config{Dir: args[0], Size: n, Files: files, Stamp: stamp}, func(st svlog.Status) {
				if st.Error != "" {
					fmt.Fprintf(stderr, "sv-log %s: cannot write (%s); %d lines dropped so far, keeping the newest in memory\n", args[0], st.Error, st.Dropped)
				} else {
					fmt.Fprintf(stderr, "sv-log %s: writing again\n", args[0])
				}
			})
			if err != nil {
				return err
			}
			return pumpUntilSignal(l)
		},
	}
	cmd.Flags().StringVarP(&size, "size", "s", "1M", "rotate current at this `SIZE` (bytes, or with K, M, G)")
	cmd.Flags().IntVarP(&files, "files", "n", 10, "keep this many rotated files")
	cmd.Flags().StringVarP(&stamp, "timestamp", "t", "none", "prefix lines with a timestamp: none, tai64n or iso")
	cmd.Flags().StringVar(&console, "console", "", "no DIR: write each line to standard output after `NAME`: ")
	return cmd
}

// pumpUntilSignal copies standard input into l until its end or TERM, INT
// or HUP; then l is closed.
func pumpUntilSignal(l *svlog.Logger) error {
	defer l.Close()
	var stop [2]int
	if err := unix.Pipe2(stop[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		<-sigs
		unix.Write(stop[1], []byte{1})
	}()
	return l.Pump(0, stop[0])
}
