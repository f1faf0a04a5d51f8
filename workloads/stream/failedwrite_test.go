package stream

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// copyApp writes every input record's value to partition p of "out".
type copyApp struct{}

func (copyApp) Restore(int32, map[string][]*kgo.Record) {}
func (copyApp) Process(b *Batch, rs []*kgo.Record) {
	for _, r := range rs {
		b.Emit("out", r.Partition, string(r.Key), string(r.Value))
	}
}
func (copyApp) Committable(_ int32, next int64) int64 { return next }
func (copyApp) Drop(int32)                            {}

// TestTxnBatchAbortsAfterAFailedWrite (the shape of seed 32008, whose
// payments processor committed the input offsets of 13 commands without
// their ledger entries): a member's transaction whose outputs all failed
// (the coordinator unreachable while kgo initialized the producer id for
// them) must not commit its input offsets. kgo's End commits the offsets
// whatever became of the records, once the producer id can be had; the
// member aborts instead, and the batch, consumed again, commits with its
// outputs.
func TestTxnBatchAbortsAfterAFailedWrite(t *testing.T) {
	c, ctx := kfakeCluster(t)
	produceIn(ctx, t, c, "a", "b", "c")

	// The transaction coordinator answers every InitProducerId with a
	// retriable error until the outputs failed (kgo begins all the same,
	// to load the id later; the outputs wait for it until their delivery
	// timeout); then the end's InitProducerId succeeds.
	var outputsFailed atomic.Bool
	var pidFailures atomic.Int32
	c.ControlKey(int16(kmsg.InitProducerID), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if outputsFailed.Load() {
			return nil, nil, false
		}
		pidFailures.Add(1)
		resp := req.(*kmsg.InitProducerIDRequest).ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode = kerr.RequestTimedOut.Code
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		return resp, nil, true
	})
	hook := failedOutputHook{&outputsFailed}

	m, rec := kfakeMember(t, c, func(cfg *Config) {
		cfg.Transactional = true
		cfg.Client.Opts = []kgo.Opt{kgo.WithHooks(hook)}
	})
	p := m.p
	defer m.sess.Close()

	for batch := 1; p.Committed(0) < 3; batch++ {
		if batch > 3 || ctx.Err() != nil {
			t.Fatalf("%d batches did not commit the input; committed %d", batch-1, p.Committed(0))
		}
		var rs []*kgo.Record
		for len(rs) == 0 && ctx.Err() == nil {
			m.sess.PollRecords(ctx, 10).EachRecord(func(r *kgo.Record) { rs = append(rs, r) })
			m.applyEvents()
		}
		if !m.txnBatch(rs) {
			t.Fatalf("batch %d ended the incarnation", batch)
		}
		// Whatever the batch did, the group's committed input offset
		// must never pass an input record whose output is not
		// committed.
		if got, outs := committedOffset(ctx, t, c), committedOutputs(ctx, t, c); got > int64(outs) {
			t.Fatalf("after batch %d the group committed input offset %d, but %q holds %d committed outputs", batch, got, "out", outs)
		}
	}
	if !outputsFailed.Load() || pidFailures.Load() == 0 {
		t.Fatalf("the outputs did not fail (%d InitProducerIds failed): the test tests nothing", pidFailures.Load())
	}
	var fails int
	for _, op := range rec.Ops() {
		if op.F == history.FnTxn && op.Type == history.Fail {
			fails++
		}
		if op.F == history.FnTxn && op.Type == history.Info {
			t.Errorf("txn op recorded info (%s): the member committed a transaction whose writes failed", op.Error)
		}
	}
	if fails != 1 {
		t.Errorf("%d txn ops failed, want the one whose writes failed", fails)
	}
}

// failedOutputHook notes that a record failed.
type failedOutputHook struct{ failed *atomic.Bool }

func (h failedOutputHook) OnProduceRecordUnbuffered(_ *kgo.Record, err error) {
	if err != nil {
		h.failed.Store(true)
	}
}

// committedOffset is group g's committed offset of in/0 (0 if none).
func committedOffset(ctx context.Context, t *testing.T, c *kfake.Cluster) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	os, err := kadm.NewClient(cl).FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := os.Lookup("in", 0); ok {
		return max(o.At, 0)
	}
	return 0
}

// committedOutputs counts the committed records of out/0.
func committedOutputs(ctx context.Context, t *testing.T, c *kfake.Cluster) int {
	t.Helper()
	var n int
	_, err := gen.ReadToEnd(ctx, gen.ClientConfig{Bootstrap: c.ListenAddrs(), OpTimeout: 2 * time.Second},
		history.NewRecorder(time.Now(), time.Now), 0, gen.Read{Topic: "out", Partitions: []int32{0}, ReadCommitted: true,
			Visit: func(*kgo.Record) { n++ }})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
