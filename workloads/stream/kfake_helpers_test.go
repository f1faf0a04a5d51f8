package stream

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// kfakeCluster is a one-broker kfake cluster with topics "in" and "out"
// of one partition, and a context for the test's minute.
func kfakeCluster(t *testing.T) (*kfake.Cluster, context.Context) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c, ctx
}

// kfakeMember opens a member of group "g" on c that copies "in" to "out"
// (at-least-once unless change, given the Config first, says otherwise),
// recording into the returned recorder.
func kfakeMember(t *testing.T, c *kfake.Cluster, change func(*Config)) (*member, *history.Recorder) {
	t.Helper()
	rec := history.NewRecorder(time.Now(), time.Now)
	cfg := Config{Group: "g", Input: "in", Partitions: 1, Outputs: []string{"out"},
		NewApp: func() App { return copyApp{} }, Procs: &gen.Procs{}, IDs: &gen.Counter{}, Rand: rand.New(rand.NewPCG(1, 2)),
		Client: gen.ClientConfig{Bootstrap: c.ListenAddrs(), OpTimeout: time.Second}}
	if change != nil {
		change(&cfg)
	}
	p, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	m := &member{p: p, rng: rand.New(rand.NewPCG(3, 4)), proc: p.cfg.Procs.New(), closing: new(sync.WaitGroup)}
	m.prepare()
	if err := m.open(); err != nil {
		t.Fatal(err)
	}
	return m, rec
}

// produceIn writes values to "in" on c.
func produceIn(ctx context.Context, t *testing.T, c *kfake.Cluster, vs ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range vs {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "in", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}
