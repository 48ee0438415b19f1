package testscript_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ptyexpectMain is ptyexpect REGEXP CMD ARGS...: it opens a pseudo-terminal,
// runs CMD with the terminal's path in $PTY_SLAVE, and reads what CMD writes
// to the terminal until REGEXP matches (exit 0) or 20 s pass (exit 1). It
// prints what it read, then ends CMD by its pid. A getty becomes a session
// leader, but keeps CMD's pid when CMD execs it.
func ptyexpectMain() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: ptyexpect REGEXP CMD [ARGS...]")
		os.Exit(2)
	}
	re := regexp.MustCompile(os.Args[1])
	master, slave, err := openPTY()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ptyexpect:", err)
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Env = append(os.Environ(), "PTY_SLAVE="+slave)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ptyexpect:", err)
		os.Exit(2)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}()
	got := readUntil(master, re, time.Now().Add(20*time.Second))
	fmt.Printf("%q\n", got)
	if !re.Match(got) {
		fmt.Fprintf(os.Stderr, "ptyexpect: no match for %q after 20s\n", os.Args[1])
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		os.Exit(1)
	}
}

func openPTY() (int, string, error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", err
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		return -1, "", err
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		return -1, "", err
	}
	return m, "/dev/pts/" + strconv.Itoa(int(n)), nil
}

// readUntil reads the master side until re matches or the deadline. While
// no one has the slave open, reads fail with EIO: that is waiting too.
func readUntil(fd int, re *regexp.Regexp, deadline time.Time) []byte {
	var got []byte
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) && !re.Match(got) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(pfd, int(time.Until(deadline).Milliseconds())+1)
		if n <= 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			// POLLHUP until the getty opens the terminal: wait a little
			// for it rather than spin (the deadline bounds the whole wait).
			unix.Poll(nil, 20)
			continue
		}
		k, err := unix.Read(fd, buf)
		if err == nil && k > 0 {
			got = append(got, buf[:k]...)
		}
	}
	return got
}
