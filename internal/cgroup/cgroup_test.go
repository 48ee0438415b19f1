package cgroup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func openTree(t *testing.T) *Tree {
	t.Helper()
	tree, err := Open("test:" + t.Name())
	if err != nil {
		if os.Getenv("SV_TEST_REQUIRE_PEERS") == "1" && os.Geteuid() == 0 {
			t.Fatalf("cgroup v2 not usable as root: %v", err)
		}
		t.Skipf("cgroup v2 not usable here: %v", err)
	}
	t.Cleanup(func() { tree.Remove() })
	return tree
}

// A child started into the group, and what it forks and detaches, are all
// in the cgroup; Kill ends them all and WaitEmpty sees it.
func TestGroupKillsDetachedDescendants(t *testing.T) {
	tree := openTree(t)
	g, err := tree.Group("probe@x")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	cmd := exec.Command("sh", "-c", "setsid sleep 100 & sleep 100 & echo ok; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	out.Read(buf)
	pids, _ := g.Procs()
	if len(pids) != 3 {
		t.Fatalf("procs %v, want sh and two sleeps", pids)
	}
	if busy, err := g.Populated(); !busy || err != nil {
		t.Fatalf("populated %v %v", busy, err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- g.WaitEmpty(ctx)
	}()
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pids, _ := g.Procs(); len(pids) != 0 {
		t.Errorf("left: %v", pids)
	}
}

func TestUnified(t *testing.T) {
	mount, self, err := Unified()
	if err != nil {
		t.Skip(err)
	}
	if !strings.HasPrefix(self, "/") {
		t.Errorf("self %q", self)
	}
	if _, err := os.Stat(mount + "/cgroup.controllers"); err != nil {
		t.Errorf("%s is not a cgroup2 mount: %v", mount, err)
	}
}

func TestPopulatedParse(t *testing.T) {
	for in, want := range map[string]bool{"populated 1\nfrozen 0\n": true, "populated 0\nfrozen 0\n": false} {
		if got, err := populated(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := populated(strings.NewReader("frozen 0\n")); err == nil {
		t.Error("no populated line accepted")
	}
}

// After a Kill, Fresh gives a cgroup children can be started into again
// (the kernel kills children cloned into a cgroup killed before).
func TestFreshAfterKill(t *testing.T) {
	tree := openTree(t)
	g, err := tree.Group("k")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	run := func() error {
		cmd := exec.Command("true")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}
		return cmd.Run()
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := g.Fresh(); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatalf("a child started after Kill and Fresh: %v", err)
	}
}

// TreePath names the tree Open makes for the same key, and another for
// another key: the tests' cleanup finds a killed scanner's tree by it.
func TestTreePathIsOpens(t *testing.T) {
	tree := openTree(t)
	got, err := TreePath("test:" + t.Name())
	if err != nil {
		t.Fatal(err)
	}
	if got != tree.Path {
		t.Errorf("TreePath = %s, Open made %s", got, tree.Path)
	}
	if other, _ := TreePath("test:other"); other == tree.Path {
		t.Errorf("two keys, one tree: %s", other)
	}
}

// memory.max and memory.events, as the kernel has them.
func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	g := &Group{Path: dir}
	os.WriteFile(filepath.Join(dir, "memory.max"), []byte("max\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "memory.events"), []byte("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n"), 0o644)
	if err := g.SetMemoryMax(64 << 20); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "memory.max")); string(data) != "67108864" {
		t.Errorf("memory.max = %q", data)
	}
	if n, err := g.OOMKills(); err != nil || n != 2 {
		t.Errorf("OOMKills = %d, %v", n, err)
	}
	if _, err := (&Group{Path: filepath.Join(dir, "none")}).OOMKills(); err == nil {
		t.Error("no memory.events: no error")
	}
}
