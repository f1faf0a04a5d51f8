package group

import (
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offsets committed inside a transaction (TxnOffsetCommit, KIP-98/447):
// written to the partition at once, in a transactional batch of the
// producer, but pending until the transaction's marker lands in the same
// partition (CompleteTxn, or ReplayMarker when loading): a commit marker
// applies them, an abort marker discards them. Until then OffsetFetch with
// require_stable answers UNSTABLE_OFFSET_COMMIT for their partitions, and
// the group is neither expired nor deleted.

// pendingTxn is what one producer's open transaction committed, by group,
// topic and partition.
type pendingTxn struct {
	offsets map[string]map[string]map[int32]*offsetCommit
}

func (t *pendingTxn) set(group, topic string, partition int32, oc *offsetCommit) {
	byTopic := t.offsets[group]
	if byTopic == nil {
		byTopic = map[string]map[int32]*offsetCommit{}
		t.offsets[group] = byTopic
	}
	ps := byTopic[topic]
	if ps == nil {
		ps = map[int32]*offsetCommit{}
		byTopic[topic] = ps
	}
	ps[partition] = oc
}

func (s *Shard) pending(pid int64) *pendingTxn {
	t := s.pendingTxn[pid]
	if t == nil {
		t = &pendingTxn{offsets: map[string]map[string]map[int32]*offsetCommit{}}
		s.pendingTxn[pid] = t
	}
	return t
}

// hasPendingTxn reports whether an open transaction committed offsets of
// the group.
func (s *Shard) hasPendingTxn(group string) bool {
	for _, t := range s.pendingTxn {
		if len(t.offsets[group]) > 0 {
			return true
		}
	}
	return false
}

func (s *Shard) hasPendingTxnOffset(group, topic string, partition int32) bool {
	for _, t := range s.pendingTxn {
		if _, ok := t.offsets[group][topic][partition]; ok {
			return true
		}
	}
	return false
}

// TxnCommit handles a TxnOffsetCommit request (v0-5): the offsets are
// written in a transactional batch of the request's producer
// (Output.TxnBatch) and stay pending until the transaction ends. The shell
// has checked, with the transaction coordinator, that this partition is in
// the producer's transaction, and answers unknown topics itself. The
// answer waits for the records to be durable.
func (s *Shard) TxnCommit(nowMs int64, req *kmsg.TxnOffsetCommitRequest, w Waiter) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, txnCommitResponse(req, code))
	}
	s.begin(nowMs)
	s.reply(w, s.txnCommit(req))
	return s.end()
}

func (s *Shard) txnCommit(req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	if req.Group == "" {
		return txnCommitResponse(req, kerr.InvalidGroupID.Code)
	}
	g := s.groups[req.Group]
	if g == nil {
		if req.Generation >= 0 {
			return txnCommitResponse(req, kerr.IllegalGeneration.Code)
		}
		// A producer that commits offsets of a consumer without group
		// management: a simple group, as for OffsetCommit.
		g = newGroup(strings.Clone(req.Group), s.now)
		s.groups[g.id] = g
	}
	code := int16(0)
	if g.cg != nil {
		code = g.cg.validateCommit(req.MemberID, req.Generation, req.Version, true)
	} else {
		code = g.validateOffsetCommit(req.MemberID, req.InstanceID, req.Generation, true)
	}
	if code != 0 {
		return txnCommitResponse(req, code)
	}
	resp := txnCommitResponse(req, 0)
	t := s.pending(req.ProducerID)
	for i, rt := range req.Topics {
		for j, p := range rt.Partitions {
			md := ""
			if p.Metadata != nil {
				md = *p.Metadata
			}
			if utf16Len(md) > int(s.cfg.OffsetMetadataMaxBytes) {
				resp.Topics[i].Partitions[j].ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			epoch := int32(-1)
			if req.Version >= 2 {
				epoch = p.LeaderEpoch
			}
			oc := &offsetCommit{offset: p.Offset, leaderEpoch: epoch, metadata: strings.Clone(md), commitMs: s.now, expireMs: -1}
			topic := strings.Clone(rt.Topic)
			t.set(g.id, topic, p.Partition, oc)
			if s.txn == nil {
				s.txn = &TxnBatch{ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch}
			}
			s.txn.Records = append(s.txn.Records, s.offsetCommitRecord(g.id, topic, p.Partition, oc))
			s.txnCommits = append(s.txnCommits, oc)
		}
	}
	if len(t.offsets) == 0 {
		delete(s.pendingTxn, req.ProducerID)
	}
	return resp
}

func txnCommitResponse(req *kmsg.TxnOffsetCommitRequest, code int16) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = strings.Clone(t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// Answer releases resp to w, an answer the shell decided under the
// shard's lock (a TxnOffsetCommit or marker refused by the partition's
// producer state, which counts batches not yet durable): like every
// answer of the shard, it waits until the records the shard wrote before
// it are durable, so no client acts on a state a crash can take back.
func (s *Shard) Answer(nowMs int64, w Waiter, resp kmsg.Response) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, resp)
	}
	s.begin(nowMs)
	s.reply(w, resp)
	return s.end()
}

