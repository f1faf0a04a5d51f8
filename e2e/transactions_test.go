package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Transactions end to end: confluent-kafka (librdkafka, transaction
// version 1) and franz-go (transaction version 2) against real `weir
// serve` processes, one broker and a cluster of three, read back by
// read_committed and read_uncommitted consumers (franz-go, kcat,
// librdkafka); consume-transform-produce loops that commit their input
// offsets inside their transactions; a zombie producer fenced; an
// idempotent producer whose connections are cut mid-flight.

// txnSetup is a broker or a cluster to run a test against.
type txnSetup struct {
	name      string
	bootstrap string
	any       *server // a broker of it, for its client and admin helpers
}

// txnSetups starts one broker and a cluster of three (partitions with one
// replica each, spread over the brokers): every transaction crosses
// brokers there, markers and verifications included.
func txnSetups(t *testing.T) []txnSetup {
	t.Helper()
	single := startGroupServer(t)
	cluster := startCluster(t, 3)
	return []txnSetup{
		{"one broker", single.addr, single},
		{"three brokers", cluster[0].addr, cluster[0]},
	}
}

type confluentTxnRun struct {
	Committed   []string `json:"committed"`
	All         []string `json:"all"`
	Copied      int      `json:"copied"`
	ZombieError string   `json:"zombie_error"`
	ZombieFatal bool     `json:"zombie_fatal"`
}

// TestTransactionsConfluentKafka: librdkafka's init_transactions, begin,
// commit and abort; read_committed sees the committed transactions only
// (librdkafka and kcat), read_uncommitted everything; a
// consume-transform-produce loop with send_offsets_to_transaction, run
// twice, copies its input exactly once and leaves its group's offsets at
// the input's end.
func TestTransactionsConfluentKafka(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	kcat := needKcat(t)
	for _, s := range txnSetups(t) {
		t.Run(s.name, func(t *testing.T) {
			s.any.createTopic(t, "payments", 3, nil)
			var out confluentTxnRun
			runPython(t, "confluent_txn.py", &out, "commit-abort", s.bootstrap, "payments", "ck-tx")
			if len(out.Committed) != 20 || len(out.All) != 25 {
				t.Fatalf("read_committed saw %d records, read_uncommitted %d; want 20 and 25\ncommitted: %v", len(out.Committed), len(out.All), out.Committed)
			}
			for _, v := range out.Committed {
				if !strings.HasPrefix(v, "c") {
					t.Fatalf("read_committed saw %q of the aborted transaction", v)
				}
			}
			r := run(t, "", nil, kcat, "-C", "-b", s.bootstrap, "-t", "payments", "-e", "-q", "-f", "%s\n", "-X", "isolation.level=read_committed")
			if r.code != 0 || strings.Count(r.stdout, "\n") != 20 || strings.Contains(r.stdout, "a1-") {
				t.Fatalf("kcat read_committed: %s", r)
			}

			// Consume-transform-produce.
			s.any.createTopic(t, "in", 3, nil)
			s.any.createTopic(t, "out", 3, nil)
			var lines strings.Builder
			for i := range 40 {
				fmt.Fprintf(&lines, "k%d\tv%d\n", i, i)
			}
			mustWeir(t, lines.String(), "produce", "--bootstrap-server", s.bootstrap, "--topic", "in", "--property", "parse.key=true")
			var first, second confluentTxnRun
			runPython(t, "confluent_txn.py", &first, "copy", s.bootstrap, "in", "out", "copier", "ck-copy", "25")
			runPython(t, "confluent_txn.py", &second, "copy", s.bootstrap, "in", "out", "copier", "ck-copy", "40")
			if first.Copied < 25 || first.Copied+second.Copied != 40 {
				t.Fatalf("the runs copied %d and %d records; want 40 between them, at least 25 in the first", first.Copied, second.Copied)
			}
			got := readCommittedValues(t, s.any, "out")
			slices.Sort(got)
			var want []string
			for i := range 40 {
				want = append(want, fmt.Sprintf("V%d", i))
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("out holds %v\nwant %v", got, want)
			}
			d := mustWeir(t, "", "groups", "describe", "--bootstrap-server", s.bootstrap, "--group", "copier")
			if strings.Count(d.stdout, "\n") < 4 {
				t.Fatalf("the group's offsets after the copy:\n%s", d.stdout)
			}
			for _, row := range strings.Split(strings.TrimSpace(d.stdout), "\n")[1:] {
				f := strings.Fields(row)
				if len(f) < 6 || f[3] != f[4] {
					t.Fatalf("committed offset is not the end of in: %q\n%s", row, d.stdout)
				}
			}
		})
	}
}

// readCommittedValues reads topic up to its end with a read_committed
// franz-go consumer (keeping control records to see its position) and
// returns the values.
func readCommittedValues(t *testing.T, s *server, topic string) []string {
	t.Helper()
	ctx := testCtx(t)
	// The markers land just after the commit returns: wait for the last
	// stable offset to reach the end of every partition.
	adm := s.admin(t)
	var want map[int32]int64
	for {
		ends, err1 := adm.ListEndOffsets(ctx, topic)
		stable, err2 := adm.ListCommittedOffsets(ctx, topic)
		if err1 == nil && err2 == nil {
			want = map[int32]int64{}
			same := true
			ends.Each(func(o kadm.ListedOffset) {
				so, _ := stable.Lookup(topic, o.Partition)
				same = same && so.Offset == o.Offset
				if o.Offset > 0 {
					want[o.Partition] = o.Offset
				}
			})
			if same {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("%s keeps an open transaction: %v %v", topic, err1, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cl := s.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	var out []string
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v left", topic, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out = append(out, string(r.Value))
			}
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return out
}

// TestTransactionsFranzGo: franz-go's GroupTransactSession exactly-once
// loop (transaction version 2: produce v12, TxnOffsetCommit v5, EndTxn v5),
// two sessions one after the other, copies its input exactly once.
func TestTransactionsFranzGo(t *testing.T) {
	t.Parallel()
	for _, s := range txnSetups(t) {
		t.Run(s.name, func(t *testing.T) {
			s.any.createTopic(t, "in", 4, nil)
			s.any.createTopic(t, "out", 4, nil)
			var lines strings.Builder
			for i := range 200 {
				fmt.Fprintf(&lines, "k%d\tv%d\n", i, i)
			}
			mustWeir(t, lines.String(), "produce", "--bootstrap-server", s.bootstrap, "--topic", "in", "--property", "parse.key=true")
			copied := 0
			for session := 0; copied < 200 && session < 5; session++ {
				copied += franzCopy(t, s.bootstrap, 120)
			}
			got := readCommittedValues(t, s.any, "out")
			seen := map[string]bool{}
			for _, v := range got {
				if seen[v] {
					t.Fatalf("out holds %q twice", v)
				}
				seen[v] = true
			}
			if copied != 200 || len(seen) != 200 {
				t.Fatalf("copied %d records; out holds %d distinct; want 200", copied, len(seen))
			}
		})
	}
}

// franzCopy runs one GroupTransactSession copying in to out, one
// transaction per poll, until limit records or 3 s without any, and
// returns how many records its committed transactions copied.
func franzCopy(t *testing.T, bootstrap string, limit int) int {
	t.Helper()
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(bootstrap), kgo.TransactionalID("franz-copier"),
		kgo.ConsumerGroup("franz-copy"), kgo.ConsumeTopics("in"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxPartitionBytes(500),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ctx := testCtx(t)
	copied := 0
	for copied < limit {
		// The first poll waits for the group to form (and, on a new
		// cluster, for __consumer_offsets to be created).
		idle := 3 * time.Second
		if copied == 0 {
			idle = 20 * time.Second
		}
		pctx, cancel := context.WithTimeout(ctx, idle)
		fs := sess.PollFetches(pctx)
		cancel()
		recs := fs.Records()
		if len(recs) == 0 {
			if ctx.Err() != nil || pctx.Err() != nil {
				break
			}
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			sess.Produce(ctx, &kgo.Record{Topic: "out", Partition: r.Partition, Key: r.Key, Value: r.Value}, nil)
		}
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			t.Fatalf("ending a transaction: %v", err)
		}
		if committed {
			copied += len(recs)
		}
	}
	return copied
}

// TestTransactionsZombieFenced: a second librdkafka producer with the same
// transactional id fences the first: its commit fails with a fatal fenced
// error and its record never reaches read_committed consumers.
func TestTransactionsZombieFenced(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := startServer(t)
	s.createTopic(t, "t", 1, nil)
	var out confluentTxnRun
	runPython(t, "confluent_txn.py", &out, "zombie", s.addr, "t", "zombie-tx")
	if !out.ZombieFatal || !strings.Contains(out.ZombieError, "FENCED") && !strings.Contains(out.ZombieError, "EPOCH") {
		t.Fatalf("the zombie's commit: %q fatal=%v; want a fatal fenced error", out.ZombieError, out.ZombieFatal)
	}
	if got := readCommittedValues(t, s, "t"); !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("read_committed saw %v, want [fresh]", got)
	}
}

// TestTransactionsCLI: weir produce --transactional-id, weir consume
// --isolation-level, weir transactions list | describe |
// describe-producers, against a transaction left open by franz-go.
func TestTransactionsCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.createTopic(t, "t", 1, nil)
	bs := func(cmd ...string) []string { return append(cmd, "--bootstrap-server", s.addr) }
	mustWeir(t, "a\nb\nc\n", bs("produce", "--topic", "t", "--transactional-id", "cli-tx", "--transaction-size", "2")...)
	open := s.client(t, kgo.TransactionalID("left-open"), kgo.DefaultProduceTopic("t"))
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := open.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	committed := mustWeir(t, "", bs("consume", "--topic", "t", "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "1500")...)
	if committed.stdout != "a\nb\nc\n" {
		t.Fatalf("read_committed printed %q", committed.stdout)
	}
	all := mustWeir(t, "", bs("consume", "--topic", "t", "--from-beginning", "--timeout-ms", "1500")...)
	if all.stdout != "a\nb\nc\nopen\n" {
		t.Fatalf("read_uncommitted printed %q", all.stdout)
	}
	list := mustWeir(t, "", bs("transactions", "list")...)
	if !strings.Contains(list.stdout, "cli-tx") || !strings.Contains(list.stdout, "left-open") || !strings.Contains(list.stdout, "Ongoing") {
		t.Fatalf("transactions list:\n%s", list.stdout)
	}
	desc := mustWeir(t, "", bs("transactions", "describe", "--transactional-id", "left-open")...)
	if !strings.Contains(desc.stdout, "Ongoing") || !strings.Contains(desc.stdout, "t-0") {
		t.Fatalf("transactions describe:\n%s", desc.stdout)
	}
	prods := mustWeir(t, "", bs("transactions", "describe-producers", "--topic", "t", "--partition", "0")...)
	rows := strings.Split(strings.TrimSpace(prods.stdout), "\n")
	// cli-tx (no transaction open) and left-open (open from offset 5:
	// a, b, marker, c, marker).
	if len(rows) != 3 || !strings.HasSuffix(rows[1], " -1") && !strings.HasSuffix(rows[2], " -1") ||
		!strings.HasSuffix(rows[1], " 5") && !strings.HasSuffix(rows[2], " 5") {
		t.Fatalf("transactions describe-producers:\n%s", prods.stdout)
	}
}

// TestIdempotentProducerConnectionCut: a franz-go idempotent producer
// whose connections to the broker are cut at random moments, requests in
// flight, retries what it did not hear back about; the broker recognises
// the retries, so every record is in the log exactly once, in order.
func TestIdempotentProducerConnectionCut(t *testing.T) {
	t.Parallel()
	proxyAddr := freePort(t)
	props := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(props, []byte("advertised.listeners=PLAINTEXT://"+proxyAddr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--config", props)
	p := startCutter(t, proxyAddr, s.addr)
	cl := s.client(t, kgo.SeedBrokers(proxyAddr), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.MaxBufferedRecords(50), kgo.RecordRetries(1000), kgo.RetryTimeout(60*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }), kgo.MetadataMinAge(10*time.Millisecond))
	adm := s.admin(t)
	if resp, err := adm.CreateTopic(testCtx(t), 1, 1, nil, "cut"); err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	const n = 20000
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range n {
		wg.Add(1)
		cl.Produce(testCtx(t), &kgo.Record{Topic: "cut", Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d records failed; first: %v", len(errs), errs[0])
	}
	if p.cuts() < 10 {
		t.Fatalf("only %d connections were cut: the test checked little", p.cuts())
	}
	recs := s.readAll(t, "cut")[0]
	if len(recs) != n {
		t.Fatalf("the log holds %d records, want %d (%d connections cut)", len(recs), n, p.cuts())
	}
	for i, r := range recs {
		if string(r.Value) != strconv.Itoa(i) {
			t.Fatalf("offset %d holds %s, want %d: a duplicate or a reordering (%d connections cut)", i, r.Value, i, p.cuts())
		}
	}
	t.Logf("%d records, %d connections cut", n, p.cuts())
}

// cutter is a TCP proxy that closes each connection it forwards once the
// client has sent a random 1 to 8 KiB through it (so mid-request, or with
// requests whose answers are still on the way), up to maxCuts times; then
// it forwards without cutting.
type cutter struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	n    int
	done chan struct{}
}

const maxCuts = 60

func startCutter(t *testing.T, listen, target string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			budget := int64(1024 + rng.IntN(7*1024))
			c.wg.Add(3)
			go func() {
				defer c.wg.Done()
				n, _ := io.Copy(out, io.LimitReader(in, budget))
				c.mu.Lock()
				cut := n == budget && c.n < maxCuts
				if cut {
					c.n++
				}
				c.mu.Unlock()
				if !cut && n == budget {
					io.Copy(out, in)
				}
				in.Close()
				out.Close()
			}()
			go func() { defer c.wg.Done(); io.Copy(in, out); in.Close(); out.Close() }()
			go func() {
				defer c.wg.Done()
				<-c.done
				in.Close()
				out.Close()
			}()
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *cutter) cuts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *cutter) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	c.ln.Close()
	c.wg.Wait()
}

// TestTransactionSurvivesKill9: a franz-go transaction is open on a broker
// that is killed with SIGKILL; the restarted broker rebuilds the open
// transaction from its log (read_committed stays below it) and its
// coordinator's state, so the producer commits it and read_committed
// consumers then see every record of it.
func TestTransactionSurvivesKill9(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.createTopic(t, "t", 2, nil)
	cl := s.client(t, kgo.TransactionalID("survivor"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionTimeout(60*time.Second), kgo.RetryTimeout(60*time.Second))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r := &kgo.Record{Topic: "t", Partition: int32(i % 2), Value: []byte(strconv.Itoa(i))}
		if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	s.kill()
	s.start()
	adm := s.admin(t)
	stable, err := adm.ListCommittedOffsets(testCtx(t), "t")
	if err != nil {
		t.Fatal(err)
	}
	stable.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			t.Errorf("partition %d: read_committed end %d before the commit, want 0", o.Partition, o.Offset)
		}
	})
	if err := cl.EndTransaction(testCtx(t), kgo.TryCommit); err != nil {
		t.Fatalf("commit after the restart: %v", err)
	}
	got := readCommittedValues(t, s, "t")
	slices.Sort(got)
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed saw %v, want %v", got, want)
	}
}
