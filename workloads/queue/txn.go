package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// TxnConfig is the queue's transactional mode, Jepsen's txn mode: each
// producer process sends a few records in one Kafka transaction and
// commits or aborts it, and every consumer (and the final read) reads
// read_committed. Zero fields take the defaults noted.
type TxnConfig struct {
	// Processes is the transactional producers per producer client host,
	// each a kgo client with a transactional id of its own (a
	// transactional client runs one transaction at a time). Default 2.
	Processes int
	// MaxSends bounds the sends of one transaction: 1..MaxSends, drawn
	// uniformly. Default 4.
	MaxSends int
	// AbortChance is the share of transactions aborted on purpose.
	// Default 0.2.
	AbortChance float64
	// Timeout is the producers' transaction.timeout.ms: a transaction
	// left open this long (its client crashed) is aborted by the
	// coordinator. Default 10s.
	Timeout time.Duration
	// OffsetsChance is the share of transactions that, once every send
	// of theirs was acknowledged, also commit a consumer offset inside
	// the transaction (AddOffsetsToTxn and TxnOffsetCommit, as a
	// consume-transform-produce loop's send_offsets_to_transaction
	// does) for Group: one past the transaction's first record, in its
	// partition, with metadata naming the transaction. Default 0.5.
	OffsetsChance float64
	// ReadOffsetsChance is the share of transactions after whose end
	// the process reads Group's committed offsets (OffsetFetch).
	// Default 0.5.
	ReadOffsetsChance float64
	// Think is the longest pause of a transaction before each of its
	// sends but the first, and before it ends (uniform from 0): the work
	// a consume-transform-produce loop does inside its transaction, so
	// that transactions last long enough for what happens during one
	// (a late EndTxn of the one before, a reader polling) to happen.
	// Default 100ms; negative: none.
	Think time.Duration
	// Group is the consumer group the offsets are committed for: a
	// group without members, as a producer that stores its progress in
	// Kafka uses. Default "<topic>-txn".
	Group string
}

func (t *TxnConfig) withDefaults() error {
	if t.Processes == 0 {
		t.Processes = 2
	}
	if t.MaxSends == 0 {
		t.MaxSends = 4
	}
	if t.AbortChance == 0 {
		t.AbortChance = 0.2
	}
	if t.Timeout == 0 {
		t.Timeout = 10 * time.Second
	}
	if t.Think == 0 {
		t.Think = 100 * time.Millisecond
	}
	if t.OffsetsChance == 0 {
		t.OffsetsChance = 0.5
	}
	if t.ReadOffsetsChance == 0 {
		t.ReadOffsetsChance = 0.5
	}
	if t.Processes < 0 || t.MaxSends < 0 || t.AbortChance < 0 || t.AbortChance > 1 || t.Timeout < 0 ||
		t.OffsetsChance < 0 || t.OffsetsChance > 1 || t.ReadOffsetsChance < 0 || t.ReadOffsetsChance > 1 {
		return errors.New("queue: bad transactional mode")
	}
	return nil
}

// lanesPerProducer is the number of processes of one producer client
// host: its sharing processes, or its transactional producers.
func (c *Config) lanesPerProducer() int {
	if c.Txn != nil {
		return c.Txn.Processes
	}
	return c.InFlight
}

// readCommitted reports whether consumers and the final read use
// isolation level read_committed: in the transactional mode.
func (c *Config) readCommitted() bool { return c.Txn != nil }

// isolation is the consumers' kgo options for c's isolation level:
// read_committed keeps control records (gen.ReadCommitted says why;
// gen.PollValue and member.processed leave them out).
func (c *Config) isolation() []kgo.Opt {
	if c.readCommitted() {
		return gen.ReadCommitted()
	}
	return nil
}

// txnHost is what the transactional producers of one producer client host
// share: the pace of their transactions and the quota of their sends.
type txnHost struct {
	host  string
	ids   *gen.Counter
	pacer gen.Pacer

	mu   sync.Mutex
	left int // sends left when positive; -1: no quota
}

func newTxnHost(cfg *Config, host string, ids *gen.Counter) *txnHost {
	left := -1
	if cfg.SendsPerProducer > 0 {
		left = cfg.SendsPerProducer
	}
	// Rate counts sends: a transaction carries (1+MaxSends)/2 on average.
	rate := cfg.Rate / (float64(1+cfg.Txn.MaxSends) / 2)
	return &txnHost{host: host, ids: ids, pacer: gen.Pacer{Rate: rate}, left: left}
}

// take draws up to n sends of the host's quota; 0 when it is spent.
func (h *txnHost) take(n int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.left < 0 {
		return n
	}
	n = min(n, h.left)
	h.left -= n
	return n
}

// txnClient is one transactional producer's kgo client incarnation; nil
// cl: none live (the next transaction makes one, whose InitProducerId
// fences the last).
type txnClient struct {
	id string // the transactional id, the same for every incarnation
	cl *kgo.Client
	n  int // the incarnation's client id in the history
}

