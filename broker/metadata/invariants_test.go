package metadata

import (
	"strings"
	"testing"
)

// CheckLeaderRequests holds a leader's ISR change to the state its request
// named, in the image the change applies to; changes without a request
// (the controller's own) are not judged.
func TestCheckLeaderRequests(t *testing.T) {
	// sampleImage: a/0 replicas [1 2], ISR [1 2], leader 1, epochs 0/0;
	// brokers 1-3 at broker epoch 1.
	change := func(isr []int32, pepoch int32, q *LeaderRequest) *PartitionChangeRecord {
		return &PartitionChangeRecord{TopicID: idA, Partition: 0, Leader: NoLeaderChange, ISR: isr, PartitionEpoch: pepoch, Request: q}
	}
	req := func(broker int32, brokerEpoch int64, leaderEpoch, partitionEpoch int32) *LeaderRequest {
		return &LeaderRequest{BrokerID: broker, BrokerEpoch: brokerEpoch, LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch}
	}
	controllersShrink := change([]int32{1}, 1, nil)
	for _, tc := range []struct {
		name    string
		records []Record
		want    string // "" for clean
	}{
		{"the leader's change at the current epochs", []Record{change([]int32{1}, 1, req(1, 1, 0, 0))}, ""},
		{"the controller's own change", []Record{controllersShrink}, ""},
		{"a change of a record before it in the entry", []Record{controllersShrink, change([]int32{1, 2}, 2, req(1, 1, 0, 1))}, ""},
		{"no partition change", []Record{&FenceBrokerRecord{NodeID: 3, Epoch: 1}}, ""},
		{"a stale partition epoch", []Record{change([]int32{1}, 1, req(1, 1, 0, 7))},
			"computed from partition epoch 7 and accepted at partition epoch 0"},
		{"stale after a controller's change in the same entry", []Record{controllersShrink, change([]int32{1, 2}, 2, req(1, 1, 0, 0))},
			"computed from partition epoch 0 and accepted at partition epoch 1 (ISR [1])"},
		{"a stale leader epoch", []Record{change([]int32{1}, 1, req(1, 1, 3, 0))}, "in leader epoch 3 was accepted in leader epoch 0"},
		{"not the leader", []Record{change([]int32{2}, 1, req(2, 1, 0, 0))}, "was accepted; the leader is 1"},
		{"a stale broker epoch", []Record{change([]int32{1}, 1, req(1, 0, 0, 0))}, "at broker epoch 0 was accepted; the broker's epoch is 1"},
		{"an unknown broker", []Record{change([]int32{1}, 1, req(9, 1, 0, 0))}, "the broker's epoch is -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLeaderRequests(sampleImage(t), tc.records)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("flagged a correct change: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("missed it (want %q)", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got %q, want it to say %q", err, tc.want)
			}
		})
	}
}
