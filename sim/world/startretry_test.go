package world_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/sim/world"
)

// A restart the schedule asks for that fails (seed 35013: an EIO as the
// restarting broker's metadata quorum synced its data directory) is tried
// again: the node comes back within the safety phase, so a workload that
// waits for the cluster after its end (a transactional member waits for
// its produces) returns, and the liveness phase comes. Without the retry
// the node stayed down until the liveness phase, which waited for the
// workload, which waited for the node: the run hung past its budget.
func TestFailedRestartIsRetried(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	s := faults.Schedule{Duration: ms(400), Events: []faults.Event{
		{At: ms(50), Op: faults.OpCrash, Node: "n1", Keep: 1},
		{At: ms(100), Op: faults.OpDiskFaults, Node: "n1", Prob: 1, Count: 1},
		{At: ms(300), Op: faults.OpRestart, Node: "n1"},
		{At: ms(300), Op: faults.OpDiskHeal, Node: "n1"},
	}}
	w := newWorld(t, 29, world.Config{LivenessTimeout: 30 * time.Second})
	createTopic(t, w, "t")
	var p producer
	lastAcked := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
	ran := make(chan error, 1)
	go func() {
		ran <- w.Run(ctx, s, func(ctx context.Context, w *world.World) {
			p.run(ctx, cl) // its last produce waits for n1, as a member's promises do
			// After the safety phase, one more record: only a node up
			// again can take it.
			lastAcked <- cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("last")}).FirstErr()
		})
	}()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		// The cleanups close the client, which lets the workload end.
		t.Fatalf("the run hangs: the workload waits for n1, which is down:\n%s", strings.Join(w.Trace(), "\n"))
	}
	if err := <-lastAcked; err != nil {
		t.Fatalf("the record produced after the safety phase: %v", err)
	}
	trace := strings.Join(w.Trace(), "\n")
	failed := strings.Index(trace, "restart n1 failed")
	retry := strings.Index(trace, "restart n1 again in 1s")
	back := strings.Index(trace, "restart n1 (incarnation 2)")
	liveness := strings.Index(trace, "liveness phase")
	if failed < 0 || retry < failed || back < retry || liveness < back {
		t.Fatalf("want the failed restart, its retry and n1 back, all before the liveness phase (at %d, %d, %d, %d):\n%s", failed, retry, back, liveness, trace)
	}
	var retried bool
	for _, f := range w.FaultRecords() {
		if f.Op == "restart" && strings.HasPrefix(f.Detail, "retry of a failed start") {
			if f.Error != "" {
				t.Fatalf("the retry failed: %+v", f)
			}
			retried = true
		}
	}
	if !retried {
		t.Fatalf("faults.jsonl lacks the retry: %+v", w.FaultRecords())
	}
}
