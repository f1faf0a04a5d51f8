package broker_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnProducer is a franz-go transactional producer.
func (tb *testBroker) txnProducer(id string, opts ...kgo.Opt) *kgo.Client {
	return tb.client(append([]kgo.Opt{
		kgo.TransactionalID(id), kgo.TransactionTimeout(10 * time.Second),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	}, opts...)...)
}

// produceTxn runs one transaction of n records to topic/partition and ends
// it with commit.
func produceTxn(t *testing.T, cl *kgo.Client, topic string, partition int32, tag string, n int, commit bool) {
	t.Helper()
	ctx := ctxT(t)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte(fmt.Sprintf("%s-%d", tag, i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce in transaction %s: %v", tag, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction %s: %v", tag, err)
	}
}

// readAll reads topic from the start with isolation level iso up to its
// end (the high watermark, or for read_committed the last stable offset)
// and returns the values. Control records (markers) are kept by the
// client so that its position shows how far it read; they are not
// returned.
func readAll(t *testing.T, tb *testBroker, topic string, iso kgo.IsolationLevel) []string {
	t.Helper()
	adm := kadm.NewClient(tb.client())
	var ends kadm.ListedOffsets
	var err error
	if iso == kgo.ReadCommitted() {
		ends, err = adm.ListCommittedOffsets(ctxT(t), topic)
	} else {
		ends, err = adm.ListEndOffsets(ctxT(t), topic)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl := tb.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(iso), kgo.KeepControlRecords())
	ctx := ctxT(t)
	var out []string
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %s; still waiting for %v", len(out), topic, want)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
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

// settle waits until no transaction is open on topic: the markers of the
// last ones ended are written asynchronously after EndTxn, as with Kafka,
// so its last stable offset reaches its end a moment later.
func settle(t *testing.T, tb *testBroker, topic string) {
	t.Helper()
	adm := kadm.NewClient(tb.client())
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err1 := adm.ListCommittedOffsets(ctxT(t), topic)
		e, err2 := adm.ListEndOffsets(ctxT(t), topic)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		stable := true
		e.Each(func(o kadm.ListedOffset) {
			co, _ := c.Lookup(topic, o.Partition)
			stable = stable && co.Offset == o.Offset
		})
		if stable {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has open transactions after 10s: committed %v, end %v", topic, c, e)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTransactionsCommitAndAbort: committed records reach read_committed
// consumers, aborted ones only read_uncommitted ones, with franz-go, which
// speaks transaction version 2 when the broker advertises it.
func TestTransactionsCommitAndAbort(t *testing.T) {
	for _, tv := range []int16{2, 0} {
		t.Run(fmt.Sprintf("transaction.version=%d", tv), func(t *testing.T) {
			cfg := newConfig(t)
			cfg.Txn.Version = tv
			tb := startBroker(t, cfg)
			tb.createTopic("payments", 2, nil)
			cl := tb.txnProducer("p1")
			produceTxn(t, cl, "payments", 0, "c1", 3, true)
			produceTxn(t, cl, "payments", 1, "a1", 2, false)
			produceTxn(t, cl, "payments", 1, "c2", 2, true)
			produceTxn(t, cl, "payments", 0, "a2", 4, false)
			settle(t, tb, "payments")
			committed := readAll(t, tb, "payments", kgo.ReadCommitted())
			all := readAll(t, tb, "payments", kgo.ReadUncommitted())
			if len(committed) != 5 || len(all) != 11 {
				t.Fatalf("read_committed saw %d records %v, read_uncommitted %d; want 5 and 11", len(committed), committed, len(all))
			}
			for _, v := range committed {
				if v[0] != 'c' {
					t.Fatalf("read_committed saw aborted record %s", v)
				}
			}
		})
	}
}

// TestOpenTransactionHoldsLSO: a transaction not yet ended keeps
// read_committed consumers and ListOffsets(read_committed) below its first
// record, also across a restart, until it ends.
func TestOpenTransactionHoldsLSO(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	plain := tb.client(kgo.DefaultProduceTopic("t"))
	if err := plain.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl := tb.txnProducer("open")
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("inside")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	lso := func() (int64, int64) {
		adm := kadm.NewClient(tb.client())
		c, err1 := adm.ListCommittedOffsets(ctxT(t), "t")
		e, err2 := adm.ListEndOffsets(ctxT(t), "t")
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		co, _ := c.Lookup("t", 0)
		eo, _ := e.Lookup("t", 0)
		return co.Offset, eo.Offset
	}
	if c, e := lso(); c != 1 || e != 2 {
		t.Fatalf("read_committed end %d, end %d; want 1 and 2", c, e)
	}
	tb.restart()
	if c, e := lso(); c != 1 || e != 2 {
		t.Fatalf("after a restart: read_committed end %d, end %d; want 1 and 2", c, e)
	}
	// The producer commits (its coordinator reloaded the open transaction).
	if err := cl.EndTransaction(ctxT(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	settle(t, tb, "t")
	if got := readAll(t, tb, "t", kgo.ReadCommitted()); len(got) != 2 {
		t.Fatalf("after the commit read_committed saw %v", got)
	}
}

// TestZombieFenced: a second producer with the same transactional id fences
// the first, whose commit fails and whose records are aborted.
func TestZombieFenced(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	zombie := tb.txnProducer("same")
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fresh := tb.txnProducer("same")
	produceTxn(t, fresh, "t", 0, "fresh", 1, true)
	err := zombie.EndTransaction(ctxT(t), kgo.TryCommit)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("the zombie's commit: %v; want PRODUCER_FENCED", err)
	}
	settle(t, tb, "t")
	got := readAll(t, tb, "t", kgo.ReadCommitted())
	if len(got) != 1 || got[0] != "fresh-0" {
		t.Fatalf("read_committed saw %v", got)
	}
}

// TestTransactionTimeoutAborts: a transaction left open past its timeout
// is aborted by the coordinator: read_committed consumers move past it.
func TestTransactionTimeoutAborts(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	cl := tb.txnProducer("slow", kgo.TransactionTimeout(time.Second))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("abandoned")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(tb.client())
	waitTimeoutAbort(t, adm)
	txns, err := adm.DescribeTransactions(ctxT(t), "slow")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := txns.On("slow", nil); d.State != "CompleteAbort" {
		t.Fatalf("state %q, want CompleteAbort", d.State)
	}
	if got := readAll(t, tb, "t", kgo.ReadCommitted()); len(got) != 0 {
		t.Fatalf("read_committed saw %v", got)
	}
}

// TestExactlyOnceLoop: franz-go's GroupTransactSession copies a topic to
// another, committing its input offsets in the same transactions (many:
// small fetches); a second session takes over from the offsets committed
// in transactions. The copy is the input, exactly once.
func TestExactlyOnceLoop(t *testing.T) {
	cfg := groupConfig(t)
	tb := startBroker(t, cfg)
	tb.createTopic("in", 2, nil)
	tb.createTopic("out", 2, nil)
	run := func(want int) {
		sess, err := kgo.NewGroupTransactSession(
			kgo.SeedBrokers(tb.addr), kgo.TransactionalID("copier"),
			kgo.ConsumerGroup("copy"), kgo.ConsumeTopics("in"),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxPartitionBytes(200),
			kgo.SessionTimeout(2*time.Second), kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
		)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		ctx := ctxT(t)
		copied, txns := 0, 0
		for copied < want {
			fs := sess.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("copied %d of %d: %v", copied, want, ctx.Err())
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
				txns++
			}
		}
		if copied != want || txns < 2 {
			t.Fatalf("a session copied %d records in %d transactions; want %d in several", copied, txns, want)
		}
	}
	tb.produceN(t, "in", 2, 50)
	run(100)
	tb.produceN(t, "in", 2, 50)
	run(100) // resumes from the offsets committed in the transactions
	settle(t, tb, "out")
	got := readAll(t, tb, "out", kgo.ReadCommitted())
	seen := map[string]int{}
	for _, v := range got {
		seen[v]++
	}
	if len(got) != 200 || len(seen) != 100 {
		// produceN writes the same 50 values per partition each time.
		t.Fatalf("out has %d records, %d distinct values; want 200 records of 100 values", len(got), len(seen))
	}
}

// TestTransactionAdmin: DescribeProducers, DescribeTransactions and
// ListTransactions describe an open transaction.
func TestTransactionAdmin(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	cl := tb.txnProducer("admin-1")
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(tb.client())
	list, err := adm.ListTransactions(ctxT(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := list["admin-1"]; !ok || list["admin-1"].State != "Ongoing" {
		t.Fatalf("list: %+v", list)
	}
	desc, err := adm.DescribeTransactions(ctxT(t), "admin-1")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := desc.On("admin-1", nil)
	if d.State != "Ongoing" || len(d.Topics) != 1 || d.ProducerID < 0 {
		t.Fatalf("describe: %+v", d)
	}
	prods, err := adm.DescribeProducers(ctxT(t), kadm.TopicsSet{"t": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	prods.EachProducer(func(p kadm.DescribedProducer) {
		found = found || (p.ProducerID == d.ProducerID && p.CurrentTxnStartOffset == 0)
	})
	if !found {
		t.Fatalf("describe producers: %+v", prods)
	}
	if err := cl.EndTransaction(ctxT(t), kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
}

// TestLateTransactionalProduceRefused: KIP-890 part 1. A transactional
// batch for a partition that is not in the producer's ongoing transaction
// (a late produce of a transaction that ended) is refused by the
// partition's leader after asking the coordinator; with the defences off
// (the planted defect) it is appended and hangs the partition's LSO.
func TestLateTransactionalProduceRefused(t *testing.T) {
	for _, defect := range []bool{false, true} {
		t.Run(fmt.Sprintf("defect=%v", defect), func(t *testing.T) {
			cfg := newConfig(t)
			cfg.Defects.NoKIP890 = defect
			tb := startBroker(t, cfg)
			tb.createTopic("t", 1, nil)
			cl := tb.txnProducer("late")
			produceTxn(t, cl, "t", 0, "c", 1, true)
			adm := kadm.NewClient(tb.client())
			// The commit's marker is written after EndTxn returns: wait
			// for it (the LSO past it), so that the late batch comes
			// after the transaction ended in the partition, not inside
			// its window, where a batch of the producer's epoch is still
			// part of the open transaction (as in Kafka).
			deadline := time.Now().Add(10 * time.Second)
			for {
				c, err := adm.ListCommittedOffsets(ctxT(t), "t")
				if o, _ := c.Lookup("t", 0); err == nil && o.Offset == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the commit marker was not written within 10s: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The producer's id and epoch, from its coordinator.
			desc, err := adm.DescribeTransactions(ctxT(t), "late")
			if err != nil {
				t.Fatal(err)
			}
			d, _ := desc.On("late", nil)
			// A batch of a transaction that ended: its epoch is still the
			// producer's under transaction version 1 (the defect
			// advertises 0), and the partition was never added again.
			b := kmsg.RecordBatch{
				PartitionLeaderEpoch: -1, Magic: 2, Attributes: 0x10, ProducerID: d.ProducerID,
				ProducerEpoch: d.ProducerEpoch, FirstSequence: 1, NumRecords: 1,
			}
			req := kmsg.NewPtrProduceRequest()
			req.SetVersion(9)
			id := "late"
			req.TransactionID, req.Acks, req.TimeoutMillis = &id, -1, 5000
			rec := kmsg.Record{Value: []byte("late")}
			rec.Length = int32(len(rec.AppendTo(nil)) - 1)
			b.Records = rec.AppendTo(nil)
			raw := b.AppendTo(nil)
			fixBatch(raw)
			req.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: raw}}}}
			resp := rawRequest(t, tb.addr, req).(*kmsg.ProduceResponse)
			code := resp.Topics[0].Partitions[0].ErrorCode
			if defect {
				if code != 0 {
					t.Fatalf("with the defences off the late batch got %s", kerr.ErrorForCode(code))
				}
				c, _ := adm.ListCommittedOffsets(ctxT(t), "t")
				if o, _ := c.Lookup("t", 0); o.Offset != 2 {
					t.Fatalf("the late batch should hang the LSO at 2, it is %d", o.Offset)
				}
				return
			}
			if code != kerr.InvalidTxnState.Code && code != kerr.InvalidProducerEpoch.Code {
				t.Fatalf("late transactional batch: %v, want INVALID_TXN_STATE", kerr.ErrorForCode(code))
			}
		})
	}
}

// fixBatch sets the length and CRC-32C of a v2 batch built by kmsg.
func fixBatch(raw []byte) {
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
}

// waitTimeoutAbort waits up to 10 s for the coordinator to abort, on its
// timeout, the one-record transaction left open on partition 0 of t: the
// last stable offset passes the record and its abort marker.
func waitTimeoutAbort(t *testing.T, adm *kadm.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := adm.ListCommittedOffsets(ctxT(t), "t")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := c.Lookup("t", 0); o.Offset == 2 { // the record and the abort marker
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the coordinator did not abort the transaction on its timeout within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOffsetFetchRequireStable: while a transaction that committed offsets
// of a group is open, OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for those partitions (KIP-447), and the offset
// once the transaction commits. The broker once dropped the flag on its
// way to the group shard (seed 33068: a new incarnation started from the
// offset before a commit whose marker was held up, and processed a record
// twice).
func TestOffsetFetchRequireStable(t *testing.T) {
	tb := startBroker(t, groupConfig(t))
	tb.createTopic("in", 1, nil)
	cl := tb.client()
	ctx := ctxT(t)
	txnID := "stable"
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = &txnID, 10000
	ir, err := init.RequestWith(ctx, cl)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("InitProducerID: %v %v", err, kerr.ErrorForCode(ir.ErrorCode))
	}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group = txnID, "g"
	commit.ProducerID, commit.ProducerEpoch, commit.Generation = ir.ProducerID, ir.ProducerEpoch, -1
	ct := kmsg.NewTxnOffsetCommitRequestTopic()
	ct.Topic = "in"
	cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset, cp.LeaderEpoch = 0, 7, -1
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	cr, err := commit.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("TxnOffsetCommit: %v", err)
	}
	if code := cr.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("TxnOffsetCommit: %v", kerr.ErrorForCode(code))
	}
	fetch := func() (int64, int16) {
		t.Helper()
		req := kmsg.NewPtrOffsetFetchRequest()
		req.RequireStable = true
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = "g"
		ft := kmsg.NewOffsetFetchRequestGroupTopic()
		ft.Topic, ft.Partitions = "in", []int32{0}
		g.Topics = append(g.Topics, ft)
		req.Groups = append(req.Groups, g)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("OffsetFetch: %v", err)
		}
		if len(resp.Groups) == 1 && len(resp.Groups[0].Topics) == 1 && len(resp.Groups[0].Topics[0].Partitions) == 1 {
			p := resp.Groups[0].Topics[0].Partitions[0]
			return p.Offset, p.ErrorCode
		}
		if len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 {
			p := resp.Topics[0].Partitions[0]
			return p.Offset, p.ErrorCode
		}
		t.Fatalf("OffsetFetch answered %+v", resp)
		return 0, 0
	}
	if off, code := fetch(); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("OffsetFetch(require_stable) during the transaction: offset %d, %v; want UNSTABLE_OFFSET_COMMIT", off, kerr.ErrorForCode(code))
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = txnID, ir.ProducerID, ir.ProducerEpoch, true
	if er, err := end.RequestWith(ctx, cl); err != nil || er.ErrorCode != 0 {
		t.Fatalf("EndTxn: %v %v", err, er)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		off, code := fetch()
		if code == 0 && off == 7 {
			return
		}
		if time.Now().After(deadline) || (code != 0 && code != kerr.UnstableOffsetCommit.Code) {
			t.Fatalf("OffsetFetch after the commit: offset %d, %v; want 7", off, kerr.ErrorForCode(code))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
