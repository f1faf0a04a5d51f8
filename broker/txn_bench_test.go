package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
)

// Transactions, measured with franz-go against a broker on loopback and a
// temp dir on disk (fsync on acks=all, the default), the same client in
// every case. docs/PERFORMANCE.md quotes them; run with -benchtime 5s or
// more so that the 1 s commit interval commits several times.

// benchTxnBroker starts a broker for a benchmark and returns its address.
func benchTxnBroker(b *testing.B) string {
	b.Helper()
	cfg := broker.DefaultConfig()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.DataDir = b.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Groups.Coordinator.InitialRebalanceDelayMs = 0
	br, err := broker.Open(cfg, broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := br.Listen(ctx)
	if err != nil {
		b.Fatal(err)
	}
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	if err := br.WaitActive(actx); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { br.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done; br.Close() })
	return ln.Addr().String()
}

func benchClient(b *testing.B, addr string, opts ...kgo.Opt) *kgo.Client {
	b.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

func benchTopic(b *testing.B, addr, topic string, partitions int32) {
	b.Helper()
	if resp, err := kadm.NewClient(benchClient(b, addr)).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil || resp.Err != nil {
		b.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
}

// BenchmarkTxnProduce: one producer writes b.N records of 100 B to 4
// partitions as fast as it can, idempotent (acks=all), or transactional
// with a commit every 10 ms, 100 ms or 1 s. records/s is the throughput;
// commits the transactions committed.
func BenchmarkTxnProduce(b *testing.B) {
	for _, mode := range []struct {
		name     string
		interval time.Duration // 0: idempotent, no transactions
	}{
		{"idempotent", 0},
		{"txn/commit=10ms", 10 * time.Millisecond},
		{"txn/commit=100ms", 100 * time.Millisecond},
		{"txn/commit=1s", time.Second},
	} {
		b.Run(mode.name, func(b *testing.B) {
			addr := benchTxnBroker(b)
			benchTopic(b, addr, "bench", 4)
			opts := []kgo.Opt{kgo.DefaultProduceTopic("bench"), kgo.RequiredAcks(kgo.AllISRAcks())}
			if mode.interval > 0 {
				opts = append(opts, kgo.TransactionalID("bench"))
			}
			cl := benchClient(b, addr, opts...)
			ctx := context.Background()
			value := make([]byte, 100)
			var mu sync.Mutex
			var firstErr error
			promise := func(_ *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			commits := 0
			var lastCommit time.Time
			begin := func() {
				if err := cl.BeginTransaction(); err != nil {
					b.Fatal(err)
				}
				lastCommit = time.Now()
			}
			end := func() {
				if err := cl.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
					b.Fatal(err)
				}
				commits++
			}
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			start := time.Now()
			if mode.interval > 0 {
				begin()
			}
			for i := 0; i < b.N; i++ {
				cl.Produce(ctx, &kgo.Record{Value: value}, promise)
				if mode.interval > 0 && i%64 == 63 && time.Since(lastCommit) >= mode.interval {
					end()
					begin()
				}
			}
			if mode.interval > 0 {
				end()
			} else if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(commits), "commits")
		})
	}
}

// BenchmarkTxnConsume: one consumer reads a topic of 100,000 records of
// 100 B in 4 partitions, written in transactions of 100 records of which
// one in ten aborted, from the start to its end: read_uncommitted reads
// every record, read_committed skips the aborted ones (the aborted
// transactions come with each fetch). One iteration is one full read.
func BenchmarkTxnConsume(b *testing.B) {
	addr := benchTxnBroker(b)
	benchTopic(b, addr, "bench", 4)
	const total, perTxn = 100_000, 100
	p := benchClient(b, addr, kgo.DefaultProduceTopic("bench"), kgo.TransactionalID("fill"))
	ctx := context.Background()
	value := make([]byte, 100)
	committed := 0
	for n := 0; n < total; n += perTxn {
		if err := p.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		for range perTxn {
			p.Produce(ctx, &kgo.Record{Value: value}, nil)
		}
		if err := p.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		commit := (n/perTxn)%10 != 9
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			b.Fatal(err)
		}
		if commit {
			committed += perTxn
		}
	}
	for _, iso := range []struct {
		name  string
		level kgo.IsolationLevel
		want  int
	}{
		{"read_uncommitted", kgo.ReadUncommitted(), total},
		{"read_committed", kgo.ReadCommitted(), committed},
	} {
		b.Run(iso.name, func(b *testing.B) {
			b.SetBytes(int64(iso.want * len(value)))
			for range b.N {
				cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench"),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso.level))
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for got < iso.want {
					fs := cl.PollFetches(ctx)
					fs.EachError(func(_ string, _ int32, err error) { b.Fatal(err) })
					got += fs.NumRecords()
				}
				cl.Close()
				if got != iso.want {
					b.Fatalf("read %d records, want %d", got, iso.want)
				}
			}
			b.ReportMetric(float64(iso.want*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkTxnCopyLatency: the end-to-end latency of a
// consume-transform-produce loop (franz-go's GroupTransactSession, one
// transaction per poll): a record written to the input until a
// read_committed consumer of the output gets the copy. One iteration is
// one record through the loop; ns/op is the latency.
func BenchmarkTxnCopyLatency(b *testing.B) {
	addr := benchTxnBroker(b)
	benchTopic(b, addr, "in", 1)
	benchTopic(b, addr, "out", 1)
	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(addr), kgo.TransactionalID("copier"),
		kgo.ConsumerGroup("copy"), kgo.ConsumeTopics("in"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan error, 1)
	go func() {
		for {
			fs := sess.PollFetches(ctx)
			if ctx.Err() != nil {
				loopDone <- nil
				return
			}
			recs := fs.Records()
			if len(recs) == 0 {
				continue
			}
			if err := sess.Begin(); err != nil {
				loopDone <- err
				return
			}
			for _, r := range recs {
				sess.Produce(ctx, &kgo.Record{Topic: "out", Value: r.Value}, nil)
			}
			if _, err := sess.End(ctx, kgo.TryCommit); err != nil && ctx.Err() == nil {
				loopDone <- err
				return
			}
		}
	}()
	defer func() { cancel(); <-loopDone; sess.Close() }()
	in := benchClient(b, addr, kgo.DefaultProduceTopic("in"))
	out := benchClient(b, addr, kgo.ConsumeTopics("out"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(50*time.Millisecond))
	// One record through the loop first: the group forms, the producer
	// gets its id.
	through := func(i int) {
		v := []byte(fmt.Sprint(i))
		if err := in.ProduceSync(ctx, &kgo.Record{Value: v}).FirstErr(); err != nil {
			b.Fatal(err)
		}
		for {
			fs := out.PollFetches(ctx)
			for _, r := range fs.Records() {
				if string(r.Value) == string(v) {
					return
				}
			}
			select {
			case err := <-loopDone:
				b.Fatalf("the copy loop stopped: %v", err)
			default:
			}
		}
	}
	through(-1)
	b.ResetTimer()
	for i := range b.N {
		through(i)
	}
}
