package gen_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
)

// kgo's KIP-320 position past a batch the log cleaner emptied (seed
// 20107). A record of key k1 is written in one leader epoch, then records
// of k2 in the next, each superseding the one before, so that the cleaner
// empties their batches and keeps the last of each cleaned segment empty
// (for its offsets: KAFKA-5443). A consumer's first fetch from the start
// returns k1's record and then such an empty batch of the later epoch; kgo
// moves its position past the batch but pairs it with the record's epoch,
// where the Java consumer takes the batch's. After the next leader change
// kgo asks where the record's epoch ends, the leader answers the first
// offset of the next epoch (below the position), and kgo reports a data
// loss of offsets at which it returned nothing, though the log lost
// nothing: the batch's epoch still reaches past the position.
//
// This documents the client's behaviour that checker.dataLosses leaves
// alone on compacted topics; if kgo ever takes the epoch of empty batches
// itself, the test fails and says so.
func TestKgoPositionPastAnEmptiedBatchReportsAFalseLoss(t *testing.T) {
	w := startWorld(t, 20107, func(_ string, cfg *broker.Config) {
		cfg.RetentionCheckInterval = 50 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const topic = "kv"
	admin := kadm.NewClient(client(t, w, "admin"))
	configs := map[string]*string{"cleanup.policy": ptr("compact"), "segment.bytes": ptr("1024"), "min.cleanable.dirty.ratio": ptr("0.01")}
	if resp, err := admin.CreateTopic(ctx, 1, 1, configs, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	producer := client(t, w, "producer", kgo.DefaultProduceTopic(topic), kgo.DisableIdempotentWrite())
	produce := func(key, value string) int64 {
		t.Helper()
		r, err := producer.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: []byte(value)}).First()
		if err != nil {
			t.Fatalf("produce %s=%s: %v", key, value, err)
		}
		return r.Offset
	}
	produce("k1", "a")
	reboot(ctx, t, w, admin, topic, -1)
	second := leaderEpoch(ctx, t, admin, topic) // k2's epoch
	var last int64
	for i := range 40 { // a few 1 KiB segments of k2, each record superseding the last
		last = produce("k2", fmt.Sprintf("b%02d", i))
	}
	time.Sleep(time.Second) // cleaning passes every 50 ms

	consumer := client(t, w, "consumer", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	fs := consumer.PollFetches(ctx)
	var read []string
	fs.EachRecord(func(r *kgo.Record) {
		read = append(read, fmt.Sprintf("%s=%s@%d(epoch %d)", r.Key, r.Value, r.Offset, r.LeaderEpoch))
	})
	if len(read) != 1 || !strings.HasPrefix(read[0], "k1=a@0") {
		t.Fatalf("the first fetch returned %v, want only k1=a@0 (was the topic cleaned?)", read)
	}
	// Stop the consumer where its first fetch left it: past the emptied
	// batch that ends k1's cleaned segment.
	consumer.PauseFetchPartitions(map[string][]int32{topic: {0}})
	pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	consumer.PollFetches(pctx) // strips a fetch buffered before the pause
	pcancel()
	reboot(ctx, t, w, admin, topic, second)
	consumer.ResumeFetchPartitions(map[string][]int32{topic: {0}})

	loss := pollForLoss(ctx, t, consumer, "the last record of k2", func(r *kgo.Record) bool { return r.Offset == last }, nil)
	if loss == nil {
		t.Fatal("kgo reported no data loss: does it now take the leader epoch of empty batches? then checker.dataLosses may judge compacted topics as others again")
	}
	t.Logf("kgo reported: %v", loss)
	if loss.ResetTo <= 0 || loss.ConsumedTo <= loss.ResetTo {
		t.Fatalf("a loss of %d..%d, want one past k1=a@0", loss.ResetTo, loss.ConsumedTo)
	}
	// Nothing was lost: the log still holds k1=a@0 and k2's last record,
	// and the epoch after k1's reaches past the position kgo had.
	ends, err := admin.OffsetForLeaderEpoch(ctx, kadm.OffsetForLeaderEpochRequest{topic: {0: second}})
	if err != nil {
		t.Fatal(err)
	}
	end := ends[topic][0]
	if end.Err != nil || end.EndOffset < loss.ConsumedTo {
		t.Fatalf("epoch %d ends at %d (err %v), below the position %d: a real loss", second, end.EndOffset, end.Err, loss.ConsumedTo)
	}
}

func ptr(s string) *string { return &s }
