package broker

// Transaction markers: the coordinator's side (a marker job per decided
// transaction end, sent to the leader of each of its partitions until
// every one is written) and the partition leader's side (WriteTxnMarkers,
// 27_write_txn_markers.go, which appends them and answers once they are
// durable). A marker for a partition this broker leads is written
// directly, without a connection.

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/txn"
	"github.com/weir-dev/weir/broker/txncoord"
)

// Backoff between rounds of a marker job that has partitions left.
const (
	markerRetryMin = 20 * time.Millisecond
	markerRetryMax = time.Second
)

// startMarkers sends job's markers in the background and completes the
// transaction once every partition has its marker. A job with no
// partition never gets here: apply completes it in its own loop. Call
// with mu held.
func (cs *txnShard) startMarkers(job txncoord.MarkerJob) {
	b := cs.tc.b
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if !b.sendMarkers(cs.ctx, job) {
			return
		}
		cs.mu.Lock()
		defer cs.mu.Unlock()
		// Its partition may have moved while the markers went out.
		if cs.ctx.Err() != nil || !cs.serving(cs.unloadLocked) {
			return
		}
		cs.apply(cs.sm.MarkersWritten(cs.tc.nowMs(), job))
	}()
}

// sendMarkers writes job's marker to every partition of the transaction,
// retrying what fails, until all are written (true) or ctx ends or a
// partition says this coordinator was deposed (false).
func (b *Broker) sendMarkers(ctx context.Context, job txncoord.MarkerJob) bool {
	pending := slices.Clone(job.Partitions)
	backoff := markerRetryMin
	for len(pending) > 0 {
		if ctx.Err() != nil {
			return false
		}
		byLeader := map[int32][]txncoord.TopicPartition{}
		var waiting []txncoord.TopicPartition
		img := b.image()
		for _, tp := range pending {
			t, ok := img.Topic(tp.Topic)
			switch {
			case !ok || int(tp.Partition) >= len(t.Partitions):
				// Deleted: nothing is left to end there.
				b.log.Info("transaction marker for a partition that no longer exists dropped", "transactional_id", job.TransactionalID, "topic", tp.Topic, "partition", tp.Partition)
			case t.Partitions[tp.Partition].Leader < 0:
				waiting = append(waiting, tp)
			default:
				leader := t.Partitions[tp.Partition].Leader
				byLeader[leader] = append(byLeader[leader], tp)
			}
		}
		pending = waiting
		for leader, tps := range byLeader {
			codes, err := b.writeMarkersTo(ctx, leader, job, tps)
			if err != nil {
				b.log.Debug("writing transaction markers failed; will retry", "transactional_id", job.TransactionalID, "broker", leader, "err", err)
				pending = append(pending, tps...)
				continue
			}
			for i, tp := range tps {
				switch codes[i] {
				case 0:
				case kerr.TransactionCoordinatorFenced.Code:
					// A newer coordinator owns the transaction now.
					return false
				case kerr.InvalidProducerEpoch.Code:
					// The partition has seen a newer epoch of the
					// producer: this transaction's end is behind it.
					b.log.Warn("transaction marker refused for an older epoch; the partition moved past this transaction", "transactional_id", job.TransactionalID, "topic", tp.Topic, "partition", tp.Partition)
				default:
					pending = append(pending, tp)
				}
			}
		}
		if len(pending) == 0 {
			return true
		}
		t := b.clock.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C():
		}
		backoff = min(backoff*2, markerRetryMax)
	}
	return true
}

// writeMarkersTo asks broker leader to write job's marker to tps and
// returns one error code per partition.
func (b *Broker) writeMarkersTo(ctx context.Context, leader int32, job txncoord.MarkerJob, tps []txncoord.TopicPartition) ([]int16, error) {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.SetVersion(2)
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed = job.ProducerID, job.ProducerEpoch, job.Commit
	m.CoordinatorEpoch = job.CoordinatorEpoch
	if job.TV2 {
		m.TransactionVersion = 2
	}
	for _, tp := range tps {
		if n := len(m.Topics); n > 0 && m.Topics[n-1].Topic == tp.Topic {
			m.Topics[n-1].Partitions = append(m.Topics[n-1].Partitions, tp.Partition)
			continue
		}
		t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		t.Topic, t.Partitions = tp.Topic, []int32{tp.Partition}
		m.Topics = append(m.Topics, t)
	}
	req.Markers = append(req.Markers, m)
	var resp *kmsg.WriteTxnMarkersResponse
	if leader == b.cfg.NodeID {
		ctx, cancel := b.timeoutContext(ctx, peerRequestTimeout)
		defer cancel()
		r, wait := b.writeMarkers(req)
		wait(ctx)
		resp = r
	} else {
		r, err := b.peerRequest(ctx, leader, req)
		if err != nil {
			return nil, err
		}
		resp = r.(*kmsg.WriteTxnMarkersResponse)
	}
	codes := make([]int16, 0, len(tps))
	for _, rm := range resp.Markers {
		for _, rt := range rm.Topics {
			for _, rp := range rt.Partitions {
				codes = append(codes, rp.ErrorCode)
			}
		}
	}
	for len(codes) < len(tps) {
		codes = append(codes, kerr.UnknownServerError.Code) // a malformed answer: retry those
	}
	return codes[:len(tps)], nil
}

