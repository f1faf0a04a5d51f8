package broker

// The transaction coordinator's shell. broker/txncoord decides; this file
// does the I/O, as groups.go does for broker/group: it owns
// __transaction_state, routes each transactional id's requests to the
// Shard of the id's partition (Kafka's abs(hashCode) % partitions, as for
// groups), appends what a shard emits to that partition, tells the shard
// how far the partition is durable, keeps one env.Clock timer per shard at
// its next deadline (transaction timeouts, id expiry), and writes the
// transaction markers a shard asks for (txn_markers.go).
//
// A shard exists where this broker leads the partition, in one leader
// epoch; its leader epoch is the coordinator epoch its markers carry.
// follow, called by the reconciler after every image, loads a shard for a
// partition this broker comes to lead (or leads in a new epoch) and
// unloads one it no longer leads: a new leader loads the log, so it
// finishes the transactions the old one had prepared.
//
// Lock order: txnCoordinator.mu, then Broker.mu (topic creation); a
// shard's mu, then its partition's locks (appends), then the group
// coordinator's (none is taken from there).

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/txncoord"
	"github.com/weir-dev/weir/env"
)

type txnCoordinator struct {
	b *Broker
	// shardTime is the shards' time, as the group coordinator's.
	shardTime env.SteadyClock

	// The shards of __transaction_state.
	shardSet[*txnShard]
}

// txnShard is one partition of __transaction_state this broker leads, in
// one leader epoch, and its Shard.
type txnShard struct {
	tc *txnCoordinator
	// ctx ends the shard's marker senders when it is unloaded.
	ctx    context.Context
	cancel context.CancelFunc

	shardCore // mu guards sm too
	sm        *txncoord.Shard
}

func newTxnCoordinator(b *Broker) *txnCoordinator {
	return &txnCoordinator{b: b, shardTime: env.NewSteadyClock(b.clock)}
}

func (tc *txnCoordinator) nowMs() int64 { return tc.shardTime.Now().UnixMilli() }

// follow makes the shards match the partitions of __transaction_state this
// broker leads (shardSet.follow; see the file comment).
func (tc *txnCoordinator) follow(t *topic) {
	tc.shardSet.follow(tc.b, t, func(index int32, p *partition.Partition, epoch int32) *txnShard {
		ctx, cancel := context.WithCancel(tc.b.ctx)
		return &txnShard{tc: tc, ctx: ctx, cancel: cancel, shardCore: shardCore{index: index, p: p, epoch: epoch, state: shardLoading}}
	})
}

