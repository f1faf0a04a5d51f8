package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/bench/nullsink"
	"github.com/weir-dev/weir/env"
)

// BenchmarkReplicatedProduce measures what replication costs a producer,
// all in one run on this machine with one client: a franz-go producer
// (linger 0, one goroutine producing, 100 B values, one partition) against
//
//   - null: the null sink (bench/nullsink), which answers Produce and
//     stores nothing: the ceiling of this client here;
//   - rf1-acks1: one broker, replication factor 1, acks=1;
//   - rf3-acksall: three brokers in this process (each a voter of the
//     metadata quorum, loopback TCP, its own data dir on the real disk),
//     replication factor 3, min.insync.replicas=2, acks=all (idempotent),
//     with fsync-on-ack: a batch is acknowledged once the leader and both
//     followers have it on disk.
//
// Two shapes, each reporting records/s and the produce latency (from
// Produce to its acknowledgement) at p50, p99 and p99.9 in ms:
//
//   - max-rate: b.N records produced as fast as the client takes them
//     (the latency is then mostly the wait in the client's buffer);
//   - one-at-a-time: b.N records each produced once the previous one was
//     acknowledged, so the latency is one produce's own path.
//
// Run with -benchtime=Nx so every target gets the same number of records:
//
//	go test ./broker -run XXX -bench ReplicatedProduce/.*/max-rate -benchtime 2000000x
//	go test ./broker -run XXX -bench ReplicatedProduce/.*/one-at-a-time -benchtime 5000x
func BenchmarkReplicatedProduce(b *testing.B) {
	targets := []struct {
		name  string
		start func(b *testing.B) []string
		opts  []kgo.Opt
	}{
		{"null", startNullSink, []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}},
		{"rf1-acks1", func(b *testing.B) []string { return startRealCluster(b, 1, 1, nil) },
			[]kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}},
		{"rf3-acksall", func(b *testing.B) []string {
			return startRealCluster(b, 3, 3, map[string]string{"min.insync.replicas": "2"})
		}, []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}},
	}
	for _, t := range targets {
		b.Run(t.name, func(b *testing.B) {
			seeds := t.start(b)
			b.Run("max-rate", func(b *testing.B) { benchProducer(b, seeds, false, t.opts...) })
			b.Run("one-at-a-time", func(b *testing.B) { benchProducer(b, seeds, true, t.opts...) })
		})
	}
}

// startNullSink serves the null sink on a loopback port.
func startNullSink(b *testing.B) []string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nullsink.Serve(ctx, ln, nullsink.Options{Partitions: 1}) }()
	b.Cleanup(func() { cancel(); <-done })
	return []string{ln.Addr().String()}
}

// benchProducer produces b.N 100-byte records to "bench" partition 0,
// each after the previous one's acknowledgement if oneAtATime, and
// reports throughput and latency percentiles.
func benchProducer(b *testing.B, seeds []string, oneAtATime bool, opts ...kgo.Opt) {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds...), kgo.ProducerLinger(0), kgo.DefaultProduceTopic("bench"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()),
	}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	value := make([]byte, 100) // as bench/loadgen: uncompressed, not all one byte
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	// Warm up: metadata, connections, the producer id.
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
		b.Fatal(err)
	}
	hist := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		wg.Add(1)
		sent := time.Now() // the record's Timestamp has only milliseconds
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			took := time.Since(sent)
			mu.Lock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			hist.RecordValue(took.Microseconds())
			mu.Unlock()
			wg.Done()
		})
		if oneAtATime {
			wg.Wait()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	for _, q := range []float64{50, 99, 99.9} {
		b.ReportMetric(float64(hist.ValueAtQuantile(q))/1000, fmt.Sprintf("p%g-ms", q))
	}
}

// startRealCluster starts n brokers in this process on loopback TCP and
// the OS file system (each in its own temp dir), every one a voter of the
// metadata quorum, creates topic "bench" with one partition and
// replication factor rf, and returns the brokers' addresses.
func startRealCluster(b *testing.B, n int, rf int16, configs map[string]string) []string {
	return startRealClusterTopic(b, n, 1, rf, configs)
}

// startRealClusterTopic is startRealCluster with a topic of partitions
// partitions, each led somewhere with its whole ISR before it returns.
func startRealClusterTopic(b *testing.B, n int, partitions int32, rf int16, configs map[string]string) []string {
	seeds, _ := startRealBrokers(b, n, partitions, rf, configs)
	return seeds
}

// startRealBrokers is startRealClusterTopic returning the brokers too.
func startRealBrokers(b testing.TB, n int, partitions int32, rf int16, configs map[string]string) ([]string, []*Broker) {
	ctl := make([]string, n)
	var voters []string
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctl[i] = ln.Addr().String()
		ln.Close()
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, ctl[i]))
	}
	var seeds []string
	var brokers []*Broker
	for i := range n {
		cfg := DefaultConfig()
		cfg.NodeID = int32(i + 1)
		cfg.ListenAddr = "127.0.0.1:0"
		cfg.DataDir = b.TempDir()
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if n > 1 {
			cfg.ControllerListenAddr = ctl[i]
			cfg.ControllerQuorumVoters = strings.Join(voters, ",")
		}
		br, err := Open(cfg, Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ln, err := br.Listen(ctx)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); br.Serve(ctx, ln) }()
		b.Cleanup(func() { cancel(); <-done })
		brokers = append(brokers, br)
		seeds = append(seeds, ln.Addr().String())
	}
	b.Cleanup(func() {
		var wg sync.WaitGroup
		for _, br := range brokers {
			wg.Add(1)
			go func() { defer wg.Done(); br.Close() }()
		}
		wg.Wait()
	})
	for _, br := range brokers {
		mustBeActive(b, br)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	kc := map[string]*string{}
	for k, v := range configs {
		kc[k] = &v
	}
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, rf, kc, "bench"); err != nil || resp.Err != nil {
		b.Fatalf("create topic: %v %v", err, resp.Err)
	}
	// Wait until every partition's leader has its whole ISR.
	for {
		ready := 0
		for i := range partitions {
			for _, br := range brokers {
				if t := br.topicByName("bench"); t != nil {
					if q := t.partition(i); q != nil && q.Leading() && len(q.ISR()) == int(rf) {
						ready++
					}
				}
			}
		}
		if ready == int(partitions) {
			return seeds, brokers
		}
		if ctx.Err() != nil {
			b.Fatal("the bench topic has partitions without a leader with a full ISR")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkSpreadProduce measures what spreading a topic's partitions over
// brokers buys one client (issue 10): 6 partitions, replication factor 1,
// acks=all idempotent (fsync-on-ack), on one broker against three brokers
// in this process, same client, same run. The client's partitioner spreads
// the records over the 6 partitions. On a 2-core machine that runs the
// client and every broker, the brokers share the cores, so this shows the
// cost of routing and of three processes' worth of work, not a cluster's
// scaling:
//
//	go test ./broker -run XXX -bench SpreadProduce -benchtime 1000000x
func BenchmarkSpreadProduce(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("brokers-%d", n), func(b *testing.B) {
			seeds := startRealClusterTopic(b, n, 6, 1, nil)
			benchProducer(b, seeds, false, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
		})
	}
}
