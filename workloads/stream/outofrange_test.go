package stream

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestOutOfRangeDoesNotRestartTheInput (seed 73088): a member whose
// committed offset is past the end of the log its broker answers from
// (there: a deposed leader's shorter log) must not start again from the
// log start, which would process the input a second time; its poll
// reports the partition out of range, which ends the incarnation.
func TestOutOfRangeDoesNotRestartTheInput(t *testing.T) {
	c, ctx := kfakeCluster(t)
	produceIn(ctx, t, c, "a", "b", "c")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	// The group committed 8, as the real leader's log allowed; the log
	// the member's client reads ends at 3.
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "in", Partition: 0, At: 8, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "g", os); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	m, _ := kfakeMember(t, c, nil)
	defer m.crash()
	for ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := m.pollRecords(pctx)
		pcancel()
		if n := fs.NumRecords(); n > 0 {
			t.Fatalf("the member read %d records from the log start past its committed offset", n)
		}
		if offsetOutOfRange(fs, "in") {
			return
		}
	}
	t.Fatal("no poll reported the partition out of range")
}
