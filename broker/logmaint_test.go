package broker_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
)

func strp(s string) *string { return &s }

// produceN produces n records with the given keys (key(i)) and values
// (value(i), nil for a tombstone) to partition 0 of topic, acks=all, in order.
func produceN(t *testing.T, cl *kgo.Client, topic string, n int, key func(int) string, value func(int) []byte) {
	t.Helper()
	ctx := ctxT(t)
	for i := range n {
		r := &kgo.Record{Topic: topic, Partition: 0, Key: []byte(key(i)), Value: value(i)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// fetchAt sends one Fetch for partition 0 of topic at offset (at the
// newest version both sides speak, so by topic id).
func fetchAt(t *testing.T, cl *kgo.Client, topic string, offset int64) kmsg.FetchResponseTopicPartition {
	t.Helper()
	topics, err := kadm.NewClient(cl).ListTopics(ctxT(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes = 1 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, topics[topic].ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctxT(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

func TestDeleteRecords(t *testing.T) {
	cfg := newConfig(t)
	tb := startBroker(t, cfg)
	tb.createTopic("events", 1, map[string]*string{"segment.bytes": strp("2048")})
	tb.createTopic("table", 1, map[string]*string{"cleanup.policy": strp("compact")})
	cl := tb.client(kgo.DefaultProduceTopic("events"))
	produceN(t, cl, "events", 200, func(i int) string { return fmt.Sprint(i) }, func(i int) []byte { return []byte(fmt.Sprintf("value-%d", i)) })
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)
	segmentsBefore := segmentFiles(t, cfg.DataDir, "events-0")

	var os kadm.Offsets
	os.AddOffset("events", 0, 120, -1)
	os.AddOffset("table", 0, 0, -1)
	resp, err := adm.DeleteRecords(ctx, os)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := resp.Lookup("events", 0); r.Err != nil || r.LowWatermark != 120 {
		t.Fatalf("DeleteRecords events: low watermark %d, %v", r.LowWatermark, r.Err)
	}
	if r, _ := resp.Lookup("table", 0); !errors.Is(r.Err, kerr.PolicyViolation) {
		t.Fatalf("DeleteRecords on a compacted topic: %v, want POLICY_VIOLATION", r.Err)
	}
	if after := segmentFiles(t, cfg.DataDir, "events-0"); len(after) >= len(segmentsBefore) {
		t.Fatalf("segments %v after DeleteRecords, %v before: those below the start must go", after, segmentsBefore)
	}
	checkStart := func(want int64) {
		t.Helper()
		starts, err := adm.ListStartOffsets(ctx, "events")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := starts.Lookup("events", 0); o.Err != nil || o.Offset != want {
			t.Fatalf("start offset %d (%v), want %d", o.Offset, o.Err, want)
		}
		// A fetch below the start is OFFSET_OUT_OF_RANGE and says where
		// the log starts; one at the start reads from there.
		if p := fetchAt(t, cl, "events", want-1); p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != want {
			t.Fatalf("fetch below the start: error %d, log start %d", p.ErrorCode, p.LogStartOffset)
		}
		if p := fetchAt(t, cl, "events", want); p.ErrorCode != 0 || p.LogStartOffset != want || len(p.RecordBatches) == 0 {
			t.Fatalf("fetch at the start: error %d, log start %d, %d bytes", p.ErrorCode, p.LogStartOffset, len(p.RecordBatches))
		}
	}
	checkStart(120)
	got := consumeAll(t, tb, "events", 80)
	if got[0].Offset != 120 || string(got[0].Value) != "value-120" {
		t.Fatalf("first record read %d %q, want offset 120", got[0].Offset, got[0].Value)
	}

	// Past the high watermark: refused; lower than the start: no change.
	os = nil
	os.AddOffset("events", 0, 201, -1)
	resp, _ = adm.DeleteRecords(ctx, os)
	if r, _ := resp.Lookup("events", 0); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("DeleteRecords past the high watermark: %v", r.Err)
	}
	os = nil
	os.AddOffset("events", 0, 10, -1)
	resp, _ = adm.DeleteRecords(ctx, os)
	if r, _ := resp.Lookup("events", 0); r.Err != nil || r.LowWatermark != 120 {
		t.Fatalf("DeleteRecords below the start: %d, %v", r.LowWatermark, r.Err)
	}

	// The start survives a restart (and a crash would not lower it: see
	// broker/log's tests).
	tb.restart()
	cl = tb.client()
	adm = kadm.NewClient(cl)
	checkStart(120)

	// -1 is the high watermark: everything goes.
	os = nil
	os.AddOffset("events", 0, -1, -1)
	resp, _ = adm.DeleteRecords(ctx, os)
	if r, _ := resp.Lookup("events", 0); r.Err != nil || r.LowWatermark != 200 {
		t.Fatalf("DeleteRecords to the high watermark: %d, %v", r.LowWatermark, r.Err)
	}
}

// segmentFiles lists the .log files of a partition directory.
func segmentFiles(t *testing.T, dataDir, partition string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, partition))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".log") {
			out = append(out, e.Name())
		}
	}
	return out
}

// readToEnd reads partition 0 of topic from its start until the record
// just below the high watermark, and checks that offsets strictly increase.
func readToEnd(t *testing.T, addr, topic string, hw int64) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := ctxT(t)
	var out []*kgo.Record
	for len(out) == 0 || out[len(out)-1].Offset < hw-1 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d records up to the high watermark %d: %v", len(out), hw, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		for _, r := range fs.Records() {
			if len(out) > 0 && r.Offset <= out[len(out)-1].Offset {
				t.Fatalf("offset %d after %d", r.Offset, out[len(out)-1].Offset)
			}
			out = append(out, r)
		}
	}
	return out
}