// ensure creates __transaction_state through the controller if it does
// not exist yet (Kafka does on the first FindCoordinator or
// InitProducerId of a transactional id), and waits, bounded by ctx, until
// this broker has it.
func (tc *txnCoordinator) ensure(ctx context.Context) int16 {
	if _, ok := tc.b.image().Topic(transactionStateTopic); ok {
		return 0
	}
	c := tc.b.cfg.Txn
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()
	tc.b.awaitActive(ctx)
	// transaction.state.log.replication.factor replicas, or as many as
	// there are active brokers if fewer (a single broker, a cluster still
	// starting), as __consumer_offsets gets (groups.go ensure); and
	// transaction.state.log.min.isr, at most that many.
	rf := min(int(c.StateLogReplicationFactor), max(activeBrokers(tc.b.image()), 1))
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(7)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = transactionStateTopic, c.StateLogPartitions, int16(rf)
	for k, v := range map[string]string{
		"cleanup.policy":      "compact",
		"compression.type":    "uncompressed",
		"min.insync.replicas": fmt.Sprint(min(int(c.StateLogMinISR), rf)),
		"segment.bytes":       fmt.Sprint(c.StateLogSegmentBytes),
	} {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, &v
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	resp, terr := tc.b.submit(ctx, req)
	code := int16(0)
	switch {
	case terr != nil:
		tc.b.log.Warn("creating the transaction coordinator's topic", "topic", transactionStateTopic, "err", terr)
		return kerr.CoordinatorNotAvailable.Code
	case len(resp.(*kmsg.CreateTopicsResponse).Topics) == 1:
		code = resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
	}
	if code != 0 && code != kerr.TopicAlreadyExists.Code {
		tc.b.log.Warn("creating the transaction coordinator's topic", "topic", transactionStateTopic, "err", kerr.ErrorForCode(code))
		return kerr.CoordinatorNotAvailable.Code
	}
	if !tc.b.waitApplied(ctx, func(img *metadata.Image) bool { _, ok := img.Topic(transactionStateTopic); return ok }) {
		return kerr.CoordinatorNotAvailable.Code
	}
	return 0
}

// partitionOf is the __transaction_state partition of a transactional id
// in img, with its leader, or the code to answer with.
func (b *Broker) txnPartitionOf(img *metadata.Image, id string) (index, leader int32, code int16) {
	t, ok := img.Topic(transactionStateTopic)
	if !ok || len(t.Partitions) == 0 {
		return -1, -1, kerr.CoordinatorNotAvailable.Code
	}
	index = group.PartitionFor(id, int32(len(t.Partitions)))
	leader = t.Partitions[index].Leader
	if leader < 0 {
		return index, -1, kerr.CoordinatorNotAvailable.Code
	}
	return index, leader, 0
}

// load rebuilds the shard from its partition's log, then serves it and
// sends the markers of every transaction it found prepared. A load whose
// read fails runs again after a backoff (coordload.go).
func (cs *txnShard) load() {
	b := cs.tc.b
	cs.mu.Lock()
	loading := cs.state == shardLoading
	cs.mu.Unlock()
	if !loading {
		return
	}
	sm := txncoord.NewShard(b.coordinatorConfig())
	start := b.clock.Now()
	var records, bad int
	err := cs.p.Batches(cs.p.StartOffset(), func(batch *record.Batch) error {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		return eachRecord(batch, func(key, value []byte) {
			records++
			if err := sm.Replay(key, value); err != nil {
				bad++
				if bad <= 10 {
					b.log.Warn("skipping a transaction coordinator record that does not decode", "topic", transactionStateTopic, "partition", cs.index, "err", err)
				}
			}
		})
	})
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.state != shardLoading {
		return
	}
	if err != nil {
		if b.ctx.Err() != nil {
			cs.state = shardFailed
			return
		}
		cs.loads.again(b, cs.ctx.Done(), "transactions", transactionStateTopic, cs.index, err, cs.load)
		return
	}
	// State read from records past the high watermark is not durable
	// yet: a crash of this new leader can take them back, so what it
	// decides (markers of a prepared transaction, answers) waits.
	out := sm.FinishLoadDurable(cs.tc.nowMs(), cs.p.EndOffset(), cs.p.HighWatermark(), cs.epoch)
	cs.sm, cs.state = sm, shardServing
	if records > 0 {
		b.log.Info("loaded transactions", "partition", cs.index, "records", records, "skipped", sm.Skipped()+bad, "prepared", sm.Prepared(), "took", b.clock.Now().Sub(start).Round(time.Millisecond))
	}
	cs.apply(out)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		cs.watchDurable(cs.p, cs.ctx.Done(), func(hw int64) { cs.apply(cs.sm.Durable(hw)) }, cs.failLocked, cs.unloadLocked)
	}()
}

// unload gives the shard up: held requests are answered NOT_COORDINATOR
// and its marker senders stop (the next coordinator sends them again).
func (cs *txnShard) unload() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.unloadLocked()
}

// unloadLocked is unload with mu held.
func (cs *txnShard) unloadLocked() {
	cs.cancel()
	if cs.sm != nil {
		deliverTxn(cs.tc.b, cs.sm.Unload().Replies)
	}
	if cs.state != shardFailed && cs.state != shardStopped {
		cs.state = shardUnloaded
	}
	cs.sm = nil
	cs.timer.stop()
}

