package broker

// The group coordinator's shell. broker/group decides; this file does the
// I/O: it owns __consumer_offsets, routes each group's requests to the
// Shard of the group's partition, appends what a shard emits to that
// partition, tells the shard how far the partition is durable, keeps one
// env.Clock timer per shard at its next deadline, and hands parked answers
// back to the connections waiting for them.
//
// A shard is "the coordinator of the groups of one __consumer_offsets
// partition", served by the leader of that partition: on one broker, this
// broker, for every partition. load and unload are the hooks a leadership
// change will call once replication exists: a shard answers
// COORDINATOR_LOAD_IN_PROGRESS while it loads, and a shard given up
// answers NOT_COORDINATOR.
//
// Lock order: groupCoordinator.mu, then Broker.mu (topic creation); a
// shard's mu, then its partition's locks (appends).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"reflect"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

// offsetsTopic is where groups and committed offsets live.
const offsetsTopic = "__consumer_offsets"

// transactionStateTopic is reserved for the transaction coordinator.
const transactionStateTopic = "__transaction_state"

// isInternalTopic: topics the broker creates and alone writes.
func isInternalTopic(name string) bool {
	return name == offsetsTopic || name == transactionStateTopic
}

type groupCoordinator struct {
	b *Broker

	// shardTime is the shards' time. It does not follow steps of the wall
	// clock, as Kafka's coordinator timers run on System.nanoTime: a shard
	// takes an earlier time as the latest one it saw and keeps its
	// timeouts on that time, so on the wall clock a step ahead expired
	// every session at once and a reset after it stood every timeout
	// still for the step. Issue 14 (seed 3 of the stream workloads): a
	// JoinGroup parked while its coordinator's clock was 94 s ahead was
	// due 94 s after the reset, past the liveness phase.
	shardTime env.SteadyClock

	// The shards of __consumer_offsets.
	shardSet[*coordShard]
}

// coordShard is one partition of __consumer_offsets that this broker
// leads, in one leader epoch, and its Shard.
type coordShard struct {
	gc        *groupCoordinator
	shardCore // mu guards sm too
	sm        *group.Shard
	// owed are the requests the shard took and has not answered
	// (invariants builds only: group_invariants.go).
	owed map[*waiter]bool
}

func newGroupCoordinator(b *Broker) *groupCoordinator {
	return &groupCoordinator{b: b, shardTime: env.NewSteadyClock(b.clock)}
}

// nowMs is the time given to shards, in Unix milliseconds.
func (gc *groupCoordinator) nowMs() int64 { return gc.shardTime.Now().UnixMilli() }

// follow makes the shards match the partitions of __consumer_offsets this
// broker leads (shardSet.follow).
func (gc *groupCoordinator) follow(t *topic) {
	gc.shardSet.follow(gc.b, t, func(index int32, p *partition.Partition, epoch int32) *coordShard {
		return &coordShard{gc: gc, shardCore: shardCore{index: index, p: p, epoch: epoch, state: shardLoading}}
	})
}

