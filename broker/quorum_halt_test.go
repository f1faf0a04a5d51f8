package broker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weir-dev/weir/env/memfs"
)

// failQuorumSyncs fails every fsync of the metadata quorum's files once
// armed.
type failQuorumSyncs struct{ armed atomic.Bool }

func (f *failQuorumSyncs) MaybeError(op memfs.Op, path string) error {
	if f.armed.Load() && op == memfs.OpSync && strings.Contains(path, "__cluster_metadata") {
		return errors.New("injected: metadata log sync failed")
	}
	return nil
}

// A broker whose metadata quorum node stops on a fault of its log halts, as
// Kafka's does (seed 7041): it could never learn that another broker leads
// its partitions, and serving the last image it had would answer reads, as
// their leader, with a high watermark the real leader has passed.
func TestBrokerHaltsWhenItsMetadataLogFails(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("t", 1, 3, replicated)
	leader := c.leaderOf("t", 0)
	if leader < 0 {
		t.Fatal("no leader")
	}
	var inj failQuorumSyncs
	c.mu.Lock()
	c.disks[leader].SetInjector(&inj)
	c.mu.Unlock()
	inj.armed.Store(true)
	// New metadata records reach every voter's log, which the failing one
	// cannot sync. The creation itself may fail (it may have been sent to
	// the failing broker): only the records matter.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = kadm.NewClient(c.client()).CreateTopic(ctx, 1, 3, nil, "u")
	b := c.broker(leader)
	c.waitFor("the broker with the failed metadata log to halt", 10*time.Second, func() bool {
		return b.ctx.Err() != nil
	})
	if errp := b.halted.Load(); errp == nil || !strings.Contains((*errp).Error(), "metadata quorum stopped") {
		t.Fatalf("halted for %v, want the quorum's stop", errp)
	}
}
