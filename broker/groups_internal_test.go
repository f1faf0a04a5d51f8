package broker

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/env"
)

// TestShardAvailability: the codes a group's requests get while its
// partition loads, once it is unloaded (a leadership change), and after its
// log failed; FindCoordinator stops naming a failed shard.
func TestShardAvailability(t *testing.T) {
	cfg := DefaultConfig()
	// A fixed port (never listened on): the broker registers at Open.
	cfg.ListenAddr, cfg.DataDir = "127.0.0.1:1", t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := Open(cfg, Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustBeActive(t, b)
	if code := b.groups.ensure(context.Background()); code != 0 {
		t.Fatalf("ensure: %d", code)
	}
	waitCoordinating(t, b, "g")
	heartbeat := func() int16 { return heartbeatCode(t, b, "g") }
	if got := heartbeat(); got != kerr.UnknownMemberID.Code {
		t.Fatalf("serving: %d", got)
	}
	cs, _ := b.groups.route("g")
	cs.mu.Lock()
	cs.state = shardLoading
	cs.mu.Unlock()
	if got := heartbeat(); got != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("loading: %d", got)
	}
	cs.mu.Lock()
	cs.state = shardServing
	cs.mu.Unlock()
	cs.unload()
	if got := heartbeat(); got != kerr.NotCoordinator.Code {
		t.Fatalf("unloaded: %d", got)
	}
	cs.mu.Lock()
	cs.state = shardFailed
	cs.mu.Unlock()
	if got := heartbeat(); got != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("failed: %d", got)
	}
	if c := b.findCoordinator(context.Background(), 0, "g"); c.ErrorCode != kerr.CoordinatorNotAvailable.Code || c.ErrorMessage == nil {
		t.Fatalf("find coordinator of a failed shard: %+v", c)
	}
}
