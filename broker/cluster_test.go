package broker

// A cluster of in-process brokers for the replication tests: each broker
// has a memfs disk and a host on one simulated network (sim/simnet), and
// is a voter of the metadata quorum (combined mode), as `weir serve
// --cluster 3` runs them. Clients reach the brokers through the same
// network from a host of their own. Time is the real clock, with short
// sessions and lag times so that failures are noticed within a second or
// two.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/sim/simnet"
)

type testCluster struct {
	t    testing.TB
	net  *simnet.Network
	rng  *rand.Rand
	size int
	tune func(*Config)

	// breaches collects every invariant breach of every broker (with
	// -tags invariants).
	breaches breaches

	mu      sync.Mutex
	disks   map[int32]*memfs.FS
	brokers map[int32]*Broker
	stops   map[int32]func()
}

// newTestCluster starts n brokers and waits until every one is active.
// tune, if set, edits each broker's config before it opens.
func newTestCluster(t testing.TB, n int, tune func(*Config)) *testCluster {
	c := &testCluster{
		t:    t,
		net:  simnet.New(rand.New(rand.NewPCG(uint64(n), 3)), simnet.Options{LatencyMin: 20 * time.Microsecond, LatencyMax: 100 * time.Microsecond}),
		rng:  rand.New(rand.NewPCG(5, 8)),
		size: n, tune: tune,
		disks: map[int32]*memfs.FS{}, brokers: map[int32]*Broker{}, stops: map[int32]func(){},
	}
	t.Cleanup(c.closeAll)
	for id := int32(1); id <= int32(n); id++ {
		c.start(id)
	}
	for id := int32(1); id <= int32(n); id++ {
		mustBeActive(t, c.broker(id))
	}
	return c
}

func host(id int32) string { return fmt.Sprintf("b%d", id) }

func (c *testCluster) config(id int32) Config {
	cfg := DefaultConfig()
	cfg.NodeID = id
	cfg.ListenAddr = host(id) + ":9092"
	cfg.AdvertisedAddr = cfg.ListenAddr
	cfg.ControllerListenAddr = host(id) + ":9093"
	var voters []string
	for v := int32(1); v <= int32(c.size); v++ {
		voters = append(voters, fmt.Sprintf("%d@%s:9093", v, host(v)))
	}
	cfg.ControllerQuorumVoters = strings.Join(voters, ",")
	cfg.DataDir = "/data"
	cfg.SessionTimeout = time.Second
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.ReplicaLagTimeMax = time.Second
	cfg.ReplicaFetchWaitMax = 200 * time.Millisecond
	cfg.ReplicaFetchBackoff = 100 * time.Millisecond
	cfg.BackgroundSyncNice = 0
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("WEIR_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", id)
	}
	if c.tune != nil {
		c.tune(&cfg)
	}
	return cfg
}

