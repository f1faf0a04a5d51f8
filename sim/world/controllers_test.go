package world_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/sim/world"
)

// TestDedicatedControllers runs a cluster of three dedicated controllers
// (process.roles=controller) and two brokers: the controllers alone vote,
// the brokers follow as learners and are the only bootstrap addresses.
// The quorum leader crashes, another controller is cut off and a third
// paused while a producer writes; the liveness phase must find a new
// quorum leader among the controllers, both brokers unfenced and every
// node with the same image, and no acknowledged write may be lost.
func TestDedicatedControllers(t *testing.T) {
	w := newWorld(t, 11, world.Config{Nodes: 2, Controllers: 3, LivenessTimeout: 30 * time.Second})
	if got, want := w.Nodes(), []string{"c1", "c2", "c3", "n1", "n2"}; !slices.Equal(got, want) {
		t.Fatalf("nodes %v, want %v", got, want)
	}
	if got, want := w.BootstrapAddrs(), []string{"n1:9092", "n2:9092"}; !slices.Equal(got, want) {
		t.Fatalf("bootstrap %v, want %v", got, want)
	}
	if w.Broker("c1") != nil || w.Controller("c1") == nil || w.Controller("n1") != nil || w.Broker("n1") == nil {
		t.Fatal("c1 should run a controller only, n1 a broker only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := w.Setup(ctx, func(ctx context.Context) error {
		resp, err := kadm.NewClient(newClient(t, w, "admin")).CreateTopic(ctx, 1, 2, nil, "t")
		if err == nil {
			err = resp.Err
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st := w.Controller("c1").Status()
	if !slices.Equal(st.Voters, []int32{101, 102, 103}) || !slices.Equal(st.Learners, []int32{1, 2}) {
		t.Fatalf("quorum voters %v, learners %v; want the controllers 101-103 voting, the brokers 1-2 learning", st.Voters, st.Learners)
	}
	leader := w.NodeName(st.Leader)
	if !strings.HasPrefix(leader, "c") {
		t.Fatalf("quorum leader %s is not a controller", leader)
	}
	// The check the liveness phase runs must see a controller down.
	if err := w.Crash(leader, 0.5); err != nil {
		t.Fatal(err)
	}
	if err := w.MetadataConverged(); err == nil || !strings.Contains(err.Error(), leader+" is down") {
		t.Fatalf("with %s down, the metadata check says %v", leader, err)
	}
	if err := w.Restart(leader); err != nil {
		t.Fatal(err)
	}

	others := slices.DeleteFunc(w.Controllers(), func(c string) bool { return c == leader })
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	s := faults.Schedule{Duration: ms(2600), Events: []faults.Event{
		{At: ms(100), Op: faults.OpCrash, Node: leader, Keep: 0.3},
		{At: ms(1300), Op: faults.OpRestart, Node: leader},
		{At: ms(1400), Op: faults.OpIsolate, Node: others[0]},
		{At: ms(1500), Op: faults.OpClockJump, Node: others[1], Drift: 0.05},
		{At: ms(1600), Op: faults.OpPause, Node: others[1]},
		{At: ms(2100), Op: faults.OpResume, Node: others[1]},
		{At: ms(2300), Op: faults.OpRejoin, Node: others[0]},
		{At: ms(2400), Op: faults.OpClockReset, Node: others[1]},
	}}
	if err := s.Check(faults.AtlasFor(len(w.Nodes())), w.Nodes()); err != nil {
		t.Fatal(err)
	}
	// The producer has its producer id (a block the controller hands out)
	// before the quorum leader crashes; records need no controller.
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warmup")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var p producer
	if err := w.Run(ctx, s, func(ctx context.Context, w *world.World) { p.run(ctx, cl) }); err != nil {
		t.Fatal(err)
	}
	if err := w.MetadataConverged(); err != nil {
		t.Fatalf("after the liveness phase: %v", err)
	}
	trace := strings.Join(w.Trace(), "\n")
	for _, want := range []string{"crash " + leader + " (incarnation 2)", "restart " + leader + " (incarnation 3) controller on " + leader + ":9093",
		"net fault isolate " + others[0], "liveness: converged"} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if p.count() == 0 {
		t.Fatal("the workload acknowledged nothing: the test would prove nothing")
	}
	got := readAll(t, w, "reader", "t")
	for _, v := range p.acked {
		if _, ok := got[v]; !ok {
			t.Errorf("%s acknowledged but gone", v)
		}
	}
}
