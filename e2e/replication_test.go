package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumed is one record a consumer read, where it read it.
type consumed struct {
	partition int32
	offset    int64
}

// TestReplicatedLeaderKill: three `weir serve` processes, a topic with
// replication factor 3 and min.insync.replicas=2, a franz-go producer with
// acks=all (idempotent) and a consumer running all along. kill -9 of the
// leader of partition 0 in the middle: a replica from the ISR takes over
// within seconds, both clients follow it, every acknowledged record is
// there at the offset it was acknowledged at, and every record the
// consumer read is still there (nothing it read was taken back). The old
// leader comes back, cuts what it alone had, catches up and rejoins the
// ISR: `weir topics describe` shows it, and --under-replicated-partitions
// lists nothing. `weir leaders elect --preferred` then gives it its
// partition back.
func TestReplicatedLeaderKill(t *testing.T) {
	t.Parallel()
	servers := startCluster(t, 3)
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.addr)
	}
	bootstrap := strings.Join(seeds, ",")
	mustWeir(t, "", "topics", "create", "--bootstrap-server", bootstrap, "--topic", "payments",
		"--partitions", "3", "--replication-factor", "3", "--config", "min.insync.replicas=2")
	waitFullISR(t, bootstrap, "payments")

	producer, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(60*time.Second), kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	var mu sync.Mutex
	acked := map[string]consumed{}
	failed, ackedP0 := 0, 0
	var failure error // the first failure other than the end of the run
	pctx, stopProducing := context.WithCancel(context.Background())
	defer stopProducing()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; pctx.Err() == nil; i++ {
			v := fmt.Sprintf("pay-%06d", i)
			r := &kgo.Record{Topic: "payments", Partition: int32(i % 3), Value: []byte(v)}
			producer.Produce(pctx, r, func(r *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					if failure == nil && pctx.Err() == nil {
						failure = err
					}
					return
				}
				acked[v] = consumed{r.Partition, r.Offset}
				if r.Partition == 0 {
					ackedP0++
				}
			})
			if i%50 == 49 {
				time.Sleep(5 * time.Millisecond) // a steady stream, not a flood
			}
		}
	}()
	ackedCount := func() (all, p0 int) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked), ackedP0
	}
	read := map[string]consumed{}
	var readMu sync.Mutex
	cctx, stopConsuming := context.WithCancel(context.Background())
	defer stopConsuming()
	consumer, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"payments": {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for cctx.Err() == nil {
			fs := consumer.PollFetches(cctx)
			fs.EachRecord(func(r *kgo.Record) {
				readMu.Lock()
				read[string(r.Value)] = consumed{r.Partition, r.Offset}
				readMu.Unlock()
			})
		}
	}()

	waitUntil(t, "acknowledgements before the kill", 30*time.Second, func() bool { _, p0 := ackedCount(); return p0 >= 100 })
	victim := leaders(t, servers[0].admin(t), "payments")[0]
	if victim < 1 || victim > 3 {
		t.Fatalf("partition 0 has leader %d", victim)
	}
	survivor := servers[victim%3]
	_, before := ackedCount()
	killedAt := time.Now()
	servers[victim-1].kill()
	waitUntil(t, "a new leader of payments-0", 30*time.Second, func() bool {
		l := leaders(t, survivor.admin(t), "payments")[0]
		return l > 0 && l != int32(victim)
	})
	elected := time.Since(killedAt)
	waitUntil(t, "acknowledgements on payments-0 after the kill", 60*time.Second, func() bool { _, p0 := ackedCount(); return p0 >= before+100 })
	t.Logf("kill -9 of broker %d (leader of payments-0): new leader after %v, acks on payments-0 again after %v",
		victim, elected.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	if r := mustWeir(t, "", "topics", "describe", "--bootstrap-server", survivor.addr, "--topic", "payments", "--under-replicated-partitions"); r.stdout == "" {
		t.Fatalf("no under-replicated partition while broker %d is down", victim)
	}

	servers[victim-1].start()
	rejoinedAt := time.Now()
	// Asked of a survivor: the restarted broker answers metadata from the
	// image it had before the kill until it has caught up.
	waitFullISR(t, survivor.addr, "payments")
	r := mustWeir(t, "", "topics", "describe", "--bootstrap-server", survivor.addr, "--topic", "payments")
	for p, isr := range describedISRs(r.stdout) {
		if !slices.Contains(isr, fmt.Sprint(victim)) {
			t.Fatalf("broker %d not in the ISR of partition %s:\n%s", victim, p, r.stdout)
		}
	}
	t.Logf("broker %d back in every ISR %v after its restart", victim, time.Since(rejoinedAt).Round(time.Millisecond))

	// Preferred-leader election gives payments-0 back to its first
	// replica, the broker that came back; the clients follow.
	r = mustWeir(t, "", "leaders", "elect", "--bootstrap-server", survivor.addr, "--preferred", "--topic", "payments")
	if !strings.Contains(r.stdout, "Successfully completed leader election (PREFERRED) for partitions payments-0\n") {
		t.Fatalf("weir leaders elect --preferred:\n%s", r.stdout)
	}
	// The controller answers once the election is committed; the survivor
	// serves metadata from its image, which applies it a moment later (as
	// a Kafka broker's metadata cache does).
	waitUntil(t, fmt.Sprintf("broker %d leading payments-0 after the preferred election", victim), 30*time.Second, func() bool {
		return leaders(t, survivor.admin(t), "payments")[0] == int32(victim)
	})
	_, before = ackedCount()
	waitUntil(t, "acknowledgements on payments-0 from its preferred leader", 30*time.Second, func() bool { _, p0 := ackedCount(); return p0 >= before+100 })
	stopProducing()
	producer.Flush(context.Background())

	// Everything acknowledged is there, where it was acknowledged.
	final := map[string]consumed{}
	for p, rs := range survivor.readAll(t, "payments") {
		for _, r := range rs {
			if _, dup := final[string(r.Value)]; dup {
				t.Errorf("record %s is in the log twice", r.Value)
			}
			final[string(r.Value)] = consumed{p, r.Offset}
		}
	}
	stopConsuming()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for v, at := range acked {
		if got, ok := final[v]; !ok || got != at {
			t.Errorf("acknowledged %s at %v; the final read has it at %v (present %v)", v, at, got, ok)
		}
	}
	readMu.Lock()
	defer readMu.Unlock()
	for v, at := range read {
		if got, ok := final[v]; !ok || got != at {
			t.Errorf("the consumer read %s at %v; the final read has it at %v (present %v)", v, at, got, ok)
		}
	}
	t.Logf("%d acknowledged, %d failed (cancelled at the end), %d read by the consumer, %d in the final read", len(acked), failed, len(read), len(final))
	if failure != nil {
		t.Errorf("a produce failed while the run went on (the producer should have retried through the failover): %v", failure)
	}
	if r := mustWeir(t, "", "topics", "describe", "--bootstrap-server", survivor.addr, "--under-replicated-partitions"); r.stdout != "" {
		t.Errorf("under-replicated partitions after the old leader rejoined:\n%s", r.stdout)
	}
}