// TestCompactedTopicEndToEnd: a compacted topic produced with repeated keys
// and a tombstone, then read back by a franz-go consumer once the broker's
// cleaner has run: the last value of every key, no tombstoned key, fewer
// records than produced, offsets as produced.
func TestCompactedTopicEndToEnd(t *testing.T) {
	addr := brokertest.StartConfig(t, func(cfg *broker.Config) { cfg.RetentionCheckInterval = 20 * time.Millisecond })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("prices"), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)
	configs := map[string]*string{
		"cleanup.policy": strp("compact"), "segment.bytes": strp("4096"),
		"min.cleanable.dirty.ratio": strp("0.01"), "delete.retention.ms": strp("0"),
	}
	if r, err := adm.CreateTopic(ctx, 1, 1, configs, "prices"); err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	const keys, rounds = 20, 40
	last := map[string]string{}
	offsetOf := map[string]int64{} // value -> offset produced at
	for i := range keys * rounds {
		k, v := fmt.Sprintf("sku-%d", i%keys), fmt.Sprintf("price-%d", i)
		var value []byte
		if k != "sku-0" || i < keys*rounds/2 {
			value = []byte(v)
			last[k] = v
		} else if i < keys*rounds/2+keys {
			delete(last, k) // sku-0 is deleted half way: a tombstone, then nothing
		} else {
			continue
		}
		r := &kgo.Record{Key: []byte(k), Value: value}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if value != nil {
			offsetOf[v] = r.Offset
		}
	}
	hw, err := adm.ListEndOffsets(ctx, "prices")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := hw.Lookup("prices", 0)
	produced := int(end.Offset)

	// The cleaner runs every 20 ms; wait until a read finds sku-0 gone.
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := readToEnd(t, addr, "prices", end.Offset)
		seen := map[string]string{}
		for _, r := range got {
			if r.Value == nil {
				delete(seen, string(r.Key))
				continue
			}
			if o, ok := offsetOf[string(r.Value)]; !ok || o != r.Offset {
				t.Fatalf("read %s=%s at %d; produced at %d", r.Key, r.Value, r.Offset, o)
			}
			seen[string(r.Key)] = string(r.Value)
		}
		_, deleted := seen["sku-0"]
		done := !deleted && len(got) < produced/2 && countKey(got, "sku-0") == 0
		if done {
			for k, v := range last {
				if seen[k] != v {
					t.Fatalf("key %s reads %q, last produced %q", k, seen[k], v)
				}
			}
			if len(seen) != len(last) {
				t.Fatalf("%d keys read, %d expected", len(seen), len(last))
			}
			t.Logf("read %d of %d records produced", len(got), produced)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s, %d of %d records are read and sku-0 has %d records: the topic was not compacted", len(got), produced, countKey(got, "sku-0"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countKey(recs []*kgo.Record, key string) int {
	n := 0
	for _, r := range recs {
		if string(r.Key) == key {
			n++
		}
	}
	return n
}

// TestRetentionEndToEnd: records whose timestamps are older than
// retention.ms go, whole segments at a time, at the next check; the start
// offset moves to the first segment kept, and the active segment stays.
func TestRetentionEndToEnd(t *testing.T) {
	addr := brokertest.StartConfig(t, func(cfg *broker.Config) { cfg.RetentionCheckInterval = 20 * time.Millisecond })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("logs"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := ctxT(t)
	configs := map[string]*string{"retention.ms": strp("3600000"), "segment.bytes": strp("2048")}
	if r, err := adm.CreateTopic(ctx, 1, 1, configs, "logs"); err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for i := range 100 {
		r := &kgo.Record{Value: []byte(fmt.Sprintf("old-%03d", i)), Timestamp: old}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("new-%03d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		starts, err := adm.ListStartOffsets(ctx, "logs")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := starts.Lookup("logs", 0)
		if o.Offset > 0 {
			if o.Offset > 100 {
				t.Fatalf("start offset %d: records within retention.ms were deleted", o.Offset)
			}
			got := readToEnd(t, addr, "logs", 200)
			if got[0].Offset != o.Offset || len(got) != 200-int(o.Offset) {
				t.Fatalf("read %d records from %d; the start is %d", len(got), got[0].Offset, o.Offset)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("after 15 s the old records are still there")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
