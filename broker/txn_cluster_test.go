package broker_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
)

// freePorts returns n ports free now on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startTxnCluster starts n combined-mode brokers in this process, each
// partition with one replica (replication is not wired yet), and returns
// them and a bootstrap address.
func startTxnCluster(t *testing.T, n int) ([]*testBroker, string) {
	t.Helper()
	ports := freePorts(t, 2*n)
	var voters []string
	for i := range n {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[n+i]))
	}
	dir := t.TempDir()
	var tbs []*testBroker
	started := make(chan *testBroker, n)
	for i := range n {
		cfg := groupConfig(t)
		cfg.NodeID = int32(i + 1)
		cfg.ListenAddr = fmt.Sprintf("127.0.0.1:%d", ports[i])
		cfg.ControllerListenAddr = fmt.Sprintf("127.0.0.1:%d", ports[n+i])
		cfg.ControllerQuorumVoters = strings.Join(voters, ",")
		cfg.ProcessRoles = []string{broker.RoleBroker, broker.RoleController}
		cfg.DataDir = filepath.Join(dir, fmt.Sprintf("node-%d", i+1))
		cfg.Txn.StateLogPartitions = 6
		cfg.Groups.OffsetsTopicPartitions = 6
		tb := &testBroker{t: t, cfg: cfg, deps: broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}}}
		tbs = append(tbs, tb)
		// The quorum needs a majority to register anyone: start them
		// together.
		go func() { tb.start(); started <- tb }()
	}
	for range n {
		<-started
	}
	for _, tb := range tbs {
		t.Cleanup(tb.close)
	}
	return tbs, tbs[0].addr
}