// CompleteTxn handles a transaction marker for this partition
// (WriteTxnMarkers): the marker is written (Output.TxnBatch) and the
// producer's pending offsets are applied (commit) or discarded (abort) at
// once. The shell has checked the marker against the partition's producer
// state (epochs). w gets an empty WriteTxnMarkersResponse once the marker
// is durable.
func (s *Shard) CompleteTxn(nowMs int64, m TxnMarker, w Waiter) Output {
	resp := kmsg.NewPtrWriteTxnMarkersResponse()
	if code := s.unavailable(); code != 0 {
		return refuse(w, markerResponse(resp, code))
	}
	s.begin(nowMs)
	s.txn = &TxnBatch{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Marker: &m}
	s.completeTxn(m.ProducerID, m.Commit)
	s.reply(w, markerResponse(resp, 0))
	return s.end()
}

// markerResponse is a WriteTxnMarkersResponse with one marker's result.
func markerResponse(resp *kmsg.WriteTxnMarkersResponse, code int16) *kmsg.WriteTxnMarkersResponse {
	m := kmsg.NewWriteTxnMarkersResponseMarker()
	t := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
	p := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
	p.ErrorCode = code
	t.Partitions = append(t.Partitions, p)
	m.Topics = append(m.Topics, t)
	resp.Markers = append(resp.Markers, m)
	return resp
}

// completeTxn ends producer pid's transaction in this partition. A
// committed offset replaces the group's only if it was written after it
// (a plain commit made after the transactional one wins), as in Kafka.
func (s *Shard) completeTxn(pid int64, commit bool) {
	t := s.pendingTxn[pid]
	delete(s.pendingTxn, pid)
	if t == nil || (!commit && !s.cfg.Defects.ApplyAbortedTxnOffsets) {
		return
	}
	groups := make([]string, 0, len(t.offsets))
	for id := range t.offsets {
		groups = append(groups, id)
	}
	sort.Strings(groups)
	for _, id := range groups {
		g := s.groups[id]
		if g == nil {
			g = newGroup(id, s.now)
			s.groups[id] = g
		}
		for topic, ps := range t.offsets[id] {
			for p, oc := range ps {
				if cur := g.offsets[topic][p]; cur == nil || cur.logOffset < oc.logOffset {
					g.setOffset(topic, p, oc)
				}
			}
		}
	}
}

// ReplayTxnOffset applies a record of a transactional batch of producer
// pid read back from the partition while loading: an offset commit made
// inside the transaction, pending until ReplayMarker. Other records are
// skipped, as Replay skips records it does not know.
func (s *Shard) ReplayTxnOffset(pid int64, key, value []byte) error {
	if !s.loading {
		return ErrLoaded
	}
	s.replayPos++
	r := kbin.Reader{Src: key}
	if version := r.Int16(); !r.Ok() || version > 1 || value == nil {
		s.skipped++
		return nil
	}
	k, oc, err := s.decodeOffset(key, value)
	if err != nil {
		return err
	}
	if s.groups[k.Group] == nil {
		// As TxnCommit made it: a simple group (Kafka's replay does the same).
		s.groups[k.Group] = newGroup(k.Group, -1)
	}
	s.pending(pid).set(k.Group, k.Topic, k.Partition, oc)
	return nil
}

// ReplayMarker applies a transaction marker read back while loading.
func (s *Shard) ReplayMarker(pid int64, commit bool) error {
	if !s.loading {
		return ErrLoaded
	}
	s.replayPos++
	s.completeTxn(pid, commit)
	return nil
}

// dumpPending describes the pending transactional offsets, sorted.
func (s *Shard) dumpPending() []string {
	var lines []string
	for pid, t := range s.pendingTxn {
		for g, byTopic := range t.offsets {
			for topic, ps := range byTopic {
				for p, oc := range ps {
					lines = append(lines, fmt.Sprintf("pending producer=%d %s %s/%d=%d", pid, g, topic, p, oc.offset))
				}
			}
		}
	}
	sort.Strings(lines)
	return lines
}

// MarkerError is a CompleteTxn answer failing with code, for the shell to
// answer a marker it refuses before the shard sees it.
func MarkerError(code int16) kmsg.Response {
	return markerResponse(kmsg.NewPtrWriteTxnMarkersResponse(), code)
}