// waitFullISR waits until `weir topics describe` shows every replica of
// every partition of topic in its ISR: --under-replicated-partitions
// prints nothing, and the describe lists each partition with a leader and
// an ISR as long as its replicas.
func waitFullISR(t *testing.T, bootstrap, topic string) {
	t.Helper()
	waitUntil(t, "every replica of "+topic+" in sync", 60*time.Second, func() bool {
		under := weir(t, "", "topics", "describe", "--bootstrap-server", bootstrap, "--topic", topic, "--under-replicated-partitions")
		all := weir(t, "", "topics", "describe", "--bootstrap-server", bootstrap, "--topic", topic)
		if under.code != 0 || all.code != 0 || under.stdout != "" {
			return false
		}
		replicas, isrs := describedReplicas(all.stdout), describedISRs(all.stdout)
		for p, rs := range replicas {
			if len(isrs[p]) != len(rs) || strings.Contains(all.stdout, "Leader: none") {
				return false
			}
		}
		return len(replicas) > 0
	})
}

// describedISRs and describedReplicas read the partition lines of `weir
// topics describe`: partition -> broker ids.
func describedISRs(out string) map[string][]string     { return describedField(out, "Isr: ") }
func describedReplicas(out string) map[string][]string { return describedField(out, "Replicas: ") }

func describedField(out, name string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		var part string
		var ids []string
		for _, f := range strings.Split(l, "\t") {
			if v, ok := strings.CutPrefix(f, "Partition: "); ok {
				part = v
			}
			if v, ok := strings.CutPrefix(f, name); ok {
				ids = strings.Split(v, ",")
			}
		}
		if part != "" && ids != nil {
			m[part] = ids
		}
	}
	return m
}

// waitUntil polls cond every 100 ms until it holds or d passes.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
