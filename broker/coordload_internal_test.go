package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// flipData is a memfs.ReadCorrupter that flips bit 0 of the byte at file
// offset at of the file whose path ends with suffix, in the first times
// reads longer than a batch header that cover it (a load's read of the
// data, not the header peek of a lookup). The stored bytes never change.
type flipData struct {
	mu      sync.Mutex
	suffix  string
	at      int64
	times   int
	flipped int
}

func (f *flipData) MaybeError(memfs.Op, string) error { return nil }

func (f *flipData) CorruptRead(_ memfs.Op, path string, off int64, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flipped >= f.times || !strings.HasSuffix(path, f.suffix) || len(p) <= 61 || f.at < off || f.at >= off+int64(len(p)) {
		return
	}
	p[f.at-off] ^= 1
	f.flipped++
}

func (f *flipData) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flipped
}

// openMemBroker opens a one-node broker on a memfs disk (returned, for an
// injector), active and closed when the test ends. Its listen address is a
// fixed port never listened on: the broker registers at Open.
func openMemBroker(t *testing.T) (*Broker, *memfs.FS) {
	t.Helper()
	return openMemBrokerWith(t, func(*Config) {})
}

// openMemBrokerWith is openMemBroker with the default config changed by
// configure first.
func openMemBrokerWith(t *testing.T, configure func(*Config)) (*Broker, *memfs.FS) {
	t.Helper()
	fs := memfs.New()
	cfg := DefaultConfig()
	cfg.ListenAddr, cfg.DataDir = "127.0.0.1:1", "/data"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	configure(&cfg)
	b, err := Open(cfg, Deps{FS: fs, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	mustBeActive(t, b)
	return b, fs
}

// initTxnProducer runs InitProducerId for a transactional id on b.
func initTxnProducer(t *testing.T, b *Broker, id string) *kmsg.InitProducerIDResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 10000
	rep, err := handleInitProducerID(ctx, b, &request{key: 22, version: 4, kreq: req, conn: &conn{readDone: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.finish != nil {
		rep.finish(ctx)
	}
	resp := rep.resp.(*kmsg.InitProducerIDResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("InitProducerId %s: error code %d", id, resp.ErrorCode)
	}
	return resp
}

// waitTxnServing waits until the shard of transactional id serves; a
// shard that failed fails the test at once.
func waitTxnServing(t *testing.T, b *Broker, id string) *txnShard {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cs, code := b.txns.route(id); code == 0 {
			cs.mu.Lock()
			state := cs.state
			cs.mu.Unlock()
			switch state {
			case shardServing:
				return cs
			case shardFailed:
				t.Fatalf("the transaction coordinator's shard of %s failed", id)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("this broker does not coordinate transactional id %s within 10s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTxnShardLoadSurvivesReadFlips: seed 5130 (docs/SIMULATION.md). Bits
// flipped on the way from the disk while a transaction coordinator's
// shard loads fail the load's reads (the batch's CRC); the stored bytes
// are right, so the shard must load again, not stay unavailable until a
// restart (its open transactions would then hold the last stable offsets
// of their partitions forever), and must then hold what the log says: the
// id's producer keeps its producer id at the next epoch.
func TestTxnShardLoadSurvivesReadFlips(t *testing.T) {
	b, fs := openMemBroker(t)
	if code := b.txns.ensure(context.Background()); code != 0 {
		t.Fatalf("ensure: %d", code)
	}
	const id = "tx"
	cs := waitTxnServing(t, b, id)
	first := initTxnProducer(t, b, id)

	// Byte 30 is in the first batch's base timestamp, which its CRC
	// covers.
	flip := &flipData{suffix: fmt.Sprintf("/%s-%d/%020d.log", transactionStateTopic, cs.index, 0), at: 30, times: 2}
	fs.SetInjector(flip)
	defer fs.SetInjector(nil)
	// Load the shard again, as when this broker comes to lead the
	// partition in a new epoch.
	tc := b.txns
	tc.mu.Lock()
	tc.shards[cs.index] = nil
	tc.mu.Unlock()
	cs.unload()
	tc.follow(b.topicByName(transactionStateTopic))

	cs = waitTxnServing(t, b, id)
	if got := flip.count(); got != 2 {
		t.Fatalf("%d reads of the shard's log were flipped, want 2", got)
	}
	cs.mu.Lock()
	failures := cs.loads.failures
	cs.mu.Unlock()
	if failures != 2 {
		t.Fatalf("the shard served after %d failed loads, want 2 (each flip fails one)", failures)
	}
	second := initTxnProducer(t, b, id)
	if second.ProducerID != first.ProducerID || second.ProducerEpoch != first.ProducerEpoch+1 {
		t.Fatalf("after the reload InitProducerId gave id %d epoch %d; the log says id %d epoch %d, so want epoch %d",
			second.ProducerID, second.ProducerEpoch, first.ProducerID, first.ProducerEpoch, first.ProducerEpoch+1)
	}
}

func TestCoordLoadBackoff(t *testing.T) {
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := coordLoadBackoff(i + 1); got != w {
			t.Errorf("coordLoadBackoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := coordLoadBackoff(1000); got != coordLoadRetryMax {
		t.Errorf("coordLoadBackoff(1000) = %v, want %v", got, coordLoadRetryMax)
	}
}

// TestGroupShardLoadSurvivesReadFlips: TestTxnShardLoadSurvivesReadFlips
// for the group coordinator; after the reload the group's committed offset
// is the one the log holds.
func TestGroupShardLoadSurvivesReadFlips(t *testing.T) {
	b, fs := openMemBroker(t)
	mustCreateTopic(t, b, "t", 1, nil)
	if code := b.groups.ensure(context.Background()); code != 0 {
		t.Fatalf("ensure: %d", code)
	}
	const g = "g"
	waitCoordinating(t, b, g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version, commit.Group, commit.Generation = 8, g, -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "t"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Offset = 42
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	rep, err := handleOffsetCommit(ctx, b, &request{key: 8, version: 8, kreq: commit, conn: &conn{readDone: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.finish != nil {
		rep.finish(ctx)
	}
	if code := rep.resp.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit: error code %d", code)
	}

	cs, _ := b.groups.route(g)
	flip := &flipData{suffix: fmt.Sprintf("/%s-%d/%020d.log", offsetsTopic, cs.index, 0), at: 30, times: 2}
	fs.SetInjector(flip)
	defer fs.SetInjector(nil)
	gc := b.groups
	gc.mu.Lock()
	gc.shards[cs.index] = nil
	gc.mu.Unlock()
	cs.unload()
	gc.follow(b.topicByName(offsetsTopic))

	deadline := time.Now().Add(10 * time.Second)
	for {
		cs, _ = b.groups.route(g)
		cs.mu.Lock()
		state, failures := cs.state, cs.loads.failures
		cs.mu.Unlock()
		if state == shardServing {
			if failures != 2 || flip.count() != 2 {
				t.Fatalf("the shard served after %d failed loads and %d flipped reads, want 2 each", failures, flip.count())
			}
			break
		}
		if state == shardFailed {
			t.Fatal("the group coordinator's shard failed")
		}
		if time.Now().After(deadline) {
			t.Fatal("the shard does not serve within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version, fetch.Group = 7, g
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "t", []int32{0}
	fetch.Topics = append(fetch.Topics, ft)
	rep, err = handleOffsetFetch(ctx, b, &request{key: 9, version: 7, kreq: fetch, conn: &conn{readDone: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.finish != nil {
		rep.finish(ctx)
	}
	resp := rep.resp.(*kmsg.OffsetFetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].Offset != 42 {
		t.Fatalf("after the reload the group's offsets are %+v, want t/0 at 42", resp.Topics)
	}
}
