package ready

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/supervision-suite/supervision/internal/options"
)

func TestProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := Probe(ctx, options.Ready{Kind: options.ReadyTCP, Addr: addr}, nil, ""); err != nil {
		t.Errorf("listening port: %v", err)
	}
	ln.Close()
	if err := Probe(ctx, options.Ready{Kind: options.ReadyTCP, Addr: addr}, nil, ""); err == nil {
		t.Error("closed port reported ready")
	}

	file := filepath.Join(t.TempDir(), "sock")
	if err := Probe(ctx, options.Ready{Kind: options.ReadyPath, Path: file}, nil, ""); err == nil {
		t.Error("missing path reported ready")
	}
	os.WriteFile(file, nil, 0o644)
	if err := Probe(ctx, options.Ready{Kind: options.ReadyPath, Path: file}, nil, ""); err != nil {
		t.Errorf("existing path: %v", err)
	}

	if err := Probe(ctx, options.Ready{Kind: options.ReadyCheck, Cmd: []string{"sh", "-c", "exit 0"}}, nil, ""); err != nil {
		t.Errorf("check exit 0: %v", err)
	}
	if err := Probe(ctx, options.Ready{Kind: options.ReadyCheck, Cmd: []string{"sh", "-c", "echo nope; exit 3"}}, nil, ""); err == nil {
		t.Error("check exit 3 reported ready")
	}
	if err := Probe(ctx, options.Ready{Kind: options.ReadyNotify}, nil, ""); !errors.Is(err, ErrNotProbeable) {
		t.Errorf("notify: %v", err)
	}
}
