package controller

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkCreate1000Partitions: one CreateTopics of 1,000 partitions
// (RF=1) on 3 brokers, decided and applied to the image.
func BenchmarkCreate1000Partitions(b *testing.B) {
	for _, rf := range []int16{1, 3} {
		b.Run(fmt.Sprintf("rf=%d", rf), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := activeCluster(b, 3, nil)
				s.noChecks = true
				b.StartTimer()
				if st := s.create("t", 1000, rf); st.ErrorCode != 0 {
					b.Fatal(errName(st.ErrorCode))
				}
			}
		})
	}
}

// BenchmarkCreate1000Topics: 1,000 CreateTopics of one partition each on
// 3 brokers, each decided and applied as its own log entry, as the quorum
// does with requests that arrive one by one.
func BenchmarkCreate1000Topics(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := activeCluster(b, 3, nil)
		s.noChecks = true
		b.StartTimer()
		for t := range 1000 {
			req := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fmt.Sprintf("t%04d", t), 1, 1
			req.Topics = append(req.Topics, rt)
			s.decide(req)
		}
	}
}
