package testscript_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/cmd/cli"
)

// bootrootMain is bootroot: it makes a machine of its own for stage
// scripts that set one up (mounts, hostname, loopback, a read-only root at
// shutdown) and execs CMD as its init. Run it as PID 1 of a PID namespace,
// in mount, UTS and network namespaces of its own:
//
//	pidns unshare --mount --uts --net --propagation private bootroot SCRATCH CMD...
//
// The root is a tmpfs on SCRATCH holding busybox (its applets and
// libraries), this test binary as the suite's multi-call binary with its
// tool links, the repository's stages/ as /etc/sv-init, /etc/hostname "bootroot",
// the files of SCRATCH/etc if there is one, and, already mounted,
// a tmpfs /dev with null, zero and urandom, and a ramfs on /mnt. Nothing
// of the machine's is reachable once the old root is detached: whatever
// the stages mount, remount or swap off acts on this root only (its /dev
// has no disks).
func bootrootMain() {
	if len(os.Args) < 3 || os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pidns unshare --mount --uts --net --propagation private bootroot SCRATCH CMD...")
		os.Exit(2)
	}
	root := filepath.Join(os.Args[1], "root")
	if err := buildRoot(root); err != nil {
		fmt.Fprintln(os.Stderr, "bootroot:", err)
		os.Exit(1)
	}
	if err := enterRoot(root); err != nil {
		fmt.Fprintln(os.Stderr, "bootroot:", err)
		os.Exit(1)
	}
	os.Setenv("PATH", "/bin")
	os.Unsetenv("SV_ROOT") // a machine of its own: its tree is at /
	path, err := exec.LookPath(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootroot:", err)
		os.Exit(127)
	}
	fmt.Fprintln(os.Stderr, "bootroot:", syscall.Exec(path, os.Args[2:], os.Environ()))
	os.Exit(126)
}

func buildRoot(root string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("bootroot", root, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", root, err)
	}
	for _, d := range []string{"bin", "dev", "proc", "sys", "run", "tmp", "mnt", "etc/conf.d", "etc/sv-init", "var/lib/misc", "oldroot"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	os.Symlink("bin", filepath.Join(root, "sbin"))
	if err := copyWithLibs(root, "/bin/busybox", "/bin/busybox"); err != nil {
		return err
	}
	// This test binary: it is the suite by the name it is run as.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := copyWithLibs(root, self, "/bin/supervision"); err != nil {
		return err
	}
	applets, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, a := range strings.Fields(string(applets)) {
		os.Symlink("busybox", filepath.Join(root, "bin", a))
	}
	repo := os.Getenv("REPO")
	for _, t := range cli.ToolNames() {
		if t == "supervision" {
			continue
		}
		os.Remove(filepath.Join(root, "bin", t)) // a busybox applet of that name
		os.Symlink("supervision", filepath.Join(root, "bin", t))
	}
	stages, _ := filepath.Glob(filepath.Join(repo, "stages", "*"))
	for _, f := range stages {
		if err := copyFile(f, filepath.Join(root, "etc", "sv-init", filepath.Base(f))); err != nil {
			return err
		}
	}
	// a filesystem of the machine's own, for stage 3 to unmount
	if err := unix.Mount("data", filepath.Join(root, "mnt"), "ramfs", 0, ""); err != nil {
		return fmt.Errorf("mount ramfs: %w", err)
	}
	os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("bootroot\n"), 0o644)
	// A machine of its own, though no kernel booted it: its stages may
	// set it up and take it down.
	os.WriteFile(filepath.Join(root, "etc", "conf.d", "sv-init"), []byte("SV_INIT_OPENRC=no\nSV_INIT_SETUP=yes\n"), 0o644)
	// the script's own files for the machine's /etc: SCRATCH/etc
	if err := copyTree(filepath.Join(filepath.Dir(root), "etc"), filepath.Join(root, "etc")); err != nil {
		return err
	}
	return makeDev(filepath.Join(root, "dev"))
}

// copyTree copies the regular files under src, if it exists, to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == src {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
}

// makeDev mounts a tmpfs /dev, so that stage 1 leaves the machine's
// devtmpfs (and its disks) alone, with the nodes a shell needs.
func makeDev(dev string) error {
	if err := unix.Mount("bootroot", dev, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dev, err)
	}
	for name, minor := range map[string]uint32{"null": 3, "zero": 5, "urandom": 9} {
		if err := unix.Mknod(filepath.Join(dev, name), unix.S_IFCHR|0o666, int(unix.Mkdev(1, minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", name, err)
		}
	}
	return nil
}

// enterRoot makes root the root of this mount namespace and detaches the
// old one.
func enterRoot(root string) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "oldroot"); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Unmount("/oldroot", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return os.Remove("/oldroot")
}

// ldLib is a library line of ldd's output: "name => /path (addr)" or
// "/path (addr)".
var ldLib = regexp.MustCompile(`(?m)(/\S+) \(0x`)

// copyWithLibs copies a program to dst under root, and the libraries ldd
// lists for it (none for a static one) to their own paths under root.
func copyWithLibs(root, prog, dst string) error {
	if err := copyFile(prog, filepath.Join(root, dst)); err != nil {
		return err
	}
	out, _ := exec.Command("ldd", prog).Output() // fails on a static program
	var files []string
	for _, m := range ldLib.FindAllStringSubmatch(string(out), -1) {
		files = append(files, m[1])
	}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyFile(real, dst); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
