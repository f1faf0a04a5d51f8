package world_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/sim/world"
)

// TestLoneLeaderLosesWritesUnderUncleanElection: a lone-leader window on a
// topic with unclean.leader.election.enable, two replicas and
// min.insync.replicas=1 cuts the leader from its follower until the ISR is
// the leader alone, lets it acknowledge writes alone, and crashes it; the
// controller then elects the follower from outside the ISR, and the writes
// the leader acknowledged alone are gone once it is back: the loss that
// configuration documents, which the fault exists to find. Short broker
// timeouts keep it to seconds.
func TestLoneLeaderLosesWritesUnderUncleanElection(t *testing.T) {
	w := newWorld(t, 41, world.Config{
		Nodes: 3,
		Broker: func(_ string, cfg *broker.Config) {
			cfg.ReplicaLagTimeMax = time.Second
			cfg.SessionTimeout, cfg.HeartbeatInterval = 2*time.Second, 200*time.Millisecond
		},
	})
	ready(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, w, "admin"))
	unclean, insync := "true", "1"
	// Three partitions of two replicas: at least one has a follower that
	// is not the active controller (the fault never cuts that one off).
	resp, err := adm.CreateTopic(ctx, 3, 2, map[string]*string{"unclean.leader.election.enable": &unclean, "min.insync.replicas": &insync}, "u")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("u"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(time.Second))
	acked := map[string]int32{}
	produce := func(p int32, v string) {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		if cl.ProduceSync(pctx, &kgo.Record{Partition: p, Value: []byte(v)}).FirstErr() == nil {
			acked[v] = p
		}
	}
	for i := range 12 {
		produce(int32(i%3), fmt.Sprintf("before%d", i))
	}
	if len(acked) != 12 {
		t.Fatalf("%d of 12 writes acknowledged before the fault", len(acked))
	}
	apply(t, w, faults.Event{Op: faults.OpLoneLeader, Keep: 0, Lag: 500 * time.Millisecond, Down: 4 * time.Second, Until: 25 * time.Second})
	var target, follower int32 = -1, -1
	for _, line := range w.Trace() {
		if _, rest, ok := strings.Cut(line, "lone leader: u/"); ok && target < 0 {
			var leader int32
			fmt.Sscanf(rest, "%d (leader n%d, follower n%d)", &target, &leader, &follower)
		}
	}
	if target < 0 || follower < 0 {
		t.Fatal("the fault picked no partition of u")
	}
	crashed := func() bool { return strings.Contains(strings.Join(w.Trace(), "\n"), "crashed the leader") }
	for i := 0; !crashed(); i++ {
		if ctx.Err() != nil {
			t.Fatal("the lone leader was never crashed")
		}
		produce(target, fmt.Sprintf("during%d", i))
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "the follower elected from outside the ISR", func() bool {
		md, err := adm.Metadata(ctx, "u")
		return err == nil && md.Topics["u"].Partitions[target].Leader == follower
	})
	apply(t, w, faults.Event{Op: faults.OpLoneLeaderHeal})
	ready(t, w)
	got := readPartitions(t, w, "u")
	var lost []string
	for v, p := range acked {
		if _, ok := got[v]; !ok {
			lost = append(lost, v)
			if p != target || strings.HasPrefix(v, "before") {
				t.Errorf("%s (partition %d), acknowledged while its ISR was whole, is lost", v, p)
			}
		}
	}
	if len(lost) == 0 {
		t.Fatalf("no acknowledged write lost of %d: the fault did not reach the unclean election's loss", len(acked))
	}
	t.Logf("%d of %d acknowledged writes lost, as unclean election allows", len(lost), len(acked))
}

// readPartitions reads every partition of topic from its start to its end
// offset and returns the values read.
func readPartitions(t *testing.T, w *world.World, topic string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl := newClient(t, w, "reader", kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %d: %v", o.Partition, o.Err)
		}
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	got := map[string]bool{}
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("partitions %v not read to their end before the deadline", left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Value)] = true
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
		})
	}
	return got
}

// TestLoneLeaderPicksPartitionsWithRecords: a lone-leader window picks
// only a partition whose leader holds records. On one the workload never
// writes to, a leader crashed alone loses nothing, so with every
// partition empty the window cuts and crashes nothing; once one partition
// has a record, the window picks that one.
func TestLoneLeaderPicksPartitionsWithRecords(t *testing.T) {
	w := newWorld(t, 43, world.Config{Nodes: 3})
	ready(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, w, "admin"))
	insync := "1"
	resp, err := adm.CreateTopic(ctx, 3, 2, map[string]*string{"min.insync.replicas": &insync}, "e")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	traced := func(s string) bool { return strings.Contains(strings.Join(w.Trace(), "\n"), s) }
	window := faults.Event{Op: faults.OpLoneLeader, Lag: 100 * time.Millisecond, Down: time.Second, Until: 2 * time.Second}
	apply(t, w, window)
	waitFor(t, "the window on empty partitions to give up", func() bool { return traced("no partition qualified in time") })
	if traced("cut the leader and the follower") {
		t.Fatal("the window cut a partition without records")
	}
	apply(t, w, faults.Event{Op: faults.OpLoneLeaderHeal})

	// The partition to write to: one whose follower is not the active
	// controller (the window never cuts that one off).
	st, img := w.Broker("n1").MetadataState()
	topic, ok := img.Topic("e")
	if !ok {
		t.Fatal("n1 does not know topic e")
	}
	target := -1
	for i, p := range topic.Partitions {
		for _, r := range p.Replicas {
			if r != p.Leader && r != st.Leader && target < 0 {
				target = i
			}
		}
	}
	if target < 0 {
		t.Fatalf("every partition's follower is the controller, node %d", st.Leader)
	}
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("e"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Partition: int32(target), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	ready(t, w) // the follower has the record too: the ISR is whole
	apply(t, w, window)
	waitFor(t, "the window to pick a partition or give up", func() bool {
		return traced("lone leader: e/") || strings.Count(strings.Join(w.Trace(), "\n"), "no partition qualified in time") > 1
	})
	if want := fmt.Sprintf("lone leader: e/%d (", target); !traced(want) {
		t.Fatalf("the window did not pick e/%d, the partition with a record:\n%s", target, strings.Join(w.Trace(), "\n"))
	}
	apply(t, w, faults.Event{Op: faults.OpLoneLeaderHeal})
}
