package world

import (
	"strings"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
)

// batchAt is a keyed batch of kvs at base offset base, written in leader
// epoch epoch; horizon sets the delete-horizon bit and moves its base
// timestamp, as a cleaner that keeps a tombstone does.
func batchAt(t *testing.T, base int64, epoch int32, horizon bool, kvs ...recordtest.KV) record.Batch {
	t.Helper()
	raw := recordtest.Keyed(recordtest.Options{TimestampMs: 1000 + base}, kvs...) // each record at 1000 ms plus its offset
	record.SetBaseOffset(raw, base)
	record.SetLeaderEpoch(raw, epoch)
	b, err := record.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if horizon {
		b.Attributes |= record.DeleteHorizonBit
		b.FirstTimestamp += 86_400_000
	}
	return b
}

// walkOf walks batches as a replica's log would.
func walkOf(batches ...record.Batch) batchWalk {
	return func(fn func(*record.Batch) error) error {
		for i := range batches {
			if err := fn(&batches[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

func kv(k, v string) recordtest.KV {
	kv := recordtest.KV{Key: []byte(k)}
	if v != "" {
		kv.Value = []byte(v)
	}
	return kv
}

// TestCompareReplicas: the liveness phase's comparison of a follower's
// replica with its leader's, below the high watermark (10 here), finds
// every kind of divergence and allows what Kafka's replicas may differ in.
func TestCompareReplicas(t *testing.T) {
	leader := []record.Batch{
		batchAt(t, 0, 1, false, kv("a", "1"), kv("b", "2"), kv("c", "3")),
		batchAt(t, 3, 1, false, kv("a", "4"), kv("d", "")),
		batchAt(t, 5, 2, false, kv("e", "5"), kv("f", "6"), kv("g", "7"), kv("h", "8"), kv("i", "9")),
		batchAt(t, 10, 2, false, kv("j", "10")), // at the high watermark: not compared
	}
	const hw = 10
	for _, tc := range []struct {
		name      string
		follower  []record.Batch
		compacted bool
		at        int64
		why       string // a part of the reason; "" when they agree
	}{
		{name: "the same log", follower: leader},
		{name: "the same log without what is at and past the high watermark", follower: leader[:3]},
		{name: "a later log start", follower: leader[1:]},
		{name: "another value", at: 4, why: "different records", follower: []record.Batch{
			leader[0], batchAt(t, 3, 1, false, kv("a", "4"), kv("d", "x")), leader[2]}},
		{name: "a null value against an empty one", at: 1, why: "different records", follower: []record.Batch{
			batchAt(t, 0, 1, false, kv("a", "1"), recordtest.KV{Key: []byte("b"), Value: []byte{}}, kv("c", "3")), leader[1], leader[2]}},
		{name: "a divergent suffix kept from an older leader epoch", at: 5, why: "different records", follower: []record.Batch{
			leader[0], leader[1], batchAt(t, 5, 1, false, kv("e", "5"), kv("f", "6"), kv("g", "7"), kv("h", "8"), kv("i", "9"))}},
		{name: "another timestamp", at: 0, why: "timestamp", follower: []record.Batch{
			func() record.Batch {
				b := batchAt(t, 0, 1, false, kv("a", "1"), kv("b", "2"), kv("c", "3"))
				b.FirstTimestamp++
				return b
			}(),
			leader[1], leader[2]}},
		{name: "a cleaner's delete horizon moves timestamps", follower: []record.Batch{
			leader[0], batchAt(t, 3, 1, true, kv("a", "4"), kv("d", "")), leader[2]}},
		{name: "a record the follower lacks", at: 3, why: "the replica lacks", follower: []record.Batch{
			leader[0], batchAt(t, 4, 1, false, kv("d", "")), leader[2]}},
		{name: "a record the follower lacks, compacted", compacted: true, follower: []record.Batch{
			leader[0], batchAt(t, 4, 1, false, kv("d", "")), leader[2]}},
		{name: "a record only the follower holds", at: 9, why: "the leader lacks", follower: []record.Batch{
			leader[0], leader[1], leader[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lead := leader
			if tc.why == "the leader lacks" { // the leader's log, one record short of the follower's
				lead = []record.Batch{leader[0], leader[1], batchAt(t, 5, 2, false, kv("e", "5"), kv("f", "6"), kv("g", "7"), kv("h", "8"))}
			}
			var c record.Codecs
			defer c.Close()
			lstart, want, err := replicaRecords(walkOf(lead...), hw, &c)
			if err != nil {
				t.Fatal(err)
			}
			start, got, err := replicaRecords(walkOf(tc.follower...), hw, &c)
			if err != nil {
				t.Fatal(err)
			}
			at, why := compareReplicas(want, got, max(lstart, start), tc.compacted)
			switch {
			case tc.why == "" && why != "":
				t.Fatalf("differ at %d: %s; want the same", at, why)
			case tc.why != "" && (!strings.Contains(why, tc.why) || at != tc.at):
				t.Fatalf("differ at %d: %q; want at %d: %q", at, why, tc.at, tc.why)
			}
		})
	}
}

// TestReplicaRecordsStopsAtTheHighWatermark: nothing at or past the high
// watermark is read, and records below it in a batch that crosses it are.
func TestReplicaRecordsStopsAtTheHighWatermark(t *testing.T) {
	var c record.Codecs
	defer c.Close()
	_, recs, err := replicaRecords(walkOf(
		batchAt(t, 0, 0, false, kv("a", "1"), kv("b", "2")),
		batchAt(t, 2, 0, false, kv("c", "3"), kv("d", "4")),
		batchAt(t, 4, 0, false, kv("e", "5")),
	), 3, &c)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for _, r := range recs {
		offs = append(offs, r.offset)
	}
	if len(offs) != 3 || offs[0] != 0 || offs[2] != 2 {
		t.Fatalf("offsets %v, want [0 1 2]", offs)
	}
}
