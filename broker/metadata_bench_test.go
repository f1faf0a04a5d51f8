package broker

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// BenchmarkCreatePartitions measures how long a 3-broker cluster (in this
// process, on the simulated network and disks, real clock) takes to
// create a topic of 1,000 partitions, from the CreateTopics request until
// every partition is led and its whole ISR in sync (issue 10), at
// replication factors 1 and 3. Run with -benchtime=3x:
//
//	go test ./broker -run XXX -bench CreatePartitions -benchtime 3x
func BenchmarkCreatePartitions(b *testing.B) {
	const partitions = 1000
	for _, rf := range []int16{1, 3} {
		b.Run(fmt.Sprintf("rf-%d", rf), func(b *testing.B) {
			c := newTestCluster(b, 3, nil)
			adm := kadm.NewClient(c.client())
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("bench-%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				resp, err := adm.CreateTopic(ctx, partitions, rf, nil, name)
				cancel()
				if err == nil {
					err = resp.Err
				}
				if err != nil {
					b.Fatalf("create %s: %v", name, err)
				}
				c.waitFor(name+" led and in sync", 2*time.Minute, func() bool {
					for p := range int32(partitions) {
						if l := c.leaderOf(name, p); l < 0 || len(c.partitionOn(l, name, p).ISR()) != int(rf) {
							return false
						}
					}
					return true
				})
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*partitions), "µs/partition")
		})
	}
}

// BenchmarkClusterMemory10k measures the heap and goroutine stacks of a
// 3-broker cluster (in this process, simulated disks) with 10,000 idle
// partitions at replication factor 3, so that every broker holds 10,000
// replicas, a third of them as leader (issue 10: memory per broker at
// 10,000 partitions). Run with -benchtime=1x.
func BenchmarkClusterMemory10k(b *testing.B) {
	const partitions = 10000
	for range b.N {
		c := newTestCluster(b, 3, nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range 10 {
			c.createTopic(fmt.Sprintf("idle-%d", i), partitions/10, 3, nil)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/3/(1<<20), "heap-MiB/broker")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/3/(1<<20), "stack-MiB/broker")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc+after.StackInuse-before.StackInuse)/(3*partitions), "B/replica")
		c.closeAll()
	}
}
