package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/replica"
)

// listOffset runs ListOffsets (v7) for partition 0 of topic on b at ts.
func listOffset(t *testing.T, b *Broker, topic string, ts int64) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 7
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	rep, err := handleListOffsets(context.Background(), b, &request{key: 2, version: 7, kreq: req})
	if err != nil {
		t.Fatal(err)
	}
	return rep.resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
}

// While a new leader has not heard from its ISR in its epoch (its high
// watermark is below where the epoch started), the ListOffsets handler
// answers OFFSET_NOT_AVAILABLE for the latest offset and for a search that
// finds nothing below the high watermark, not an offset older than one the
// previous leader may have served (KIP-207); the earliest offset is still
// answered. (The partition's roles are set by hand, above every epoch of
// the metadata image so the reconciler's stale ones are ignored: a
// one-node broker has no followers to fetch.)
func TestListOffsetsBeforeTheISRCaughtUp(t *testing.T) {
	b, _ := openMemBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const name = "fresh"
	if _, code := b.autoCreateTopic(ctx, name); code != 0 {
		t.Fatalf("creating %s: %v", name, kerr.ErrorForCode(code))
	}
	p, perr := b.topicByName(name).leaderPartition(0, -1)
	if perr != nil {
		t.Fatalf("partition 0 of %s: %v", name, perr)
	}
	epoch := p.LeaderEpoch()
	setRole := func(leaderEpoch int32, isr ...int32) {
		p.SetRole(reconcile.Lead, partition.Role{Active: true, MinInsync: 1, Assignment: replica.Assignment{
			Leader: b.cfg.NodeID, LeaderEpoch: leaderEpoch, PartitionEpoch: 1000 + leaderEpoch,
			Replicas: []int32{b.cfg.NodeID, 102, 103}, ISR: isr,
		}})
	}
	appendTwo := func() {
		batch, err := record.Parse(recordtest.Batch(recordtest.Options{}, []byte("a"), []byte("b")))
		if err != nil {
			t.Fatal(err)
		}
		if res := p.Append(&batch, false, false); res.Err != nil {
			t.Fatalf("append: %v", res.Err)
		}
	}
	// Two records committed by this leader alone, two more its new ISR
	// never fetched: the high watermark stays at 2.
	setRole(epoch+1, b.cfg.NodeID)
	appendTwo()
	waitLatest(t, b, name, 2)
	setRole(epoch+2, b.cfg.NodeID, 102, 103)
	appendTwo()
	// Leader again in a new epoch, which starts at the log end, 4.
	setRole(epoch+3, b.cfg.NodeID, 102, 103)
	if !p.EpochStartPending() {
		t.Fatalf("high watermark %d, log end %d: the epoch start is not pending", p.HighWatermark(), p.EndOffset())
	}
	for _, ts := range []int64{listLatest, listLatestTiered, time.Now().Add(time.Hour).UnixMilli()} {
		if got := listOffset(t, b, name, ts); got.ErrorCode != kerr.OffsetNotAvailable.Code || got.Offset != -1 {
			t.Errorf("timestamp %d: %v at %d, want OFFSET_NOT_AVAILABLE at -1", ts, kerr.ErrorForCode(got.ErrorCode), got.Offset)
		}
	}
	for _, ts := range []int64{listEarliest, listEarliestLocal} {
		if got := listOffset(t, b, name, ts); got.ErrorCode != 0 || got.Offset != 0 {
			t.Errorf("timestamp %d: %v at %d, want 0", ts, kerr.ErrorForCode(got.ErrorCode), got.Offset)
		}
	}
	// With the other replicas gone, its high watermark reaches the
	// epoch's start and the latest offset is answered.
	p.SetRole(reconcile.Lead, partition.Role{Active: true, MinInsync: 1, Assignment: replica.Assignment{
		Leader: b.cfg.NodeID, LeaderEpoch: epoch + 3, PartitionEpoch: 1000 + epoch + 4,
		Replicas: []int32{b.cfg.NodeID}, ISR: []int32{b.cfg.NodeID},
	}})
	waitLatest(t, b, name, 4)
}

// waitLatest waits until ListOffsets answers want for the latest offset
// of partition 0 of topic (the high watermark waits for the log's fsync).
func waitLatest(t *testing.T, b *Broker, topic string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := listOffset(t, b, topic, listLatest)
		if got.ErrorCode == 0 && got.Offset == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("latest offset: %v at %d, want %d", kerr.ErrorForCode(got.ErrorCode), got.Offset, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
