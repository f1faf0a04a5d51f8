package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceKeyed produces n keyed records, waits for every acknowledgement and
// returns the records with the partition and offset each was acknowledged at.
func produceKeyed(t *testing.T, cl *kgo.Client, topic, prefix string, n int) []*kgo.Record {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", i%11)), Value: []byte(fmt.Sprintf("%s-%05d", prefix, i))}
	}
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("producing %s: %v", prefix, err)
	}
	return recs
}

// TestRestartKeepsOffsets stops the broker with SIGTERM (it must exit 0),
// starts it again on the same data dir and port, and finds every record at
// the offset it was acknowledged at, the topic with the same id, deleted
// topics still deleted, and new records appended after the old ones; then
// SIGINT must stop it cleanly too.
func TestRestartKeepsOffsets(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.createTopic(t, "ledger", 3, nil)
	cl := s.client(t)
	before := produceKeyed(t, cl, "ledger", "before", 500)
	// A deleted topic stays deleted; one re-created under a deleted name
	// keeps only its own records.
	s.createTopic(t, "gone", 1, nil)
	s.createTopic(t, "scratch", 3, nil)
	produceKeyed(t, cl, "gone", "gone", 10)
	produceKeyed(t, cl, "scratch", "old", 40)
	for _, topic := range []string{"gone", "scratch"} {
		if _, err := s.admin(t).DeleteTopic(testCtx(t), topic); err != nil {
			t.Fatalf("deleting %s: %v", topic, err)
		}
	}
	s.createTopic(t, "scratch", 2, nil)
	cl.Close()
	cl = s.client(t)
	scratch := produceKeyed(t, cl, "scratch", "new", 7)
	cl.Close()
	tdsBefore, err := s.admin(t).ListTopics(testCtx(t), "ledger")
	if err != nil {
		t.Fatal(err)
	}

	if code := s.stop(); code != 0 {
		t.Fatalf("weir serve exited %d on SIGTERM, want 0", code)
	}
	if !strings.Contains(s.stderr.String(), "weir broker stopped cleanly") {
		t.Errorf("no clean-stop line in stderr:\n%s", s.stderr.String())
	}
	s.start()

	tdsAfter, err := s.admin(t).ListTopics(testCtx(t), "ledger")
	if err != nil {
		t.Fatal(err)
	}
	if b, a := tdsBefore["ledger"], tdsAfter["ledger"]; b.ID != a.ID || len(a.Partitions) != 3 {
		t.Errorf("after restart: topic id %v with %d partitions; before: %v with 3", a.ID, len(a.Partitions), b.ID)
	}
	tds, err := s.admin(t).ListTopics(testCtx(t), "gone", "scratch")
	if err != nil {
		t.Fatal(err)
	}
	if tds.Has("gone") && tds["gone"].Err == nil {
		t.Errorf("deleted topic gone is back after the restart")
	}
	if n := len(tds["scratch"].Partitions); n != 2 {
		t.Errorf("re-created topic scratch has %d partitions after the restart, want 2", n)
	}
	gotScratch := s.readAll(t, "scratch")
	nScratch := 0
	for p, rs := range gotScratch {
		for _, r := range rs {
			nScratch++
			if !strings.HasPrefix(string(r.Value), "new-") {
				t.Errorf("re-created topic scratch holds %s at %d/%d from before the delete", r.Value, p, r.Offset)
			}
		}
	}
	for _, r := range scratch {
		rs := gotScratch[r.Partition]
		if r.Offset >= int64(len(rs)) || string(rs[r.Offset].Value) != string(r.Value) {
			t.Errorf("scratch: %s acknowledged at %d/%d is missing after the restart", r.Value, r.Partition, r.Offset)
		}
	}
	if nScratch != len(scratch) {
		t.Errorf("scratch has %d records after the restart, want %d", nScratch, len(scratch))
	}

	got := s.readAll(t, "ledger")
	ends := map[int32]int64{}
	for _, r := range before {
		ends[r.Partition] = max(ends[r.Partition], r.Offset+1)
		rs := got[r.Partition]
		if r.Offset >= int64(len(rs)) || rs[r.Offset].Offset != r.Offset || string(rs[r.Offset].Value) != string(r.Value) || string(rs[r.Offset].Key) != string(r.Key) {
			t.Errorf("%s was acknowledged at %d/%d; after the restart it is not there", r.Value, r.Partition, r.Offset)
		}
	}
	for p, rs := range got {
		if int64(len(rs)) != ends[p] {
			t.Errorf("partition %d: %d records after restart, %d before", p, len(rs), ends[p])
		}
	}

	// Appends continue after the old records: no offset is reused.
	cl = s.client(t)
	after := produceKeyed(t, cl, "ledger", "after", 30)
	next := map[int32]int64{}
	for p, e := range ends {
		next[p] = e
	}
	for _, r := range after {
		if r.Offset != next[r.Partition] {
			t.Errorf("after restart, %s acknowledged at %d/%d, want offset %d", r.Value, r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition] = r.Offset + 1
	}
	cl.Close()
	// Ctrl-C stops it cleanly too.
	if code := s.stopWith(syscall.SIGINT); code != 0 {
		t.Fatalf("SIGINT: exit %d, want 0", code)
	}
	if !strings.Contains(s.stderr.String(), "weir broker stopped cleanly") {
		t.Errorf("no clean-stop line in stderr after SIGINT:\n%s", s.stderr.String())
	}
}

// ackedRecord is one produce acknowledgement: the broker said value is at
// offset of partition.
type ackedRecord struct {
	partition int32
	offset    int64
	value     string
}

// TestKill9KeepsAcknowledged is the durability test. Each round, several
// idempotent acks=all franz-go producers write continuously, with many
// batches in flight, and the broker gets SIGKILL at a random moment. After a
// restart on the same data dir:
//
//   - every record acknowledged in any round is at the offset its
//     acknowledgement reported, with the same value;
//   - offsets are dense from 0 in every partition;
//   - the log read after the previous restart is a prefix of this one (a
//     SIGKILL loses no written byte, so recovery must not drop what it once
//     served);
//   - every record a tailing consumer read before the kill is still there
//     (consumers read only up to the high watermark);
//   - no value appears twice and each producer's records are in its send
//     order on each partition (idempotence);
//   - a topic whose creation was acknowledged just before the kill exists.
func TestKill9KeepsAcknowledged(t *testing.T) {
	t.Parallel()
	const (
		topic      = "durable"
		partitions = 3
		producers  = 3
		rounds     = 4
	)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	t.Logf("seed %d", seed)

	s := startServer(t)
	s.createTopic(t, topic, partitions, nil)

	var acked []ackedRecord        // every acknowledgement, all rounds
	var prevLog map[int32][]string // values per partition read after the previous restart
	for round := 1; round <= rounds; round++ {
		roundAcked, consumed := killDuringProduce(t, s, rng, round, topic, producers)
		acked = append(acked, roundAcked...)
		s.start()

		got := s.readAll(t, topic)
		log := map[int32][]string{}
		for p := range int32(partitions) {
			for i, r := range got[p] {
				if r.Offset != int64(i) {
					t.Fatalf("round %d: partition %d: record %d is at offset %d: offsets are not dense from 0", round, p, i, r.Offset)
				}
				log[p] = append(log[p], string(r.Value))
			}
		}
		lost := 0
		for _, a := range acked {
			vs := log[a.partition]
			if a.offset >= int64(len(vs)) || vs[a.offset] != a.value {
				if lost < 10 {
					have := "nothing (log ends at " + strconv.Itoa(len(vs)) + ")"
					if a.offset < int64(len(vs)) {
						have = vs[a.offset]
					}
					t.Errorf("round %d: %s was acknowledged at %d/%d; after kill -9 and restart there is %s", round, a.value, a.partition, a.offset, have)
				}
				lost++
			}
		}
		if lost > 0 {
			t.Fatalf("round %d: %d of %d acknowledged records lost or moved", round, lost, len(acked))
		}
		for _, c := range consumed {
			vs := log[c.partition]
			if c.offset >= int64(len(vs)) || vs[c.offset] != c.value {
				t.Fatalf("round %d: a consumer read %s at %d/%d before the kill; after the restart it is gone", round, c.value, c.partition, c.offset)
			}
		}
		for p, prev := range prevLog {
			for i, v := range prev {
				if i >= len(log[p]) || log[p][i] != v {
					t.Fatalf("round %d: partition %d offset %d held %s after the previous restart, now it does not", round, p, i, v)
				}
			}
		}
		checkIdempotent(t, round, log)
		tds, err := s.admin(t).ListTopics(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for r := 1; r <= round; r++ {
			name := fmt.Sprintf("created-before-kill-%d", r)
			if td, ok := tds[name]; !ok || td.Err != nil || len(td.Partitions) != 2 {
				t.Errorf("round %d: topic %s, created and acknowledged before the kill of round %d, is missing or wrong after the restart: %+v", round, name, r, td)
			}
		}
		total := 0
		for _, vs := range log {
			total += len(vs)
		}
		t.Logf("round %d: %d records acknowledged so far, %d in the log", round, len(acked), total)
		prevLog = log
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("SIGTERM after the kill rounds: exit %d, want 0", code)
	}
}

// killDuringProduce runs producers and a tailing consumer against s until a
// random number of acknowledgements arrived, SIGKILLs the broker while the
// producers still have records in flight, and returns every acknowledgement
// received and every record the consumer read.
func killDuringProduce(t *testing.T, s *server, rng *rand.Rand, round int, topic string, producers int) (acked, consumed []ackedRecord) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		done   bool // set when the round's results are taken; later callbacks are ignored
		nAcked atomic.Int64
		wg     sync.WaitGroup
	)
	clients := make([]*kgo.Client, producers)
	for i := range clients {
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(s.addr),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(0),
			kgo.MaxBufferedRecords(2000),
			kgo.ProducerBatchMaxBytes(16<<10), // many small batches: more in flight
			kgo.RetryTimeout(5*time.Second),
		)
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = cl
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ctx.Err() == nil; seq++ {
				rec := &kgo.Record{
					Topic: topic,
					Key:   []byte(fmt.Sprintf("k%d", seq%17)),
					Value: []byte(fmt.Sprintf("r%d-p%d-%07d", round, i, seq)),
				}
				cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
					if err != nil {
						return // failed or unknown: may or may not be in the log
					}
					mu.Lock()
					if !done {
						acked = append(acked, ackedRecord{r.Partition, r.Offset, string(r.Value)})
					}
					mu.Unlock()
					nAcked.Add(1)
				})
			}
		}()
	}

	// A consumer tails the partitions meanwhile: what it reads must still be
	// there after the restart (it reads only up to the high watermark).
	consumer, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	clients = append(clients, consumer)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				mu.Lock()
				if !done {
					consumed = append(consumed, ackedRecord{r.Partition, r.Offset, string(r.Value)})
				}
				mu.Unlock()
			})
		}
	}()

	// Kill after a random number of acknowledgements, plus a random delay.
	target := int64(20 + rng.IntN(3000))
	delay := time.Duration(rng.IntN(50_000)) * time.Microsecond
	for nAcked.Load() < target {
		if ctx.Err() != nil {
			t.Fatalf("round %d: only %d of %d acknowledgements before the deadline", round, nAcked.Load(), target)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(delay)
	// A topic whose creation was acknowledged just before the kill must
	// exist after the restart: metadata is as durable as records.
	s.createTopic(t, fmt.Sprintf("created-before-kill-%d", round), 2, nil)
	buffered := int64(0)
	for _, cl := range clients {
		buffered += cl.BufferedProduceRecords()
	}
	s.kill()
	t.Logf("round %d: SIGKILL after %d acknowledgements (+%v), %d records buffered or in flight", round, nAcked.Load(), delay, buffered)
	if buffered == 0 {
		t.Errorf("round %d: nothing was in flight at the kill: the test did not test anything", round)
	}

	// Stop the producers before the next incarnation starts, so that no
	// record of this round reaches it.
	cancel()
	closed := make(chan struct{})
	go func() {
		for _, cl := range clients {
			cl.Close()
		}
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("round %d: producers did not close", round)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("round %d: the tailing consumer read %d records before the kill", round, len(consumed))
	done = true
	return slices.Clone(acked), slices.Clone(consumed)
}

// checkIdempotent checks that no value is in the log twice and that each
// producer's records are in send order within a partition.
func checkIdempotent(t *testing.T, round int, log map[int32][]string) {
	t.Helper()
	seen := map[string]string{}
	for p, vs := range log {
		last := map[string]int{} // "r<round>-p<producer>" -> last seq
		for off, v := range vs {
			pos := fmt.Sprintf("%d/%d", p, off)
			if prev, dup := seen[v]; dup {
				t.Errorf("round %d: %s is in the log twice, at %s and %s", round, v, prev, pos)
			}
			seen[v] = pos
			i := strings.LastIndexByte(v, '-')
			seq, err := strconv.Atoi(v[i+1:])
			if i < 0 || err != nil {
				t.Fatalf("round %d: %s holds %q, which no producer wrote", round, pos, v)
			}
			if l, ok := last[v[:i]]; ok && seq <= l {
				t.Errorf("round %d: partition %d: %s at offset %d comes after sequence %d of the same producer", round, p, v, off, l)
			}
			last[v[:i]] = seq
		}
	}
}
