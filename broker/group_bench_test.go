package broker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkGroupConsume: a topic of 6 partitions holding 300,000 records
// of 100 B, read from its start to its end by one consumer assigned all
// six partitions, then by a group of six members (kgo.ConsumerGroup, the
// default cooperative-sticky assignor, one partition each), against one
// in-process broker on loopback. One iteration is one full read of each,
// so the two share the machine's state: group/single is the ratio of
// their records/s over the run (docs/PERFORMANCE.md quotes it). The group
// is formed before its read, its members' fetching paused, so that the
// timed read is consumption alone; form-ms is the formation (from the
// first member's client to every member owning its partition).
func BenchmarkGroupConsume(b *testing.B) {
	const partitions, total = 6, 300_000
	addr := benchTxnBroker(b)
	benchTopic(b, addr, "bench", partitions)
	// Partition by partition, in full batches, so that the partitions
	// hold the same number of records.
	p := benchClient(b, addr, kgo.DefaultProduceTopic("bench"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.NoCompression()))
	ctx := context.Background()
	value := make([]byte, 100)
	for i := range total {
		p.Produce(ctx, &kgo.Record{Value: value, Partition: int32(i * partitions / total)}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	all := map[int32]kgo.Offset{}
	for i := range int32(partitions) {
		all[i] = kgo.NewOffset().AtStart()
	}
	var single, group, formed time.Duration
	b.SetBytes(2 * total * int64(len(value)))
	b.ResetTimer()
	for i := range b.N {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"bench": all}))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if got := readTogether(ctx, []*kgo.Client{cl}, total); got != total {
			b.Fatalf("one consumer read %d records, want %d", got, total)
		}
		single += time.Since(start)
		cl.Close()

		start = time.Now()
		members := formGroup(b, addr, fmt.Sprintf("bench-%d", i), partitions)
		formed += time.Since(start)
		start = time.Now()
		for _, cl := range members {
			cl.ResumeFetchTopics("bench")
		}
		if got := readTogether(ctx, members, total); got != total {
			b.Fatalf("the group read %d records, want %d", got, total)
		}
		group += time.Since(start)
		for _, cl := range members {
			cl.Close()
		}
	}
	b.ReportMetric(float64(total*b.N)/single.Seconds(), "single-records/s")
	b.ReportMetric(float64(total*b.N)/group.Seconds(), "group-records/s")
	b.ReportMetric(single.Seconds()/group.Seconds(), "group/single")
	b.ReportMetric(float64(formed.Milliseconds())/float64(b.N), "form-ms")
}

// formGroup starts n members of group, their fetching paused, and returns
// once each owns exactly one partition of "bench".
func formGroup(b *testing.B, addr, group string, n int) []*kgo.Client {
	b.Helper()
	var mu sync.Mutex
	owned := make([]map[int32]bool, n)
	var members []*kgo.Client
	for i := range n {
		owned[i] = map[int32]bool{}
		change := func(add bool) func(context.Context, *kgo.Client, map[string][]int32) {
			return func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range ps["bench"] {
					if add {
						owned[i][p] = true
					} else {
						delete(owned[i], p)
					}
				}
			}
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics("bench"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(change(true)), kgo.OnPartitionsRevoked(change(false)), kgo.OnPartitionsLost(change(false)))
		if err != nil {
			b.Fatal(err)
		}
		cl.PauseFetchTopics("bench")
		members = append(members, cl)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		ready := true
		for _, o := range owned {
			ready = ready && len(o) == 1
		}
		mu.Unlock()
		if ready {
			return members
		}
		if time.Now().After(deadline) {
			b.Fatalf("group %s did not form: %v", group, owned)
		}
		// kgo runs the group's callbacks from PollFetches: poll each
		// member briefly (fetching is paused: nothing is read).
		for _, cl := range members {
			pctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			cl.PollFetches(pctx)
			cancel()
		}
	}
}

// readTogether polls every client concurrently until they read want records
// between them, and returns how many they read.
func readTogether(ctx context.Context, cls []*kgo.Client, want int64) int64 {
	var got atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				if got.Add(int64(fs.NumRecords())) >= want {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	return got.Load()
}