// start opens broker id on its disk (a new one the first time) and serves
// it.
func (c *testCluster) start(id int32) *Broker {
	c.t.Helper()
	c.mu.Lock()
	if c.disks[id] == nil {
		c.disks[id] = memfs.New()
	}
	disk := c.disks[id]
	c.mu.Unlock()
	b, err := Open(c.config(id), Deps{FS: disk, Net: c.net.Host(host(id)), Clock: env.RealClock{}, Breach: c.breaches.add})
	if err != nil {
		c.t.Fatalf("open broker %d: %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := b.Listen(ctx)
	if err != nil {
		cancel()
		c.t.Fatalf("listen broker %d: %v", id, err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		b.Serve(ctx, ln)
	}()
	c.mu.Lock()
	c.brokers[id] = b
	c.stops[id] = func() { cancel(); <-served }
	c.mu.Unlock()
	return b
}

func (c *testCluster) broker(id int32) *Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.brokers[id]
}

// crash is a power loss of broker id: its host is cut off at once, its
// goroutines end without an fsync, and its disk keeps what was synced and
// a seeded part of the rest.
func (c *testCluster) crash(id int32) {
	c.mu.Lock()
	b, stop := c.brokers[id], c.stops[id]
	delete(c.brokers, id)
	delete(c.stops, id)
	c.mu.Unlock()
	c.net.KillHost(host(id))
	stop()
	b.Abandon()
	c.mu.Lock()
	c.disks[id] = c.disks[id].Crash(c.rng, 0.5)
	c.mu.Unlock()
}

// stop shuts broker id down cleanly (a controlled shutdown first).
func (c *testCluster) stop(id int32) {
	c.mu.Lock()
	b, stop := c.brokers[id], c.stops[id]
	delete(c.brokers, id)
	delete(c.stops, id)
	c.mu.Unlock()
	stop()
	if err := b.Close(); err != nil {
		c.t.Errorf("close broker %d: %v", id, err)
	}
}

// closeAll ends every running broker at the end of a test. It abandons
// them (every goroutine ends, nothing is fsynced) rather than closing them
// cleanly: the last broker of a cluster stopping would wait out its
// controlled shutdown without a quorum, seconds per test for nothing.
func (c *testCluster) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, b := range c.brokers {
		c.stops[id]()
		b.Abandon()
		delete(c.brokers, id)
		delete(c.stops, id)
	}
}

// client is a franz-go client on the cluster's network.
func (c *testCluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	clientNet := c.net.Host("client")
	var seeds []string
	for id := int32(1); id <= int32(c.size); id++ {
		seeds = append(seeds, host(id)+":9092")
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.Dialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
			return clientNet.Dial(ctx, network, addr)
		}),
		kgo.RetryTimeout(30 * time.Second),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// createTopic creates a topic through a client and waits until every
// replica has it open and the leader leads it.
func (c *testCluster) createTopic(name string, partitions int32, rf int16, configs map[string]string) {
	c.t.Helper()
	kc := map[string]*string{}
	for k, v := range configs {
		kc[k] = &v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(c.client()).CreateTopic(ctx, partitions, rf, kc, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		c.t.Fatalf("create topic %s: %v", name, err)
	}
	c.waitFor("every replica of "+name+" to be led and in sync", 20*time.Second, func() bool {
		for p := range partitions {
			if l := c.leaderOf(name, p); l < 0 || len(c.partitionOn(l, name, p).ISR()) != int(rf) {
				return false
			}
		}
		return true
	})
}

// image is the newest image any running broker applied.
func (c *testCluster) image() *metadata.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *metadata.Image
	for _, b := range c.brokers {
		if img := b.image(); best == nil || img.Offset().Index > best.Offset().Index {
			best = img
		}
	}
	return best
}

// leaderOf is the partition's leader in the newest image, if it is
// running and leads it; -1 otherwise.
func (c *testCluster) leaderOf(topic string, index int32) int32 {
	t, ok := c.image().Topic(topic)
	if !ok || int(index) >= len(t.Partitions) {
		return -1
	}
	id := t.Partitions[index].Leader
	b := c.broker(id)
	if b == nil {
		return -1
	}
	if p := b.topicByName(topic).partition(index); p == nil || !p.Leading() {
		return -1
	}
	return id
}

// partitionOn is broker id's replica of topic-index, or nil.
func (c *testCluster) partitionOn(id int32, topic string, index int32) *partition.Partition {
	b := c.broker(id)
	if b == nil {
		return nil
	}
	return b.topicByName(topic).partition(index)
}

// imagePartition is topic-index in the newest image.
func (c *testCluster) imagePartition(topic string, index int32) *metadata.Partition {
	t, ok := c.image().Topic(topic)
	if !ok {
		c.t.Fatalf("no topic %s", topic)
	}
	return t.Partitions[index]
}

// waitFor polls cond every few milliseconds until it holds or d passes.
func (c *testCluster) waitFor(what string, d time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// batchesOf is the replica's log as stored, batch by batch.
func batchesOf(t testing.TB, p *partition.Partition) [][]byte {
	t.Helper()
	var out [][]byte
	if err := p.Batches(p.StartOffset(), func(b *record.Batch) error {
		out = append(out, bytes.Clone(b.Raw))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// converged waits until every running replica of topic-index has the
// leader's log end and high watermark, and checks that their logs are the
// same bytes at the same offsets.
func (c *testCluster) converged(topic string, index int32) {
	c.t.Helper()
	var leader int32
	c.waitFor(fmt.Sprintf("the replicas of %s-%d to converge", topic, index), 20*time.Second, func() bool {
		leader = c.leaderOf(topic, index)
		if leader < 0 {
			return false
		}
		lp := c.partitionOn(leader, topic, index)
		end, hw := lp.EndOffset(), lp.HighWatermark()
		if hw != end {
			return false
		}
		for _, id := range c.imagePartition(topic, index).Replicas {
			p := c.partitionOn(id, topic, index)
			if p == nil || p.EndOffset() != end || p.HighWatermark() != hw {
				return false
			}
		}
		return true
	})
	want := batchesOf(c.t, c.partitionOn(leader, topic, index))
	for _, id := range c.imagePartition(topic, index).Replicas {
		got := batchesOf(c.t, c.partitionOn(id, topic, index))
		if len(got) != len(want) {
			c.t.Fatalf("broker %d has %d batches of %s-%d, the leader %d has %d", id, len(got), topic, index, leader, len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				c.t.Fatalf("broker %d: batch %d of %s-%d differs from the leader's", id, i, topic, index)
			}
		}
	}
}

// breaches collects the names of the invariants brokers report broken
// (Deps.Breach; only builds with -tags invariants report any).
type breaches struct {
	mu    sync.Mutex
	names []string
}

func (bs *breaches) add(name, _ string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.names = append(bs.names, name)
}

func (bs *breaches) seen() []string {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(bs.names)))
}