// writeMarkers appends every marker of req to the partitions this broker
// leads and returns the response and a wait that fills in its error codes
// once each marker is durable (or ctx ends: REQUEST_TIMED_OUT).
func (b *Broker) writeMarkers(req *kmsg.WriteTxnMarkersRequest) (*kmsg.WriteTxnMarkersResponse, func(ctx context.Context)) {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	type durable struct {
		p    *partition.Partition
		ack  *partition.AckWait
		code *int16
	}
	var waits []durable
	var groupWaits []*waiter
	var groupCodes []*int16
	for _, rm := range req.Markers {
		sm := kmsg.NewWriteTxnMarkersResponseMarker()
		sm.ProducerID = rm.ProducerID
		m := txn.Marker{ProducerID: rm.ProducerID, ProducerEpoch: rm.ProducerEpoch, Commit: rm.Committed, CoordinatorEpoch: rm.CoordinatorEpoch}
		tv2 := rm.TransactionVersion >= 2 && b.txnDefences()
		for _, rt := range rm.Topics {
			st := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			st.Topic = rt.Topic
			st.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(rt.Partitions))
			t := b.topicByName(rt.Topic)
			for i, index := range rt.Partitions {
				sp := &st.Partitions[i]
				*sp = kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				sp.Partition = index
				p, perr := t.leaderPartition(index, -1)
				switch {
				case perr != nil:
					sp.ErrorCode = perr.Code
				case rt.Topic == offsetsTopic:
					// The group coordinator writes its own partition's
					// markers and applies them to its pending offsets.
					w, code := b.groups.writeMarker(p, index, m, tv2)
					if code != 0 {
						sp.ErrorCode = code
						break
					}
					groupWaits = append(groupWaits, w)
					groupCodes = append(groupCodes, &sp.ErrorCode)
				default:
					// Markers are appended with acks=all, as Kafka's:
					// min.insync.replicas applies, and the answer waits
					// for the ISR (broker/partition).
					if kerrp, _ := p.CheckProduce(-1); kerrp != nil {
						sp.ErrorCode = kerrp.Code
						break
					}
					res := p.AppendMarker(m, tv2)
					if res.Err != nil {
						sp.ErrorCode = kerr.UnknownServerError.Code
						if ke, ok := res.Err.(*kerr.Error); ok {
							sp.ErrorCode = ke.Code
						}
						break
					}
					w, code := p.AwaitAck(res.LeaderEpoch, res.EndOffset)
					if w == nil {
						sp.ErrorCode = code
						break
					}
					waits = append(waits, durable{p: p, ack: w, code: &sp.ErrorCode})
				}
			}
			sm.Topics = append(sm.Topics, st)
		}
		resp.Markers = append(resp.Markers, sm)
	}
	wait := func(ctx context.Context) {
		for _, w := range waits {
			*w.code = w.p.AckResult(ctx.Done(), w.ack)
		}
		for i, w := range groupWaits {
			select {
			case r := <-w.ch:
				*groupCodes[i] = markerCode(r)
			case <-ctx.Done():
				*groupCodes[i] = kerr.RequestTimedOut.Code
			}
		}
	}
	return resp, wait
}

// markerCode is the error code of the one partition a group shard's
// CompleteTxn answers.
func markerCode(resp kmsg.Response) int16 {
	r, ok := resp.(*kmsg.WriteTxnMarkersResponse)
	if !ok || len(r.Markers) == 0 || len(r.Markers[0].Topics) == 0 || len(r.Markers[0].Topics[0].Partitions) == 0 {
		return kerr.UnknownServerError.Code
	}
	return r.Markers[0].Topics[0].Partitions[0].ErrorCode
}

// writeMarker writes a transaction marker to __consumer_offsets partition
// index through its group shard, which applies or discards the offsets the
// transaction committed there: the answer (a WriteTxnMarkersResponse)
// arrives in the waiter once the marker is durable. The marker is checked
// against the partition's producer state first, under the shard's lock, so
// the shard only ever applies a marker the partition takes.
func (gc *groupCoordinator) writeMarker(p *partition.Partition, index int32, m txn.Marker, tv2 bool) (*waiter, int16) {
	cs := gc.shardAt(index)
	if cs == nil || cs.p != p {
		return nil, kerr.NotLeaderForPartition.Code
	}
	w := newWaiter()
	code := cs.do(func(sm *group.Shard, nowMs int64) group.Output {
		if d := p.CheckMarker(m, tv2); d.Action == txn.Reject {
			return sm.Answer(nowMs, w, group.MarkerError(d.Err.Code))
		}
		return sm.CompleteTxn(nowMs, group.TxnMarker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Commit: m.Commit, CoordinatorEpoch: m.CoordinatorEpoch, TV2: tv2}, w)
	})
	if code != 0 {
		// Loading or unloaded: the coordinator retries.
		return nil, code
	}
	return w, 0
}