// TestTransactionsAcrossBrokers: three brokers, each leading some
// partitions of the data topic and of __transaction_state and
// __consumer_offsets, so markers and verifications cross brokers; a
// consume-transform-produce loop, aborts, and a restart of every broker
// in turn between transactions.
func TestTransactionsAcrossBrokers(t *testing.T) {
	tbs, bootstrap := startTxnCluster(t, 3)
	cl := func(opts ...kgo.Opt) *kgo.Client {
		c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.RetryTimeout(20 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	adm := kadm.NewClient(cl())
	for _, topic := range []string{"in", "out"} {
		if resp, err := adm.CreateTopic(ctxT(t), 6, 1, nil, topic); err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", topic, err, resp.Err)
		}
	}
	// The broker answering Metadata may not have the new topic's image
	// yet: ask until every partition has a leader.
	var leaders map[int32]bool
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		md, err := adm.Metadata(ctxT(t), "in")
		if err != nil {
			t.Fatal(err)
		}
		leaders = map[int32]bool{}
		led := 0
		for _, p := range md.Topics["in"].Partitions {
			if p.Leader >= 0 {
				leaders[p.Leader] = true
				led++
			}
		}
		if led == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 6 partitions of in have a leader after 10 s", led)
		}
	}
	if len(leaders) < 2 {
		t.Fatalf("the partitions of in are led by %v: want them spread", leaders)
	}
	// Input: 20 records per partition, some of them in aborted
	// transactions that must never reach the output.
	p := cl(kgo.TransactionalID("feeder"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for round := range 4 {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for part := int32(0); part < 6; part++ {
			for i := range 5 {
				v := fmt.Sprintf("r%d-p%d-%d", round, part, i)
				if round == 2 {
					v = "aborted-" + v
				}
				if err := p.ProduceSync(ctxT(t), &kgo.Record{Topic: "in", Partition: part, Value: []byte(v)}).FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
			}
		}
		if err := p.EndTransaction(ctxT(t), kgo.TransactionEndTry(round != 2)); err != nil {
			t.Fatal(err)
		}
	}
	// The copier, restarted between rounds while brokers restart.
	copied := 0
	for restart := 0; copied < 90; restart++ {
		sess, err := kgo.NewGroupTransactSession(
			kgo.SeedBrokers(bootstrap), kgo.TransactionalID("copier"),
			kgo.ConsumerGroup("copy"), kgo.ConsumeTopics("in"),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxPartitionBytes(300),
			kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(200*time.Millisecond),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RetryTimeout(20*time.Second),
		)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for n := 0; n < 30 && copied < 90; {
			fs := sess.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("copied %d of 90: %v", copied, ctx.Err())
			}
			recs := fs.Records()
			if len(recs) == 0 {
				continue
			}
			if err := sess.Begin(); err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				sess.Produce(ctx, &kgo.Record{Topic: "out", Partition: r.Partition, Value: r.Value}, nil)
			}
			committed, err := sess.End(ctx, kgo.TryCommit)
			if err != nil {
				t.Fatalf("end: %v", err)
			}
			if committed {
				copied += len(recs)
				n += len(recs)
			}
		}
		cancel()
		sess.Close()
		if restart < len(tbs) {
			tbs[restart].restart()
		}
	}
	// The output: every committed input record once, no aborted one.
	var got []string
	rc := cl(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < 90 && ctx.Err() == nil {
		rc.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	// Anything more (a duplicate) would come now.
	more, cancelMore := context.WithTimeout(context.Background(), time.Second)
	defer cancelMore()
	for more.Err() == nil {
		rc.PollFetches(more).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	seen := map[string]bool{}
	for _, v := range got {
		if strings.HasPrefix(v, "aborted-") || seen[v] {
			t.Fatalf("out holds %q twice or from an aborted transaction", v)
		}
		seen[v] = true
	}
	if len(seen) != 90 {
		t.Fatalf("out holds %d distinct records, want 90", len(seen))
	}
}

// TestCoordinatorFailoverFinishesCommit: a transaction is committed while
// the broker leading one of its partitions is down, so the coordinator's
// markers cannot all be written; the coordinator restarts (a new
// incarnation loads __transaction_state and finds the commit prepared),
// the partition's broker comes back, and the commit completes everywhere.
func TestCoordinatorFailoverFinishesCommit(t *testing.T) {
	tbs, bootstrap := startTxnCluster(t, 3)
	client := func(opts ...kgo.Opt) *kgo.Client {
		c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.RetryTimeout(30 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	adm := kadm.NewClient(client())
	if resp, err := adm.CreateTopic(ctxT(t), 3, 1, nil, "t"); err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	p := client(kgo.TransactionalID("fo"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for part := int32(0); part < 3; part++ {
		if err := p.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Partition: part, Value: []byte(fmt.Sprint(part))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	coords := adm.FindTxnCoordinators(ctxT(t), "fo")
	if err := coords["fo"].Err; err != nil {
		t.Fatal(err)
	}
	coord := coords["fo"].NodeID
	md, err := adm.Metadata(ctxT(t), "t")
	if err != nil {
		t.Fatal(err)
	}
	other := int32(-1)
	for _, pm := range md.Topics["t"].Partitions {
		if pm.Leader != coord {
			other = pm.Leader
		}
	}
	if other < 0 {
		t.Skip("every partition is led by the coordinator")
	}
	down := tbs[other-1]
	down.close()
	if err := p.EndTransaction(ctxT(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	tbs[coord-1].restart()
	down.start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		desc, err := adm.DescribeTransactions(ctxT(t), "fo")
		if err == nil {
			if d, _ := desc.On("fo", nil); d.State == "CompleteCommit" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the commit did not complete within 30s: %v %v", desc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc := client(kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for got < 3 && ctx.Err() == nil {
		got += len(rc.PollFetches(ctx).Records())
	}
	if got != 3 {
		t.Fatalf("read_committed saw %d of the 3 committed records", got)
	}
}

// TestCoordinatorFailoverToAnotherBroker: with every partition on three
// replicas, the broker coordinating a transactional id stops right after
// a commit was decided; another broker becomes the leader of its
// __transaction_state partition, loads the decision from its replica of
// the log, and finishes the commit; the producer's next transaction runs
// at the new coordinator.
func TestCoordinatorFailoverToAnotherBroker(t *testing.T) {
	tbs, _ := startTxnCluster(t, 3)
	alive := func(skip int32) string {
		for _, tb := range tbs {
			if tb.b != nil && tb.cfg.NodeID != skip {
				return tb.addr
			}
		}
		return ""
	}
	client := func(opts ...kgo.Opt) *kgo.Client {
		c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(tbs[0].addr, tbs[1].addr, tbs[2].addr), kgo.RetryTimeout(30 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	adm := kadm.NewClient(client())
	if resp, err := adm.CreateTopic(ctxT(t), 3, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, "t"); err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	p := client(kgo.TransactionalID("moving"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceTxn(t, p, "t", 0, "first", 3, true)
	coords := adm.FindTxnCoordinators(ctxT(t), "moving")
	if err := coords["moving"].Err; err != nil {
		t.Fatal(err)
	}
	old := coords["moving"].NodeID
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for part := int32(0); part < 3; part++ {
		if err := p.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Partition: part, Value: []byte(fmt.Sprint("second-", part))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.EndTransaction(ctxT(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	tbs[old-1].close()
	adm2 := kadm.NewClient(client(kgo.SeedBrokers(alive(old))))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := adm2.FindTxnCoordinators(ctxT(t), "moving")["moving"]
		if c.Err == nil && c.NodeID != old {
			desc, err := adm2.DescribeTransactions(ctxT(t), "moving")
			if d, _ := desc.On("moving", nil); err == nil && d.State == "CompleteCommit" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no other broker finished the commit within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The producer carries on at the new coordinator.
	produceTxn(t, p, "t", 1, "third", 2, true)
	rc := client(kgo.SeedBrokers(alive(old)), kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < 8 && ctx.Err() == nil {
		rc.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	if len(got) != 8 {
		t.Fatalf("read_committed saw %d of the 8 committed records: %v", len(got), got)
	}
}