// do runs one call of the shard and carries out what it decided, or
// returns the code to answer with if the shard does not serve.
func (cs *txnShard) do(call func(sm *txncoord.Shard, nowMs int64) txncoord.Output) int16 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if !cs.serving(cs.unloadLocked) {
		return cs.state.unavailableCode()
	}
	cs.apply(call(cs.sm, cs.tc.nowMs()))
	return 0
}

// apply carries out a decision of the state machine and every decision
// it leads to at once: it appends the batch, delivers the replies, starts
// the marker jobs and resets the timer. A decision that follows at once (a
// marker job with nothing to write is complete; without fsync an append
// is durable as soon as it is made) is queued and made in this same loop,
// after the one that led to it is carried out, never in an apply nested
// inside it: a failed append ends the loop with its shard (sweep seed
// 8085 was an apply that went on after a nested one had failed the
// shard). Decisions are made in the order they are queued, so the state
// machine's batches are appended in the order it emitted them. Call with
// mu held.
func (cs *txnShard) apply(out txncoord.Output) {
	var next []func() txncoord.Output
	for {
		if out.Batch != nil {
			if err := cs.append(out.Batch); err != nil {
				cs.failLocked(err)
				return
			}
		}
		deliverTxn(cs.tc.b, out.Replies)
		for _, job := range out.Markers {
			if len(job.Partitions) == 0 {
				// Nothing to write (a transaction version 2 abort of a
				// transaction that added no partition): it is complete.
				next = append(next, func() txncoord.Output { return cs.sm.MarkersWritten(cs.tc.nowMs(), job) })
				continue
			}
			cs.startMarkers(job)
		}
		if out.Batch != nil && !cs.tc.b.cfg.FsyncAcksAll {
			// Without fsync, the append moved the high watermark already.
			next = append(next, func() txncoord.Output { return cs.sm.Durable(cs.p.HighWatermark()) })
		}
		if len(next) == 0 {
			break
		}
		out, next = next[0](), next[1:]
	}
	cs.resetTimer()
}

// append writes a shard's batch at the offset the shard expects.
func (cs *txnShard) append(b *txncoord.Batch) error {
	records := make([]group.Record, len(b.Records))
	for i, r := range b.Records {
		records[i] = group.Record{Key: r.Key, Value: r.Value}
	}
	batch, err := record.Parse(encodeBatch(records, cs.tc.nowMs()))
	if err != nil {
		return err
	}
	res := cs.p.Append(&batch, false, true)
	if res.Err != nil {
		return fmt.Errorf("append: %v %s", res.Err, res.Reason)
	}
	if res.BaseOffset != b.BaseOffset {
		return fmt.Errorf("append landed at offset %d; the coordinator expected %d", res.BaseOffset, b.BaseOffset)
	}
	return nil
}

// failLocked takes a shard whose log failed out of service (its state is
// ahead of the log); a restart loads what the log kept.
func (cs *txnShard) failLocked(err error) {
	cs.tc.b.log.Error("transaction coordinator partition failed; its transactions are unavailable until restart", "topic", transactionStateTopic, "partition", cs.index, "err", err)
	cs.cancel()
	if cs.sm != nil {
		deliverTxn(cs.tc.b, cs.sm.Unload().Replies)
	}
	cs.sm, cs.state = nil, shardFailed
	cs.timer.stop()
}

// resetTimer keeps one clock timer at the shard's next deadline. Call with
// mu held.
func (cs *txnShard) resetTimer() {
	at, ok := cs.sm.NextDeadline()
	cs.timer.set(cs.tc.b.clock, cs.tc.nowMs(), at, ok, cs.onTimer)
}

func (cs *txnShard) onTimer() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.tc.b.ctx.Err() != nil || !cs.serving(cs.unloadLocked) {
		return
	}
	cs.timer.fired()
	cs.apply(cs.sm.Tick(cs.tc.nowMs()))
}

// deliverTxn hands a shard's replies to their waiters (one each; see
// groupCoordinator.deliver).
func deliverTxn(b *Broker, replies []txncoord.Reply) {
	for _, r := range replies {
		select {
		case r.To.(*waiter).ch <- r.Resp:
		default:
			b.log.Error("transaction coordinator answered a request twice; the second answer is dropped", "response", kmsg.NameForKey(r.Resp.Key()))
		}
	}
}

