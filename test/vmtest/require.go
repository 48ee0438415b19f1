package vmtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"testing"
)

// Require returns the kernel and busybox to boot with, or skips t, saying
// what is missing: qemu, a kernel, a static busybox, or root to read a
// kernel image that is root's only (Debian's are 0600). With
// SV_TEST_REQUIRE_PEERS=1, as in CI, it fails t instead: the project's
// rule for missing peers.
func Require(t testing.TB) (Kernel, Busybox) {
	t.Helper()
	k, bb, err := lookUp()
	if err != nil {
		missingPeer(t, "cannot boot a VM: %v", err)
	}
	return k, bb
}

// missingPeer skips t, or fails it with SV_TEST_REQUIRE_PEERS=1, saying
// what is missing.
func missingPeer(t testing.TB, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if os.Getenv("SV_TEST_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s, and SV_TEST_REQUIRE_PEERS=1", what)
	}
	t.Skip(what)
}

func lookUp() (Kernel, Busybox, error) {
	if _, err := exec.LookPath(QEMU); err != nil {
		return Kernel{}, Busybox{}, errors.New(QEMU + " is not installed (Debian: apt-get install qemu-system-x86)")
	}
	k, err := FindKernel()
	if err != nil {
		return Kernel{}, Busybox{}, err
	}
	if err := checkReadable(k.Image); err != nil {
		return Kernel{}, Busybox{}, err
	}
	bb, err := FindBusybox()
	if err != nil {
		return Kernel{}, Busybox{}, err
	}
	return k, bb, nil
}

func checkReadable(file string) error {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
		return errors.New(file + " is readable by root only, and this is not root")
	}
	if err != nil {
		return err
	}
	return f.Close()
}
