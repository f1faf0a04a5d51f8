package world_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/sim/world"
)

// TestFollowerRestartAcrossCompaction: a compacted topic (cleanup.policy=
// compact, small segments, the cleaner every 100ms on every broker) loses
// a follower to a crash while the producer overwrites the same few keys;
// the leader's cleaner removes whole batches meanwhile, so when the
// follower restarts its fetch offset is inside a removed range and every
// fetch crosses gaps. The healed cluster must converge (every replica back
// in the ISR) and the last value of every key must be readable. Before
// followers copied gaps, the follower never caught up and the liveness
// phase failed.
func TestFollowerRestartAcrossCompaction(t *testing.T) {
	// Info lines in the trace: "cleaned log" is one.
	w := startWorld(t, 31, world.Config{
		Nodes: 3,
		Broker: func(_ string, cfg *broker.Config) {
			cfg.RetentionCheckInterval = 100 * time.Millisecond
			cfg.ReplicaLagTimeMax = time.Second // acks=all waits this long for the crashed follower to leave the ISR
		},
	})
	ready(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, w, "admin"))
	segBytes, ratio, policy, insync := "2048", "0.01", "compact", "2"
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{
		"segment.bytes": &segBytes, "min.cleanable.dirty.ratio": &ratio, "cleanup.policy": &policy, "min.insync.replicas": &insync,
	}, "kv")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("kv"), kgo.ProducerLinger(0))
	last := map[string]string{}
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			k, v := fmt.Sprintf("k%d", i%3), fmt.Sprintf("v%d", i)
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce %s=%s: %v", k, v, err)
			}
			last[k] = v
		}
	}
	produce(0, 20)
	md, err := adm.Metadata(ctx, "kv")
	if err != nil {
		t.Fatal(err)
	}
	leader := md.Topics["kv"].Partitions[0].Leader
	follower := fmt.Sprintf("n%d", leader%3+1)
	if err := w.Crash(follower, 0.5); err != nil {
		t.Fatal(err)
	}
	produce(20, 120)
	cleaned := fmt.Sprintf("n%d log level=INFO msg=\"cleaned log\" topic=kv", leader)
	waitFor(t, "the leader's cleaner", func() bool { return strings.Contains(strings.Join(w.Trace(), "\n"), cleaned) })
	ready(t, w) // restarts the follower; every replica back in the ISR
	got := map[string]string{}
	rd := newClient(t, w, "reader", kgo.ConsumeTopics("kv"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ends, err := kadm.NewClient(rd).ListEndOffsets(ctx, "kv")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup("kv", 0)
	for next := int64(0); next < end.Offset; {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read up to %d of %d before the deadline", next, end.Offset)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = string(r.Value)
			next = r.Offset + 1
		})
	}
	for k, v := range last {
		if got[k] != v {
			t.Errorf("key %s reads %q, want its last value %q", k, got[k], v)
		}
	}
}
