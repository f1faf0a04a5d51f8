package group

import (
	"fmt"
	"testing"
)

// BenchmarkReplay: loading a partition of __consumer_offsets that was
// never compacted, one commit record at a time (100 groups, 10 partitions
// each).
func BenchmarkReplay(b *testing.B) {
	var log []Record
	for i := 0; i < 100_000; i++ {
		oc := &offsetCommit{offset: int64(i), leaderEpoch: 3, metadata: "", commitMs: int64(i), expireMs: -1}
		log = append(log, offsetCommitRecord(fmt.Sprintf("group-%d", i%100), "orders", int32(i%10), oc))
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		s := NewShard(DefaultConfig(), func() string { return "x" })
		for _, r := range log {
			if err := s.Replay(r.Key, r.Value); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(log)), "ns/record")
}