func (c *txnClient) crash() {
	if c.cl != nil {
		c.cl.Close()
		c.cl = nil
	}
}

// produceTxns runs transactions, one at a time, until ctx ends or the
// host's quota is spent. Values are "p<process>-<n>" as in produce.
func (w *worker) produceTxns(ctx context.Context, h *txnHost, txnID string) error {
	c := &txnClient{id: txnID}
	defer c.crash()
	n := 0
	for ctx.Err() == nil {
		if !h.pacer.Wait(ctx, w.rng) {
			return nil
		}
		k := h.take(1 + w.rng.IntN(w.cfg.Txn.MaxSends))
		if k == 0 {
			return nil
		}
		if c.cl == nil {
			// kgo retries a request whose answer did not come within
			// its request timeout (5 s) over a new connection, within
			// its retry timeout: kgo's default is 30 s, the workload's
			// clients have 5 s (no retry of a request that timed out);
			// a transactional client gets half its transaction's
			// budget, so that an EndTxn whose answer is late is sent
			// again at the same epoch, as Kafka clients do.
			cl, err := w.cfg.clientConfig(h.host).New(append(w.cfg.producerOpts(),
				kgo.TransactionalID(c.id), kgo.TransactionTimeout(w.cfg.Txn.Timeout),
				kgo.RetryTimeout(3*w.cfg.OpTimeout/2))...)
			if err != nil {
				return err
			}
			c.cl, c.n = cl, h.ids.Next()
		}
		before := w.proc.ID
		w.txn(c, k, &n)
		if w.proc.ID != before {
			n = 0
		}
	}
	return nil
}

// txn runs one transaction of k sends through c and records it: ok when
// committed, fail when aborted (on purpose, or after a send failed), info
// when its end is unknown; then c's client is closed (crashed) and the
// process gets a new id.
func (w *worker) txn(c *txnClient, k int, n *int) {
	inv := &history.Txn{Transactional: true}
	done := &history.Txn{Transactional: true}
	recs := make([]*kgo.Record, k)
	for i := range recs {
		s := history.Send{Client: c.n, Topic: w.cfg.Topic, Value: fmt.Sprintf("p%d-%d", w.proc.ID, *n), Partition: history.Unknown, Offset: history.Unknown}
		*n++
		r := &kgo.Record{Topic: s.Topic, Value: []byte(s.Value)}
		if w.rng.Float64() >= w.cfg.UnkeyedShare {
			s.Key = "k" + strconv.Itoa(w.rng.IntN(w.cfg.Keys))
			r.Key = []byte(s.Key)
		}
		si, sd := s, s
		inv.Mops = append(inv.Mops, history.Mop{F: history.FnSend, Send: &si})
		done.Mops = append(done.Mops, history.Mop{F: history.FnSend, Send: &sd})
		recs[i] = r
	}
	abort := w.rng.Float64() < w.cfg.Txn.AbortChance
	var offsets *txnOffsets
	if w.rng.Float64() < w.cfg.Txn.OffsetsChance {
		offsets = &txnOffsets{group: w.cfg.Txn.Group, metadata: fmt.Sprintf("p%d-t%d", w.proc.ID, w.txns)}
		inv.Group, done.Group = offsets.group, offsets.group
	}
	w.txns++
	readOffsets := w.rng.Float64() < w.cfg.Txn.ReadOffsetsChance
	pauses := make([]time.Duration, k) // before sends 2..k, and before the end
	for i := range pauses {
		if w.cfg.Txn.Think > 0 {
			pauses[i] = time.Duration(w.rng.Int64N(int64(w.cfg.Txn.Think) + 1))
		}
	}
	w.rec.Record(history.Op{Process: w.proc.ID, Type: history.Invoke, F: history.FnTxn, Txn: inv})
	typ, why := runTxn(c, recs, done, abort, offsets, pauses, w.cfg.OpTimeout, w.rec)
	op := history.Op{Process: w.proc.ID, Type: typ, F: history.FnTxn, Txn: done, Error: why}
	w.rec.Record(op)
	if typ == history.Info {
		c.crash()
		w.proc.Crash()
		return
	}
	if readOffsets {
		w.readTxnOffsets(c)
	}
}

// readTxnOffsets reads the committed offsets of the transactions' group
// through c's client and records them.
func (w *worker) readTxnOffsets(c *txnClient) {
	group := w.cfg.Txn.Group
	w.rec.Record(history.Op{Process: w.proc.ID, Type: history.Invoke, F: history.FnOffsets, Offsets: &history.Offsets{Group: group}})
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.OpTimeout)
	defer cancel()
	w.rec.Record(gen.OffsetsOp(ctx, kadm.NewClient(c.cl), w.proc.ID, group, w.cfg.Topic))
}

// txnOffsets is the consumer offset a transaction commits inside itself.
type txnOffsets struct {
	group    string
	metadata string // unique to the transaction
}

