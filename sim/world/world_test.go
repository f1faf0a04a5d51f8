package world_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/sim/simnet"
	"github.com/weir-dev/weir/sim/world"
)

func newWorld(t *testing.T, seed uint64, cfg world.Config) *world.World {
	t.Helper()
	cfg.LogLevel = slog.LevelWarn
	return startWorld(t, seed, cfg)
}

// startWorld is newWorld keeping cfg.LogLevel, for a test that reads Info
// lines of the trace (Info is the zero value).
func startWorld(t *testing.T, seed uint64, cfg world.Config) *world.World {
	t.Helper()
	if cfg.Net.LatencyMax == 0 {
		cfg.Net = simnet.Options{LatencyMin: 20 * time.Microsecond, LatencyMax: 300 * time.Microsecond, Jitter: 100 * time.Microsecond}
	}
	if cfg.LivenessTimeout == 0 {
		cfg.LivenessTimeout = 20 * time.Second
	}
	w := world.New(rand.New(rand.NewPCG(seed, 0)), cfg)
	if err := w.StartAll(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("trace:\n%s", strings.Join(w.Trace(), "\n"))
		}
	})
	return w
}

func newClient(t *testing.T, w *world.World, name string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.SeedBrokers(w.BootstrapAddrs()...),
		kgo.Dialer(w.ClientDialer(name)),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(20 * time.Millisecond),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, w *world.World, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(newClient(t, w, "admin")).CreateTopic(ctx, 1, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// readAll reads the topic from the start up to its high watermark.
func readAll(t *testing.T, w *world.World, client, topic string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl := newClient(t, w, client, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Err != nil {
		t.Fatalf("end offset: %v", end.Err)
	}
	got := map[string]int64{}
	for next := int64(0); next < end.Offset; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %d before the deadline", len(got), end.Offset)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Value)] = r.Offset
			next = r.Offset + 1
		})
	}
	return got
}

func TestProduceConsume(t *testing.T) {
	w := newWorld(t, 1, world.Config{})
	if got := strings.Join(w.BootstrapAddrs(), ","); got != "n1:9092" {
		t.Fatalf("bootstrap = %s", got)
	}
	cl := newClient(t, w, "c1", kgo.DefaultProduceTopic("t"), kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 50 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("v%d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, w, "c2", "t")
	for i := range 50 {
		if off, ok := got[fmt.Sprintf("v%d", i)]; !ok || off != int64(i) {
			t.Errorf("v%d at offset %d (found %v), want %d", i, off, ok, i)
		}
	}
}

// producer produces v0, v1, ... with acks=all until stopped, one at a time,
// and remembers which were acknowledged.
type producer struct {
	mu    sync.Mutex
	acked []string
	errs  []string
}

func (p *producer) run(ctx context.Context, cl *kgo.Client) {
	for i := 0; ctx.Err() == nil; i++ {
		v := fmt.Sprintf("v%d", i)
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err == nil {
			p.mu.Lock()
			p.acked = append(p.acked, v)
			p.mu.Unlock()
		} else {
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Sprintf("%s: %v", v, err))
			p.mu.Unlock()
		}
	}
}

func (p *producer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrashKeepsAcknowledgedWrites: with fsync before acks=all (the
// default), a crash in the middle of producing loses no acknowledged write,
// whatever part of the unsynced tail survives.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	for _, keep := range []float64{0, 0.5, 1} {
		t.Run(fmt.Sprintf("keep=%.1f", keep), func(t *testing.T) {
			w := newWorld(t, 7, world.Config{TraceNet: true})
			createTopic(t, w, "t")
			cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
			ctx, cancel := context.WithCancel(context.Background())
			var p producer
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("producer errors: %v", p.errs)
				}
			})
			done := make(chan struct{})
			go func() { defer close(done); p.run(ctx, cl) }()

			waitFor(t, "30 acks", func() bool { return p.count() >= 30 })
			oldDisk := w.Disk("n1")
			if err := w.Crash("n1", keep); err != nil {
				t.Fatal(err)
			}
			if w.Up("n1") || w.Broker("n1") != nil {
				t.Fatal("n1 still up after the crash")
			}
			if _, err := oldDisk.Stat("/weir"); !errors.Is(err, memfs.ErrCrashed) {
				t.Fatalf("the old incarnation's disk: %v, want ErrCrashed", err)
			}
			if err := w.Crash("n1", keep); err == nil {
				t.Fatal("crashing a node that is down worked")
			}
			time.Sleep(50 * time.Millisecond)
			if err := w.Restart("n1"); err != nil {
				t.Fatal(err)
			}
			atCrash := p.count()
			waitFor(t, "acks after the restart", func() bool {
				if p.count() >= atCrash+30 {
					return true
				}
				return false
			})
			cancel()
			<-done

			got := readAll(t, w, "reader", "t")
			for _, v := range p.acked {
				if _, ok := got[v]; !ok {
					t.Errorf("%s was acknowledged but is gone after the crash", v)
				}
			}
			trace := strings.Join(w.Trace(), "\n")
			for _, want := range []string{"crash n1 (incarnation 1)", "restart n1 (incarnation 2)", "net kill host n1"} {
				if !strings.Contains(trace, want) {
					t.Errorf("trace lacks %q", want)
				}
			}
		})
	}
}

