package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// A group's coordinator need not hold a replica of the partitions whose
// offsets the group commits: OffsetCommit and OffsetDelete ask whether a
// partition exists in the cluster's metadata, as Kafka does, not whether
// this broker hosts it. (The clickstream workload found this in the
// simulator: on four and five brokers at RF=3, commits of the partitions
// its coordinator did not replicate were refused with
// UNKNOWN_TOPIC_OR_PARTITION, and its consumer group stalled.)
func TestOffsetCommitOfPartitionsElsewhere(t *testing.T) {
	c := newTestCluster(t, 3, nil)
	c.createTopic("spread", 3, 1, nil) // one replica each: every broker lacks two
	adm := kadm.NewClient(c.client())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offsets := kadm.Offsets{}
	for p := range int32(3) {
		offsets.Add(kadm.Offset{Topic: "spread", Partition: p, At: int64(10 + p), LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, "g", offsets)
	if err != nil {
		t.Fatal(err)
	}
	if err := resps.Error(); err != nil {
		t.Fatalf("committing offsets of partitions on other brokers: %v", err)
	}
	fetched, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		if o, ok := fetched.Lookup("spread", p); !ok || o.At != int64(10+p) || o.Err != nil {
			t.Errorf("spread/%d: fetched %+v, %v", p, o, ok)
		}
	}
	dresps, err := adm.DeleteOffsets(ctx, "g", kadm.TopicsSet{"spread": {0: {}, 1: {}, 2: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := dresps.Error(); err != nil {
		t.Fatalf("deleting offsets of partitions on other brokers: %v", err)
	}
	// A partition the topic does not have is still unknown.
	bad := kadm.Offsets{}
	bad.Add(kadm.Offset{Topic: "spread", Partition: 3, At: 1, LeaderEpoch: -1})
	resps, err = adm.CommitOffsets(ctx, "g", bad)
	if err == nil {
		err = resps.Error()
	}
	if err == nil {
		t.Fatal("a commit of spread/3 (the topic has 3 partitions) was accepted")
	}
}