// commit commits, inside c's open transaction, one past the first
// acknowledged send of done for o.group (AddOffsetsToTxn, then
// TxnOffsetCommit as a consumer without group management: generation -1)
// and notes it, with the answer's error, in done. An error ends the
// transaction info, as a failed send_offsets_to_transaction would.
func (o *txnOffsets) commit(ctx context.Context, c *txnClient, done *history.Txn) error {
	s := done.Mops[0].Send
	id, epoch, err := c.cl.ProducerID(ctx)
	if err != nil {
		return err
	}
	if err := addOffsetsToTxn(ctx, c, id, epoch, o.group); err != nil {
		return err
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = c.id, o.group, id, epoch
	req.Generation = -1
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = s.Topic
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = s.Partition, s.Offset+1, -1, &o.metadata
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	off := history.GroupOffset{Topic: s.Topic, Partition: s.Partition, Offset: s.Offset + 1, LeaderEpoch: history.Unknown, Metadata: o.metadata}
	resp, err := req.RequestWith(ctx, c.cl)
	if err != nil {
		return err
	}
	off.Error = "no answer for the partition"
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rt.Topic == s.Topic && rp.Partition == s.Partition {
				off.Error = ""
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					off.Error = err.Error()
				}
			}
		}
	}
	done.Offsets = []history.GroupOffset{off}
	if off.Error != "" {
		return errors.New(off.Error)
	}
	return nil
}

// addOffsetsToTxnBackoff is the pause before AddOffsetsToTxn is sent
// again after CONCURRENT_TRANSACTIONS: kgo's transaction backoff.
const addOffsetsToTxnBackoff = 20 * time.Millisecond

// addOffsetsToTxn adds group's offsets partition to c's open transaction,
// sending the request again, until ctx ends, while the coordinator answers
// CONCURRENT_TRANSACTIONS (the transaction's coordinator is still writing
// the markers of an end), as kgo's own AddOffsetsToTxn
// (doWithConcurrentTransactions) and the Java producer's
// AddOffsetsToTxnHandler do.
func addOffsetsToTxn(ctx context.Context, c *txnClient, id int64, epoch int16, group string) error {
	for {
		add := kmsg.NewPtrAddOffsetsToTxnRequest()
		add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = c.id, id, epoch, group
		resp, err := add.RequestWith(ctx, c.cl)
		if err != nil {
			return err
		}
		err = kerr.ErrorForCode(resp.ErrorCode)
		if !errors.Is(err, kerr.ConcurrentTransactions) || !gen.Sleep(ctx, addOffsetsToTxnBackoff) {
			return err
		}
	}
}

// runTxn begins a transaction on c, produces recs (pausing before each
// but the first as pauses say, and before the end), flushes, and ends it:
// abort when asked or when a send failed, else commit, noting in done
// when the commit was asked for and each acknowledged position. It is
// bounded by three op timeouts of its own, not by the run's context, so
// that a transaction under way when the run ends completes and is
// recorded; every step, its beginning included, gives up when they end.
func runTxn(c *txnClient, recs []*kgo.Record, done *history.Txn, abort bool, offsets *txnOffsets, pauses []time.Duration, opTimeout time.Duration, rec *history.Recorder) (history.Type, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*opTimeout)
	defer cancel()
	// The begin too: kgo's takes no context (gen.BeginTxn says why that
	// hung a run); giving up closes c's client.
	if err := gen.BeginTxn(ctx, c.cl.BeginTransaction, c.crash); err != nil {
		return history.Info, "begin: " + err.Error()
	}
	var wg sync.WaitGroup
	type result struct {
		p   int32
		o   int64
		err error
	}
	res := make([]result, len(recs))
	for i, r := range recs {
		if i > 0 {
			gen.Sleep(ctx, pauses[i-1])
		}
		wg.Add(1)
		c.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			res[i] = result{r.Partition, r.Offset, err}
		})
	}
	gen.Sleep(ctx, pauses[len(pauses)-1])
	ferr := c.cl.Flush(ctx)
	if ferr != nil {
		c.crash() // fails what is still buffered or in flight: every promise runs
	}
	wg.Wait()
	var serr error
	for i, r := range res {
		if r.err != nil {
			serr = errors.Join(serr, r.err)
			continue
		}
		done.Mops[i].Send.Partition, done.Mops[i].Send.Offset = r.p, r.o
	}
	if ferr != nil {
		return history.Info, "flush: " + ferr.Error()
	}
	if offsets != nil && serr == nil {
		// Only after every send succeeded: kgo then knows the
		// transaction began and ends it with EndTxn, which ends the
		// offsets too.
		if err := offsets.commit(ctx, c, done); err != nil {
			return history.Info, "offsets: " + err.Error()
		}
	}
	if serr != nil || abort {
		if err := c.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
			return history.Info, "abort: " + err.Error()
		}
		if serr != nil {
			return history.Fail, "aborted after a failed send: " + serr.Error()
		}
		return history.Fail, "aborted on purpose"
	}
	done.CommitTime = rec.Now()
	if err := c.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return history.Info, "commit: " + err.Error()
	}
	return history.OK, ""
}
