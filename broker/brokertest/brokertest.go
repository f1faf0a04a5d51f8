// Package brokertest serves a real Weir broker on a loopback port for the
// tests of other packages (workloads, checkers) that need one.
package brokertest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
)

// Start opens a broker on the OS file system (a temporary directory) and
// network, serves it on 127.0.0.1 at a free port until the test ends, and
// returns its address. Serve and Close errors fail the test.
func Start(t testing.TB) string {
	t.Helper()
	return StartConfig(t, nil)
}

// StartConfig is Start with the broker's configuration edited by configure
// (nil: the defaults) before it opens.
func StartConfig(t testing.TB, configure func(*broker.Config)) string {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if configure != nil {
		configure(&cfg)
	}
	b, err := broker.Open(cfg, broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := b.Listen(ctx)
	if err != nil {
		cancel()
		b.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	// A test's first request may create a topic: answer it only once
	// the broker is registered and may lead partitions.
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	if err := b.WaitActive(actx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return ln.Addr().String()
}
