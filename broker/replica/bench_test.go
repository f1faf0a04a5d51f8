package replica_test

import (
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/replica"
)

// BenchmarkLeaderProduceRound is the leader's work per acks=all produce at
// RF=3: the append, the fsync, one fetch from each follower, the ack.
func BenchmarkLeaderProduceRound(b *testing.B) {
	a := replica.Assignment{Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	l, _, err := replica.NewLeader(replica.LeaderConfig{LocalID: 1, MinInsync: 2, LagTimeMax: 30 * time.Second}, a, replica.Local{}, 0, t0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	now := t0
	for i := range b.N {
		end := int64(i + 1)
		now = now.Add(time.Millisecond)
		l.LocalAppended(replica.Local{End: end, Durable: end - 1}, now)
		if done, _ := l.WaitAck(uint64(i), end); done {
			b.Fatal("acked before replication")
		}
		local := replica.Local{End: end, Durable: end}
		l.LocalAppended(local, now)
		l.RecordFetch(2, end, end, local, now)
		if u := l.RecordFetch(3, end, end, local, now); len(u.Acks) != 1 {
			b.Fatalf("round %d completed %d acks", i, len(u.Acks))
		}
	}
}