// callTxn runs one request on the shard of transactional id: the answer is
// ready in the waiter, now or later, unless the code says the shard did
// not take it.
func (tc *txnCoordinator) callTxn(id string, call func(sm *txncoord.Shard, nowMs int64, w txncoord.Waiter) txncoord.Output) (*waiter, int16) {
	cs, code := tc.route(id)
	if code != 0 {
		return nil, code
	}
	w := newWaiter()
	if code := cs.do(func(sm *txncoord.Shard, nowMs int64) txncoord.Output { return call(sm, nowMs, w) }); code != 0 {
		return nil, code
	}
	return w, 0
}

// producerIDs is the shard's source of new producer ids: the broker's
// block from the controller (pids.go), asked for when it runs out.
func (b *Broker) newProducerIDs(ctx context.Context) txncoord.ProducerIDs {
	return func() (int64, int16) {
		id, err := b.nextProducerID(ctx)
		if err != nil {
			if ke, ok := err.(*kerr.Error); ok {
				return 0, ke.Code
			}
			return 0, kerr.UnknownServerError.Code
		}
		return id, 0
	}
}

// awaitTxnReply is the reply to req from one shard's answer.
func awaitTxnReply(req *request, w *waiter) reply {
	return awaitTxnReplies(req, []*waiter{w}, func(resps []kmsg.Response) kmsg.Response { return resps[0] })
}

// awaitTxnReplies builds the reply to req from the answers of several
// waiters, merged by merge: at once when they are all in, else in a finish
// step (awaitReplies of groups.go, for responses the group package does
// not know). If the client goes away or the broker stops first, the reply
// is the request's response with COORDINATOR_NOT_AVAILABLE where it has an
// error code (nobody reads it).
func awaitTxnReplies(req *request, ws []*waiter, merge func([]kmsg.Response) kmsg.Response) reply {
	return awaitShardReplies(req, ws, merge, func() kmsg.Response {
		resp := req.kreq.ResponseKind()
		if f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode"); f.IsValid() && f.Kind() == reflect.Int16 {
			f.SetInt(int64(kerr.CoordinatorNotAvailable.Code))
		}
		return resp
	})
}

// findTxnCoordinator answers FindCoordinator for a transactional id: the
// leader of its __transaction_state partition, created on first use.
func (b *Broker) findTxnCoordinator(ctx context.Context, c kmsg.FindCoordinatorResponseCoordinator, fail func(int16, string, ...any) kmsg.FindCoordinatorResponseCoordinator) kmsg.FindCoordinatorResponseCoordinator {
	if c.Key == "" {
		return fail(kerr.InvalidRequest.Code, "a transactional id cannot be empty")
	}
	if code := b.txns.ensure(ctx); code != 0 {
		return fail(code, "the transaction coordinator's topic %s could not be created; see the broker's log", transactionStateTopic)
	}
	index, leader, code := b.txnPartitionOf(b.image(), c.Key)
	if code != 0 {
		return fail(code, "partition %d of %s has no leader: its transactional ids have no coordinator until it has one", index, transactionStateTopic)
	}
	if leader == b.cfg.NodeID {
		if cs, code := b.txns.route(c.Key); code == 0 {
			cs.mu.Lock()
			failed := cs.state == shardFailed
			cs.mu.Unlock()
			if failed {
				return fail(kerr.CoordinatorNotAvailable.Code, "partition %d of %s failed; its transactions are unavailable until the broker restarts", index, transactionStateTopic)
			}
		}
	}
	for _, br := range b.liveBrokers(b.image()) {
		if br.id == leader {
			c.NodeID, c.Host, c.Port = br.id, br.host, br.port
			return c
		}
	}
	return fail(kerr.CoordinatorNotAvailable.Code, "the leader of partition %d of %s, broker %d, is not reachable", index, transactionStateTopic, leader)
}
