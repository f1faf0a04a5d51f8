//go:build invariants

package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/internal/invariants"
)

// The broker's invariant checks (-tags invariants) on memfs, which can
// tell what is durable: a healthy broker breaks none, and each planted
// defect that breaks one is reported under that one's name.

// heldSyncs is a memfs.Injector that holds every fsync until release is
// called: a disk slow enough that a fetch can come while an fsync is in
// flight. started receives a value as each fsync begins.
type heldSyncs struct {
	started chan struct{}
	mu      sync.Mutex
	held    chan struct{}
}

func newHeldSyncs() *heldSyncs {
	return &heldSyncs{started: make(chan struct{}, 100), held: make(chan struct{})}
}

func (h *heldSyncs) MaybeError(op memfs.Op, _ string) error {
	if op == memfs.OpSync {
		h.mu.Lock()
		ch := h.held
		h.mu.Unlock()
		h.started <- struct{}{}
		<-ch
	}
	return nil
}

// inFlight waits until an fsync is held.
func (h *heldSyncs) inFlight(t *testing.T) {
	t.Helper()
	select {
	case <-h.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no fsync began")
	}
}

// release lets the held fsyncs complete; later ones are held again.
func (h *heldSyncs) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.held)
	h.held = make(chan struct{})
}

// invariantBroker opens a broker with defects on a fresh memfs whose syncs
// wait for inj (nil: instant), with topic "t" of one partition.
func invariantBroker(t *testing.T, defects Defects, inj *heldSyncs) (*Broker, *partition.Partition, *breaches) {
	t.Helper()
	fs := memfs.New()
	cfg := DefaultConfig()
	cfg.DataDir = "/data"
	cfg.Defects = defects
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	bs := &breaches{}
	b, err := Open(cfg, Deps{FS: fs, Net: env.OSNet{}, Clock: env.RealClock{}, Breach: bs.add})
	if err != nil {
		t.Fatal(err)
	}
	mustCreateTopic(t, b, "t", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !b.waitLeading(ctx, "t") {
		t.Fatal("the broker does not lead t-0 within 10s")
	}
	fs.SetInjector(inj) // after the topic exists: its creation syncs too
	t.Cleanup(func() {
		fs.SetInjector(nil)
		inj.release()
		b.Close()
	})
	return b, b.topicByName("t").partition(0), bs
}

// appendValues appends one batch holding the values, acks=-1, and returns
// the offset after it.
func appendValues(t *testing.T, p *partition.Partition, values ...string) int64 {
	t.Helper()
	vs := make([][]byte, len(values))
	for i, v := range values {
		vs[i] = []byte(v)
	}
	batch, err := record.Parse(recordtest.Batch(recordtest.Options{}, vs...))
	if err != nil {
		t.Fatal(err)
	}
	res := p.Append(&batch, false, true)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.EndOffset
}

// fetchAll runs one fetch of partition 0 of "t" from offset 0 and returns
// the record bytes it served.
func fetchAll(b *Broker) int {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.MaxBytes = 1 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	_, n, _ := b.fetchOnce(req)
	return n
}

func waitHW(t *testing.T, p *partition.Partition, offset int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitHW(ctx, offset); err != nil {
		t.Fatalf("the high watermark did not reach %d: %v", offset, err)
	}
}

func TestInvariantsHoldOnAHealthyBroker(t *testing.T) {
	held := newHeldSyncs()
	b, p, bs := invariantBroker(t, Defects{}, held)
	for i := range 5 {
		end := appendValues(t, p, fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i), fmt.Sprintf("c%d", i))
		// The fsync is in flight: nothing new is visible yet.
		held.inFlight(t)
		fetchAll(b)
		held.release()
		waitHW(t, p, end)
		if n := fetchAll(b); n == 0 {
			t.Fatal("a fetch after the fsync served nothing")
		}
	}
	if got := bs.seen(); len(got) != 0 {
		t.Fatalf("a healthy broker broke %v", got)
	}
}

func TestInvariantsCatchDefects(t *testing.T) {
	tests := []struct {
		name    string
		defects Defects
		want    []string
	}{
		// The high watermark moves at append: past the synced offset, and
		// a fetch during the fsync serves what a crash would take back.
		{"early-high-watermark", Defects{EarlyHighWatermark: true}, []string{invariants.UndurableRead, invariants.UnsyncedHighWatermark}},
		// Three records advance the end by one.
		{"overlap-offsets", Defects{OverlapOffsets: true}, []string{invariants.SparseOffsets}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := newHeldSyncs()
			b, p, bs := invariantBroker(t, tt.defects, held)
			appendValues(t, p, "a", "b", "c")
			held.inFlight(t)
			fetchAll(b)
			held.release()
			if got := bs.seen(); !slices.Equal(got, tt.want) {
				t.Fatalf("breaches %v, want %v", got, tt.want)
			}
		})
	}
}

// An ISR shrink the leader applies before the controller accepted it (the
// planted replica.Defects.UnfencedShrink) breaks unfenced-isr at once; the
// same shrink done right, through the controller, breaks nothing.
func TestUnfencedShrinkBreaksInvariant(t *testing.T) {
	for _, planted := range []bool{false, true} {
		t.Run(fmt.Sprintf("planted=%v", planted), func(t *testing.T) {
			c := newTestCluster(t, 3, func(cfg *Config) {
				cfg.SessionTimeout = time.Minute // the controller never fences the stopped follower
				cfg.Defects.Replica.UnfencedShrink = planted
			})
			c.createTopic("orders", 1, 3, replicated)
			produceValues(t, c.client(), "orders", values("a", 0, 3)...)
			leader := c.leaderOf("orders", 0)
			follower := c.imagePartition("orders", 0).Replicas[0]
			if follower == leader {
				follower = c.imagePartition("orders", 0).Replicas[1]
			}
			c.crash(follower)
			// The follower lags once the leader has a record it lacks.
			if sp := c.rawProduce(leader, "orders", 1, recordtest.Batch(recordtest.Options{}, []byte("b0"))); sp.ErrorCode != 0 {
				t.Fatalf("acks=1 produce: %v", kerr.ErrorForCode(sp.ErrorCode))
			}
			c.waitFor("the leader to shrink the ISR", 15*time.Second, func() bool {
				return !slices.Contains(c.imagePartition("orders", 0).ISR, follower)
			})
			got := c.breaches.seen()
			if planted != slices.Contains(got, invariants.UnfencedISR) || (!planted && len(got) > 0) {
				t.Fatalf("planted=%v: breaches %v", planted, got)
			}
		})
	}
}
