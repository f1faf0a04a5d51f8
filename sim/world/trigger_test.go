package world_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/sim/world"
)

// acks collects the values a producer got acknowledged.
type acks struct {
	mu sync.Mutex
	vs []string
}

func (a *acks) add(v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vs = append(a.vs, v)
}

func (a *acks) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.vs...)
}

// ready restarts every node that is down and waits until the cluster
// answers, every partition led (the liveness phase).
func ready(t *testing.T, w *world.World) {
	t.Helper()
	if err := w.Liveness(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func traceHas(t *testing.T, w *world.World, want string) {
	t.Helper()
	if tr := strings.Join(w.Trace(), "\n"); !strings.Contains(tr, want) {
		t.Fatalf("trace lacks %q", want)
	}
}

func apply(t *testing.T, w *world.World, e faults.Event) {
	t.Helper()
	if err := w.Apply(e); err != nil {
		t.Fatalf("apply %v: %v", e, err)
	}
}

// A crash triggered by an fsync with a lag shorter than the fsync lands
// inside it: the records that fsync covers are not durable, so the broker
// that acknowledged them before their fsync (ack-before-fsync) loses
// acknowledged writes, and the correct one acknowledged nothing it lost.
func TestSyncTriggerCrashesInsideTheFsync(t *testing.T) {
	for _, defect := range []bool{false, true} {
		t.Run(fmt.Sprintf("ack-before-fsync=%v", defect), func(t *testing.T) {
			w := newWorld(t, 3, world.Config{Defects: broker.Defects{AckBeforeFsync: defect}, SyncLatency: time.Millisecond})
			createTopic(t, w, "t")
			cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warmup")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			// A slow disk from now on: the crash lands well inside the
			// fsync even on a loaded machine (these tests run on the real
			// clock).
			if err := w.SetDiskFaults("n1", 0, 0, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			apply(t, w, faults.Event{Op: faults.OpCrash, Node: "n1", Trigger: faults.TriggerSync, Nth: 1, Lag: 300 * time.Millisecond})
			var a acks
			cl.Produce(context.Background(), &kgo.Record{Value: []byte("v")}, func(_ *kgo.Record, err error) {
				if err == nil {
					a.add("v")
				}
			})
			waitFor(t, "the triggered crash", func() bool { return !w.Up("n1") })
			ackedAtCrash := a.get()
			cl.Close()
			traceHas(t, w, "crash n1 (incarnation 1) keep=0.00: 300ms after the start of segment fsync #1")
			ready(t, w) // restarts n1, clears the disk faults, waits until it leads its partitions again
			got := readAll(t, w, "reader", "t")
			if _, ok := got["v"]; ok {
				t.Fatal("the record whose fsync the crash interrupted survived a crash that keeps nothing unsynced")
			}
			if defect != (len(ackedAtCrash) == 1) {
				t.Fatalf("acknowledged before the crash: %v (defect %v)", ackedAtCrash, defect)
			}
		})
	}
}

// A crash triggered by a segment roll lands before the chosen disk
// operation of the roll; whichever it is, recovery keeps every
// acknowledged write.
func TestRollTriggerCrashesDuringTheRoll(t *testing.T) {
	for _, ops := range []int{1, 4, 8, 12} {
		t.Run(fmt.Sprintf("ops=%d", ops), func(t *testing.T) {
			w := newWorld(t, 5, world.Config{
				SyncLatency: time.Millisecond,
				Broker:      func(_ string, cfg *broker.Config) { cfg.TopicDefaults["segment.bytes"] = "1024" },
			})
			createTopic(t, w, "t")
			cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
			apply(t, w, faults.Event{Op: faults.OpCrash, Node: "n1", Trigger: faults.TriggerRoll, Ops: ops, Keep: 0.5})
			var p producer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); p.run(ctx, cl) }()
			waitFor(t, "the triggered crash", func() bool { return !w.Up("n1") })
			cancel()
			cl.Close() // fails the record in flight: no retry into the next incarnation
			<-done
			traceHas(t, w, fmt.Sprintf("before disk operation #%d of the first segment roll", ops))
			ready(t, w) // restarts n1 and waits until it leads its partitions again
			got := readAll(t, w, "reader", "t")
			for _, v := range p.acked {
				if _, ok := got[v]; !ok {
					t.Errorf("%s was acknowledged but is gone after a crash during a roll", v)
				}
			}
		})
	}
}

// A restart with Ops crashes the node again during its recovery; the next
// restart recovers every acknowledged write.
func TestRestartCrashesDuringRecovery(t *testing.T) {
	w := newWorld(t, 9, world.Config{SyncLatency: time.Millisecond})
	createTopic(t, w, "t")
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
	var p producer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, cl) }()
	waitFor(t, "20 acks", func() bool { return p.count() >= 20 })
	apply(t, w, faults.Event{Op: faults.OpCrash, Node: "n1", Keep: 0.5})
	cancel()
	cl.Close()
	<-done
	if err := w.Apply(faults.Event{Op: faults.OpRestart, Node: "n1", Ops: 5, Keep: 0.5}); err == nil {
		t.Fatal("a restart that crashes during recovery reported success")
	}
	if w.Up("n1") {
		t.Fatal("n1 is up after crashing during its recovery")
	}
	traceHas(t, w, "crash n1 during its start, keep=0.50: before disk operation #5 since the restart")
	apply(t, w, faults.Event{Op: faults.OpRestart, Node: "n1"})
	ready(t, w)
	got := readAll(t, w, "reader", "t")
	for _, v := range p.acked {
		if _, ok := got[v]; !ok {
			t.Errorf("%s was acknowledged but is gone after a crash during recovery", v)
		}
	}
}