// ensure creates __consumer_offsets through the controller if it does not
// exist yet, as Kafka does on the first FindCoordinator for a group, and
// waits (bounded by ctx) until this broker has it.
func (gc *groupCoordinator) ensure(ctx context.Context) int16 {
	if gc.partitions() > 0 {
		return 0
	}
	if _, ok := gc.b.image().Topic(offsetsTopic); ok {
		return 0
	}
	g := gc.b.cfg.Groups
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(7)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions = offsetsTopic, g.OffsetsTopicPartitions
	for k, v := range map[string]string{
		"cleanup.policy":   "compact",
		"compression.type": "producer",
		"segment.bytes":    fmt.Sprint(g.OffsetsTopicSegmentBytes),
	} {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, &v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()
	gc.b.awaitActive(ctx)
	// offsets.topic.replication.factor replicas, or as many as there are
	// active brokers if fewer (a single broker, a cluster still starting).
	req.Topics[0].ReplicationFactor = int16(min(int(g.OffsetsTopicReplicationFactor), max(activeBrokers(gc.b.image()), 1)))
	resp, terr := gc.b.submit(ctx, req)
	code := int16(0)
	switch {
	case terr != nil:
		gc.b.log.Warn("creating the group coordinator's topic", "topic", offsetsTopic, "err", terr)
		return kerr.CoordinatorNotAvailable.Code
	case len(resp.(*kmsg.CreateTopicsResponse).Topics) == 1:
		code = resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
	}
	if code != 0 && code != kerr.TopicAlreadyExists.Code {
		gc.b.log.Warn("creating the group coordinator's topic", "topic", offsetsTopic, "err", kerr.ErrorForCode(code))
		return kerr.CoordinatorNotAvailable.Code
	}
	if !gc.b.waitApplied(ctx, func(img *metadata.Image) bool { _, ok := img.Topic(offsetsTopic); return ok }) {
		return kerr.CoordinatorNotAvailable.Code
	}
	return 0
}

// load rebuilds the shard from its partition's log, then serves it. A
// load whose read fails runs again after a backoff (coordload.go).
func (cs *coordShard) load() {
	b := cs.gc.b
	cs.mu.Lock()
	loading := cs.state == shardLoading
	cs.mu.Unlock()
	if !loading {
		return
	}
	sm := group.NewShard(b.groupCoordinatorConfig(), newUUID)
	start := b.clock.Now()
	var records, bad int
	err := cs.p.Batches(cs.p.StartOffset(), func(batch *record.Batch) error {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		return replayGroupBatch(sm, batch, func(err error) {
			records++
			if err != nil {
				bad++
				if bad <= 10 {
					b.log.Warn("skipping a group coordinator record that does not decode", "topic", offsetsTopic, "partition", cs.index, "err", err)
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
		cs.loads.again(b, b.ctx.Done(), "groups", offsetsTopic, cs.index, err, cs.load)
		return
	}
	// State read from records past the high watermark is not durable
	// yet: a crash of this new leader can take them back.
	sm.FinishLoadDurable(cs.gc.nowMs(), cs.p.EndOffset(), cs.p.HighWatermark())
	cs.sm, cs.state = sm, shardServing
	if records > 0 {
		b.log.Info("loaded groups", "partition", cs.index, "records", records, "skipped", sm.Skipped()+bad, "took", b.clock.Now().Sub(start).Round(time.Millisecond))
	}
	cs.resetTimer()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		// Until the broker stops: an unloaded shard's watcher ends at the
		// partition's next move.
		cs.watchDurable(cs.p, b.ctx.Done(), func(hw int64) { cs.apply(cs.sm.Durable(cs.gc.nowMs(), hw)) }, cs.failLocked, cs.unloadLocked)
	}()
}

// unload gives the shard up (leadership moved, or a new leader epoch): its
// parked requests are answered NOT_COORDINATOR.
func (cs *coordShard) unload() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.unloadLocked()
}

// unloadLocked is unload with mu held.
func (cs *coordShard) unloadLocked() {
	if cs.sm != nil {
		cs.gc.deliver(cs.sm.Unload().Replies)
	}
	if cs.state != shardFailed && cs.state != shardStopped {
		cs.state = shardUnloaded
	}
	cs.sm = nil
	cs.timer.stop()
}

// do runs one call of the shard and carries out what it decided, or
// returns the code to answer with if the shard does not serve.
func (cs *coordShard) do(call func(sm *group.Shard, nowMs int64) group.Output) int16 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if !cs.serving(cs.unloadLocked) {
		return cs.state.unavailableCode()
	}
	out := call(cs.sm, cs.gc.nowMs())
	cs.checkAnswersDurable(out)
	cs.apply(out)
	return 0
}

// apply appends the batch, delivers the replies and resets the timer.
// Call with mu held.
func (cs *coordShard) apply(out group.Output) {
	for {
		if out.Batch != nil {
			if err := cs.append(out.Batch); err != nil {
				cs.failLocked(err)
				return
			}
		}
		if out.TxnBatch != nil {
			if err := cs.appendTxn(out.TxnBatch); err != nil {
				cs.failLocked(err)
				return
			}
		}
		cs.gc.deliver(out.Replies)
		cs.paid(out.Replies)
		if (out.Batch == nil && out.TxnBatch == nil) || cs.gc.b.cfg.FsyncAcksAll {
			break
		}
		// Without fsync, the append moved the high watermark already.
		out = cs.sm.Durable(cs.gc.nowMs(), cs.p.HighWatermark())
	}
	cs.checkOwed()
	cs.resetTimer()
}

// append writes a shard's batch at the offset the shard expects: only the
// coordinator writes this partition, so anything else is a failure.
func (cs *coordShard) append(b *group.Batch) error {
	raw := encodeBatch(b.Records, cs.gc.nowMs())
	batch, err := record.Parse(raw)
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

// failLocked takes a shard whose log failed out of service: its state is
// ahead of the log, so its parked requests are answered and it is dropped;
// a restart loads what the log kept.
func (cs *coordShard) failLocked(err error) {
	cs.gc.b.log.Error("group coordinator partition failed; its groups are unavailable until restart", "topic", offsetsTopic, "partition", cs.index, "err", err)
	if cs.sm != nil {
		cs.gc.deliver(cs.sm.Unload().Replies)
	}
	cs.sm, cs.state = nil, shardFailed
	cs.timer.stop()
}

// resetTimer keeps one clock timer at the shard's next deadline. Call with
// mu held.
func (cs *coordShard) resetTimer() {
	at, ok := cs.sm.NextDeadline()
	cs.timer.set(cs.gc.b.clock, cs.gc.nowMs(), at, ok, cs.onTimer)
}

func (cs *coordShard) onTimer() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.gc.b.ctx.Err() != nil || !cs.serving(cs.unloadLocked) {
		return
	}
	cs.timer.fired()
	out := cs.sm.Tick(cs.gc.nowMs())
	cs.checkAnswersDurable(out)
	cs.apply(out)
}

// waiter is where a shard's answer to one request arrives.
type waiter struct{ ch chan kmsg.Response }

func newWaiter() *waiter { return &waiter{ch: make(chan kmsg.Response, 1)} }

// deliver hands replies to their waiters. A shard answers each waiter
// once (broker/group's invariant); the channel has room for that one
// answer, so this never blocks.
func (gc *groupCoordinator) deliver(replies []group.Reply) {
	for _, r := range replies {
		select {
		case r.To.(*waiter).ch <- r.Resp:
		default:
			gc.b.log.Error("group coordinator answered a request twice; the second answer is dropped", "response", kmsg.NameForKey(r.Resp.Key()))
		}
	}
}

// callShard runs one request on the shard of groupID: the answer is ready
// in w, now or later, unless the returned code says the shard did not take
// it.
func (gc *groupCoordinator) callShard(groupID string, call func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output) (*waiter, int16) {
	cs, code := gc.route(groupID)
	if code != 0 {
		return nil, code
	}
	w := newWaiter()
	if code := cs.do(func(sm *group.Shard, nowMs int64) group.Output {
		cs.owe(w)
		return call(sm, nowMs, w)
	}); code != 0 {
		return nil, code
	}
	return w, 0
}

// shardCall is one shard's part of a request about several groups: the
// indexes (in the request) of the groups it was asked about.
type shardCall struct {
	w   *waiter
	idx []int
}

// fanOut asks each shard about its groups among ids (call gets the indexes
// of those groups). Groups whose shard did not take the call are in failed,
// with the code to answer for them.
func (gc *groupCoordinator) fanOut(ids []string, call func(sm *group.Shard, nowMs int64, w group.Waiter, idx []int) group.Output) (calls []shardCall, failed map[int]int16) {
	failed = map[int]int16{}
	byShard := map[*coordShard][]int{}
	var order []*coordShard
	for i, id := range ids {
		cs, code := gc.route(id)
		if code != 0 {
			failed[i] = code
			continue
		}
		if byShard[cs] == nil {
			order = append(order, cs)
		}
		byShard[cs] = append(byShard[cs], i)
	}
	for _, cs := range order {
		idx, w := byShard[cs], newWaiter()
		if code := cs.do(func(sm *group.Shard, nowMs int64) group.Output { return call(sm, nowMs, w, idx) }); code != 0 {
			for _, i := range idx {
				failed[i] = code
			}
			continue
		}
		calls = append(calls, shardCall{w: w, idx: idx})
	}
	return calls, failed
}

func waitersOf(calls []shardCall) []*waiter {
	ws := make([]*waiter, len(calls))
	for i, c := range calls {
		ws[i] = c.w
	}
	return ws
}

// serveGroup answers a request about one group.
func (b *Broker) serveGroup(req *request, groupID string, call func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output) reply {
	w, code := b.groups.callShard(groupID, call)
	if code != 0 {
		return reply{resp: group.ErrorResponse(req.kreq, code)}
	}
	return awaitReplies(req, []*waiter{w}, func(resps []kmsg.Response) kmsg.Response { return resps[0] })
}

// awaitReplies builds the reply to req from the answers of several waiters
// (one per shard asked), merged by merge: at once when they are all in,
// else in a finish step that waits for them. If the client goes away or
// the broker stops first, the reply is COORDINATOR_NOT_AVAILABLE (nobody
// reads it).
func awaitReplies(req *request, ws []*waiter, merge func([]kmsg.Response) kmsg.Response) reply {
	return awaitShardReplies(req, ws, merge, func() kmsg.Response {
		return group.ErrorResponse(req.kreq, kerr.CoordinatorNotAvailable.Code)
	})
}

// awaitShardReplies is awaitReplies with the response the reply holds
// until the answers are in made by placeholder (it is what the client
// gets if it goes away or the broker stops first).
func awaitShardReplies(req *request, ws []*waiter, merge func([]kmsg.Response) kmsg.Response, placeholder func() kmsg.Response) reply {
	resps := make([]kmsg.Response, len(ws))
	ready := true
	for i, w := range ws {
		select {
		case resps[i] = <-w.ch:
		default:
			ready = false
		}
	}
	if ready {
		return reply{resp: merge(resps)}
	}
	resp := placeholder()
	readDone := req.conn.readDone
	return reply{resp: resp, finish: func(ctx context.Context) {
		for i, w := range ws {
			if resps[i] != nil {
				continue
			}
			select {
			case resps[i] = <-w.ch:
			case <-ctx.Done():
				return
			case <-readDone:
				return
			}
		}
		// The reply's response value is the one the writer encodes: copy
		// the merged answer into it.
		reflect.ValueOf(resp).Elem().Set(reflect.ValueOf(merge(resps)).Elem())
	}}
}

// eachRecord calls fn with the key and value (nil for a tombstone) of every
// record of an uncompressed, non-control batch. The slices alias the batch.
func eachRecord(b *record.Batch, fn func(key, value []byte)) error {
	if b.IsControl() {
		return nil
	}
	if b.Compression() != 0 {
		return fmt.Errorf("batch at offset %d is compressed; the group coordinator writes and reads only uncompressed batches", b.FirstOffset)
	}
	src := b.Records
	for i := int32(0); i < b.NumRecords; i++ {
		r := kbin.Reader{Src: src}
		n := r.Varint()
		size := len(src) - len(r.Src) + int(n)
		if !r.Ok() || n < 0 || size > len(src) {
			return fmt.Errorf("batch at offset %d: record %d is truncated", b.FirstOffset, i)
		}
		var rec kmsg.Record
		if err := rec.ReadFrom(src[:size]); err != nil {
			return fmt.Errorf("batch at offset %d: record %d: %w", b.FirstOffset, i, err)
		}
		fn(rec.Key, rec.Value)
		src = src[size:]
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeBatch is the v2 record batch of a shard's records, as Kafka's
// coordinator writes them: uncompressed, no producer id, CreateTime now.
func encodeBatch(records []group.Record, nowMs int64) []byte {
	return encodeProducerBatch(records, nowMs, -1, -1, 0)
}

// encodeProducerBatch is encodeBatch for producer pid at epoch (-1: none)
// with attributes attrs (the transactional bit for the offsets a
// transaction commits).
func encodeProducerBatch(records []group.Record, nowMs int64, pid int64, epoch int16, attrs int16) []byte {
	var body []byte
	for i, r := range records {
		kr := kmsg.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // Length covers what follows it; 0 encodes in one byte
		body = kr.AppendTo(body)
	}
	batch := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      int32(len(records) - 1),
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        -1,
		NumRecords:           int32(len(records)),
		Records:              body,
	}
	raw := batch.AppendTo(nil)
	batch.Length = int32(len(raw) - 12)
	batch.CRC = int32(crc32.Checksum(raw[21:], castagnoli))
	return batch.AppendTo(raw[:0])
}

// newUUID is a random version-4 UUID in Java's text form, as Kafka puts in
// member ids.
func newUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}