// TestAckBeforeFsyncLosesAckedWrites demonstrates the planted defect
// deterministically: fsyncs are held (a slow disk), so nothing produced is
// synced when n1 crashes keeping no unsynced byte. The defective broker has
// acknowledged every record by then and they are all gone; the correct one
// acknowledged none, so it lost nothing it promised.
func TestAckBeforeFsyncLosesAckedWrites(t *testing.T) {
	for _, defect := range []bool{false, true} {
		t.Run(fmt.Sprintf("ack-before-fsync=%v", defect), func(t *testing.T) {
			w := newWorld(t, 42, world.Config{Defects: broker.Defects{AckBeforeFsync: defect}})
			createTopic(t, w, "t")
			cl := newClient(t, w, "producer", kgo.DefaultProduceTopic("t"))
			// A first record, synced, so the producer id (whose block
			// the broker fsyncs) is in place before the disk turns slow.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warmup")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if err := w.SetDiskFaults("n1", 0, 0, time.Hour); err != nil {
				t.Fatal(err)
			}
			const count = 5
			var mu sync.Mutex
			var acked []string
			for i := range count {
				v := fmt.Sprintf("v%d", i)
				cl.Produce(context.Background(), &kgo.Record{Value: []byte(v)}, func(_ *kgo.Record, err error) {
					if err == nil {
						mu.Lock()
						acked = append(acked, v)
						mu.Unlock()
					}
				})
			}
			if defect {
				waitFor(t, "every record acknowledged", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) == count })
			} else {
				time.Sleep(300 * time.Millisecond) // the acks, if any were coming
			}
			if err := w.Crash("n1", 0); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			ackedAtCrash := append([]string(nil), acked...)
			mu.Unlock()
			cl.Close() // no retries into the next incarnation
			w.ClearDiskFaults("n1")
			if err := w.Restart("n1"); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, w, "reader", "t")
			if _, ok := got["warmup"]; !ok {
				t.Fatal("the synced warmup record is gone")
			}
			var lost []string
			for _, v := range ackedAtCrash {
				if _, ok := got[v]; !ok {
					lost = append(lost, v)
				}
			}
			if defect && len(lost) != count {
				t.Fatalf("defective broker: acked %v, lost %v; want all %d lost", ackedAtCrash, lost, count)
			}
			if !defect && (len(ackedAtCrash) != 0 || len(lost) != 0) {
				t.Fatalf("correct broker acknowledged %v before any fsync, lost %v", ackedAtCrash, lost)
			}
		})
	}
}

