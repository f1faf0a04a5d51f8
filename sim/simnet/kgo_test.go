package simnet_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/sim/simnet"
)

// TestKgoThroughWeir: a franz-go client produces to a real Weir broker (on
// memfs) and consumes back, every byte going through the simulated network.
func TestKgoThroughWeir(t *testing.T) {
	n := simnet.New(rand.New(rand.NewPCG(3, 4)), simnet.Options{
		LatencyMin: 50 * time.Microsecond, LatencyMax: 500 * time.Microsecond, Jitter: 300 * time.Microsecond,
	})
	cfg := broker.DefaultConfig()
	cfg.ListenAddr = "n1:9092"
	cfg.DataDir = "/data"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := broker.Open(cfg, broker.Deps{FS: memfs.New(), Net: n.Host("n1"), Clock: env.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := b.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if b.Addr() != "n1:9092" {
		t.Fatalf("advertised %q", b.Addr())
	}

	cl, err := kgo.NewClient(
		kgo.SeedBrokers("n1:9092"),
		kgo.Dialer(n.Host("c1").Dial),
		kgo.DefaultProduceTopic("events"),
		kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AllowAutoTopicCreation(),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer pcancel()
	const count = 200
	for i := range count {
		r := &kgo.Record{Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprintf("v%03d", i))}
		cl.Produce(pctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(pctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < count {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("consumed %d of %d before the deadline", len(seen), count)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Errorf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if seen[string(r.Value)] {
				t.Errorf("duplicate %s at offset %d", r.Value, r.Offset)
			}
			seen[string(r.Value)] = true
		})
	}
	for i := range count {
		if !seen[fmt.Sprintf("v%03d", i)] {
			t.Errorf("v%03d produced but not consumed", i)
		}
	}
}
