package gen_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/sim/world"
	"github.com/weir-dev/weir/workloads/gen"
)

// A broker cut off from the rest of the cluster keeps its last metadata
// image and answers from it: it still names itself leader of a partition
// the controller has moved, and lists the end of its own, shorter log. A
// restore that listed through such a broker read too little and rebuilt
// an empty state (seed 68113). ReadToEnd through a client whose only seed
// is that broker must still read the new leader's whole log.
func TestReadToEndPastAStaleLeader(t *testing.T) {
	w := startWorldOf(t, 5, world.Config{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic = "t"
	admin := kadm.NewClient(client(t, w, "admin"))
	for { // until all three brokers registered
		resp, err := admin.CreateTopic(ctx, 1, 3, nil, topic)
		if err == nil && resp.Err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create topic: %v %v", err, resp.Err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	produce(ctx, t, client(t, w, "producer-1", kgo.DefaultProduceTopic(topic)), "a")

	oldID, oldEpoch := leaderOf(ctx, t, admin, topic)
	old := w.NodeName(oldID)
	var others, otherAddrs []string
	for i, name := range w.Brokers() {
		if name != old {
			others = append(others, name)
			otherAddrs = append(otherAddrs, w.BootstrapAddrs()[i])
		}
	}
	w.Net().Partition([]string{old}, others)
	fresh := kadm.NewClient(client(t, w, "fresh", kgo.SeedBrokers(otherAddrs...)))
	for {
		if id, epoch := leaderOf(ctx, t, fresh, topic); id >= 0 && id != oldID && epoch > oldEpoch {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	produce(ctx, t, client(t, w, "producer-2", kgo.SeedBrokers(otherAddrs...), kgo.DefaultProduceTopic(topic)), "b", "c")

	oldAddr := w.BootstrapAddrs()[slices.Index(w.Brokers(), old)]
	stale := kadm.NewClient(client(t, w, "stale", kgo.SeedBrokers(oldAddr)))
	if id, epoch := leaderOf(ctx, t, stale, topic); id != oldID || epoch != oldEpoch {
		t.Fatalf("the cut-off %s names leader %d in epoch %d, not itself in %d: the test no longer sets up a stale leader", old, id, epoch, oldEpoch)
	}

	var got []string
	cc := gen.ClientConfig{Bootstrap: []string{oldAddr}, Dialer: w.ClientDialer("reader")}
	rec := history.NewRecorder(time.Now(), nil)
	marks, err := gen.ReadToEnd(ctx, cc, rec, 1, gen.Read{Topic: topic, Visit: func(r *kgo.Record) { got = append(got, string(r.Value)) }})
	if err != nil {
		t.Fatalf("read to end: %v", err)
	}
	if m := marks[0]; m == nil || m.HighWatermark != 3 {
		t.Errorf("listed %+v, want partition 0 to end at 3 (the new leader's end)", m)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("read %q, want [a b c]", got)
	}
}

// produce writes values with acks=all through cl.
func produce(ctx context.Context, t *testing.T, cl *kgo.Client, values ...string) {
	t.Helper()
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
}

// leaderOf is partition 0's leader and leader epoch as admin's metadata
// has them; -1, -1 while it cannot tell.
func leaderOf(ctx context.Context, t *testing.T, admin *kadm.Client, topic string) (int32, int32) {
	t.Helper()
	if ctx.Err() != nil {
		t.Fatal("gave up waiting for the partition's leader")
	}
	md, err := admin.Metadata(ctx, topic)
	if err != nil {
		return -1, -1
	}
	p, ok := md.Topics[topic].Partitions[0]
	if !ok || p.Err != nil {
		return -1, -1
	}
	return p.Leader, p.LeaderEpoch
}