// TestRunAppliesTheSchedule: every event of a schedule is applied in order,
// at or after its time, traced with its node; the liveness phase converges;
// acknowledged writes survive the crash and disk faults.
func TestRunAppliesTheSchedule(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	s := faults.Schedule{Duration: ms(600), Events: []faults.Event{
		{At: ms(40), Op: faults.OpIsolate, Node: "n1"},
		{At: ms(90), Op: faults.OpRejoin, Node: "n1"},
		{At: ms(120), Op: faults.OpCrash, Node: "n1", Keep: 0.3},
		{At: ms(200), Op: faults.OpRestart, Node: "n1"},
		{At: ms(260), Op: faults.OpPause, Node: "n1"},
		{At: ms(300), Op: faults.OpResume, Node: "n1"},
		{At: ms(320), Op: faults.OpDiskFaults, Node: "n1", Prob: 0.5, Count: 2},
		{At: ms(400), Op: faults.OpDiskHeal, Node: "n1"},
		{At: ms(420), Op: faults.OpClockJump, Node: "n1", Offset: time.Minute},
		{At: ms(450), Op: faults.OpClockReset, Node: "n1"},
		{At: ms(470), Op: faults.OpFlaky, Node: "n1", Prob: 0.1},
		{At: ms(520), Op: faults.OpFlakyHeal, Node: "n1"},
	}}
	if err := s.Check(faults.AtlasFor(1), []string{"n1"}); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, 3, world.Config{})
	createTopic(t, w, "t")
	var p producer
	err := w.Run(context.Background(), s, func(ctx context.Context, w *world.World) {
		p.run(ctx, newClient(t, w, "producer", kgo.DefaultProduceTopic("t")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Up("n1") {
		t.Fatal("n1 down after the liveness phase")
	}

	// The applied events, in order, each no earlier than scheduled.
	trace := w.Trace()
	var applied []string
	var runStart float64 = -1
	for _, line := range trace {
		var at float64
		var rest string
		if _, err := fmt.Sscanf(line, "%fs", &at); err != nil {
			t.Fatalf("trace line without a time: %q", line)
		}
		rest = strings.TrimSpace(line[strings.Index(line, "s ")+2:])
		if strings.HasPrefix(rest, "safety phase") {
			runStart = at
		}
		if ev, ok := strings.CutPrefix(rest, "apply "); ok {
			applied = append(applied, ev)
			i := len(applied) - 1
			if i < len(s.Events) && at-runStart < s.Events[i].At.Seconds()-1e-3 {
				t.Errorf("%q applied at +%.3fs, before its time", ev, at-runStart)
			}
		}
	}
	if len(applied) != len(s.Events) {
		t.Fatalf("applied %d events, want %d:\n%s", len(applied), len(s.Events), strings.Join(applied, "\n"))
	}
	for i, e := range s.Events {
		if applied[i] != e.String() {
			t.Errorf("event %d traced as %q, want %q", i, applied[i], e)
		}
	}
	joined := strings.Join(trace, "\n")
	for _, want := range []string{"net fault isolate n1", "crash n1 (incarnation 1) keep=0.30", "restart n1 (incarnation 2)",
		"net fault stall n1", "net heal resume n1", "disk faults on n1: p=0.50 max=2", "clock n1 offset 1m0s",
		"net fault flaky n1", "liveness phase", "liveness: converged"} {
		if !strings.Contains(joined, want) {
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

func TestGeneratedScheduleRuns(t *testing.T) {
	s := faults.Generate(rand.New(rand.NewPCG(5, 5)), faults.Config{
		Nodes: []string{"n1"}, Kinds: faults.All, Duration: 800 * time.Millisecond,
	})
	if len(s.Events) == 0 {
		t.Fatal("empty schedule")
	}
	w := newWorld(t, 5, world.Config{})
	createTopic(t, w, "t")
	var p producer
	if err := w.Run(context.Background(), s, func(ctx context.Context, w *world.World) {
		p.run(ctx, newClient(t, w, "producer", kgo.DefaultProduceTopic("t")))
	}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, w, "reader", "t")
	for _, v := range p.acked {
		if _, ok := got[v]; !ok {
			t.Errorf("%s acknowledged but gone", v)
		}
	}
}

// A disk heal that finds its node paused must not reboot it then: a clean
// stop waits on the node's timers, which fire only at the resume that the
// same event loop applies next (seed 1002 of --faults all hung for its
// whole budget so). The reboot waits for the resume.
func TestDiskHealWhilePausedRebootsAtResume(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	s := faults.Schedule{Duration: ms(700), Events: []faults.Event{
		{At: ms(50), Op: faults.OpDiskFaults, Node: "n1", Prob: 1, Count: 3},
		{At: ms(300), Op: faults.OpPause, Node: "n1"},
		{At: ms(350), Op: faults.OpDiskHeal, Node: "n1"},
		{At: ms(450), Op: faults.OpResume, Node: "n1"},
	}}
	w := newWorld(t, 3, world.Config{LivenessTimeout: 30 * time.Second})
	createTopic(t, w, "t")
	var p producer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Run(ctx, s, func(ctx context.Context, w *world.World) {
		p.run(ctx, newClient(t, w, "producer", kgo.DefaultProduceTopic("t")))
	}); err != nil {
		t.Fatal(err)
	}
	trace := strings.Join(w.Trace(), "\n")
	heal := strings.Index(trace, "apply "+s.Events[2].String())
	resume := strings.Index(trace, "apply "+s.Events[3].String())
	stop := strings.Index(trace, "stop n1 (incarnation 1) cleanly")
	if !strings.Contains(trace, "EIO injected") {
		t.Fatalf("no disk fault was injected, so nothing needed a reboot:\n%s", trace)
	}
	if heal < 0 || resume < 0 || stop < 0 || stop < resume {
		t.Fatalf("want the clean stop of n1 after its resume (heal at %d, resume at %d, stop at %d):\n%s", heal, resume, stop, trace)
	}
	if p.count() == 0 {
		t.Fatal("the workload acknowledged nothing: the test would prove nothing")
	}
}
