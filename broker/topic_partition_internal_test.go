package broker

import (
	"testing"

	"github.com/weir-dev/weir/broker/metadata"
)

// TestHasPartition: a topic has every partition of the metadata, also
// those whose replicas live on other brokers (found by the simulator: a
// coordinator refused commits for them with UNKNOWN_TOPIC_OR_PARTITION).
func TestHasPartition(t *testing.T) {
	tp := &topic{info: &metadata.Topic{Name: "t"}, partitions: make([]*partition, 3)}
	for i, want := range []bool{true, true, true, false} {
		if got := tp.hasPartition(int32(i)); got != want {
			t.Errorf("partition %d: %v, want %v", i, got, want)
		}
	}
	var none *topic
	if none.hasPartition(0) || tp.hasPartition(-1) {
		t.Error("a partition of no topic, or a negative one")
	}
}