// A triggered crash that has not come by the node's restart event is
// dropped: the node stays up and the restart does nothing.
func TestTriggerThatNeverFiresIsDropped(t *testing.T) {
	w := newWorld(t, 11, world.Config{})
	apply(t, w, faults.Event{Op: faults.OpCrash, Node: "n1", Trigger: faults.TriggerSync, Nth: 1000})
	apply(t, w, faults.Event{Op: faults.OpRestart, Node: "n1"})
	if !w.Up("n1") {
		t.Fatal("n1 went down")
	}
	traceHas(t, w, "crash n1 never came")
}

// PowerLoss takes every node down at once; restarted, they keep every
// acknowledged write.
func TestPowerLoss(t *testing.T) {
	w := newWorld(t, 13, world.Config{SyncLatency: time.Millisecond})
	createTopic(t, w, "t")
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
	var p producer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, cl) }()
	waitFor(t, "20 acks", func() bool { return p.count() >= 20 })
	w.PowerLoss(0.3)
	cancel()
	cl.Close()
	<-done
	if w.Up("n1") {
		t.Fatal("n1 is up after the power loss")
	}
	traceHas(t, w, "crash n1 (incarnation 1) keep=0.30: power loss")
	ready(t, w)
	got := readAll(t, w, "reader", "t")
	for _, v := range p.acked {
		if _, ok := got[v]; !ok {
			t.Errorf("%s was acknowledged but is gone after the power loss", v)
		}
	}
}

// A triggered crash with Down restarts the node itself that long after it
// lands; the window's restart event then finds it up and does nothing.
func TestTriggeredCrashRestartsItself(t *testing.T) {
	w := newWorld(t, 17, world.Config{SyncLatency: time.Millisecond})
	createTopic(t, w, "t")
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
	apply(t, w, faults.Event{Op: faults.OpCrash, Node: "n1", Trigger: faults.TriggerSync, Nth: 1, Down: 100 * time.Millisecond})
	var p producer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, cl) }()
	waitFor(t, "the triggered crash", func() bool { return !w.Up("n1") })
	waitFor(t, "the restart", func() bool { return w.Up("n1") })
	waitFor(t, "acks after the restart", func() bool { return p.count() >= 5 })
	cancel()
	cl.Close()
	<-done
	apply(t, w, faults.Event{Op: faults.OpRestart, Node: "n1"})
	recs := w.FaultRecords()
	if last := recs[len(recs)-1]; last.Status != runfolder.FaultDropped || last.Op != "restart" {
		t.Fatalf("the window's restart was recorded as %+v, want dropped", last)
	}
	traceHas(t, w, "restart n1 (incarnation 2)")
}

// A paused node's fsyncs return only when it resumes, but the world's own
// stops and starts of it never wait for that: a reboot (after a disk fault)
// or a crash of a paused node completes.
func TestPausedNodeCanBeStoppedAndStarted(t *testing.T) {
	w := newWorld(t, 19, world.Config{SyncLatency: time.Millisecond})
	createTopic(t, w, "t")
	cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
	var p producer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, cl) }()
	waitFor(t, "5 acks", func() bool { return p.count() >= 5 })
	if err := w.Pause("n1"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return w.Reboot("n1") },
		func() error { return w.Crash("n1", 0.5) },
		func() error { return w.Restart("n1") },
	} {
		errc := make(chan error, 1)
		go func() { errc <- step() }()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a stop or start of a paused node hangs")
		}
	}
	if err := w.Resume("n1"); err != nil {
		t.Fatal(err)
	}
	at := p.count()
	waitFor(t, "acks after the resume", func() bool { return p.count() > at })
	cancel()
	cl.Close()
	<-done
}
