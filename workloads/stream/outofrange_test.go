package stream

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// TestOutOfRangeDoesNotRestartTheInput (seed 73088): a member whose
// committed offset is past the end of the log its broker answers from
// (there: a deposed leader's shorter log) must not start again from the
// log start, which would process the input a second time; its poll
// reports the partition out of range, which ends the incarnation.
func TestOutOfRangeDoesNotRestartTheInput(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b", "c"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "in", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The group committed 8, as the real leader's log allowed; the log
	// the member's client reads ends at 3.
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "in", Partition: 0, At: 8, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "g", os); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	rec := history.NewRecorder(time.Now(), time.Now)
	p, err := New(Config{Group: "g", Input: "in", Partitions: 1, Outputs: []string{"out"},
		NewApp: func() App { return copyApp{} }, Procs: &gen.Procs{}, IDs: &gen.Counter{}, Rand: rand.New(rand.NewPCG(1, 2)),
		Client: gen.ClientConfig{Bootstrap: c.ListenAddrs(), OpTimeout: time.Second}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{p: p, rng: rand.New(rand.NewPCG(3, 4)), proc: p.cfg.Procs.New(), closing: new(sync.WaitGroup)}
	m.prepare()
	if err := m.open(); err != nil {
		t.Fatal(err)
	}
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
