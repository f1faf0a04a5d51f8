package txn

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/record"
)

// A partition's view of transactions, as Kafka's ProducerStateManager keeps
// it: which producers have a transaction open here and from which offset,
// which transactions aborted (the records read_committed consumers skip),
// and from these the last stable offset (LSO), below which every
// transaction is decided.
//
// A transaction opens at a producer's first transactional batch after its
// last marker and ends at the next marker, commit or abort, that the
// coordinator has the leader append (WriteTxnMarkers). Until the marker is
// below the high watermark the records stay unstable: the LSO is at most
// the first offset of the oldest transaction that is open or whose marker
// is not yet below the high watermark.

// AbortedTxn is an aborted transaction in a partition: a read_committed
// consumer skips the producer's records from FirstOffset up to the marker
// at LastOffset (Kafka's AbortedTransaction, an entry of its .txnindex).
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64 // the abort marker's offset
	// LastStable is the partition's first unstable offset just after the
	// marker: no transaction that aborted later opened below it, which
	// bounds the search of AbortedIn (Kafka's lastStableOffset of an
	// index entry).
	LastStable int64
}

// txnSpan is a transaction that is open (end < 0) or ended by the marker
// at end.
type txnSpan struct {
	pid        int64
	first, end int64
}

// verification is a check with the transaction coordinator on record for
// a producer: asked at epoch, confirmed once verified; tv2 says it was
// asked for a batch of transaction version 2 (see checkTxn).
type verification struct {
	epoch    int16
	token    uint64
	verified bool
	tv2      bool
}

// SetRequireVerification turns KIP-890 part 1 on or off: with it on, a
// transactional batch that would open a transaction in the partition is
// appended only after the coordinator confirmed that the partition is in
// the producer's ongoing transaction (StartVerification, Verified), so a
// late batch of a transaction that already ended cannot open a new,
// hanging one. Replay never checks it: the log is the truth.
func (p *PartitionProducers) SetRequireVerification(on bool) { p.requireVerification = on }

// checkTxn is Check's transactional rule, once the idempotence rules let
// the batch through; e is nil for an unknown producer. tv2 says the batch
// comes from a producer of transaction version 2 (Produce v12+,
// TxnOffsetCommit v5+), whose transactions each have an epoch of their
// own. Such a batch joins a transaction open here at its epoch only if
// that transaction is known to be of version 2 too; otherwise it may be
// the producer's previous transaction, ended with version 1 (which keeps
// the epoch) and not yet marked here: a client that switched to version 2
// between two transactions (franz-go does, once it learns the cluster's
// transaction.version) would have its new records decided by the old
// transaction's marker. The coordinator's confirmation settles it: it
// answers only once the previous transaction is complete, and that
// marker voids the verification asked before it (VoidVerification).
func (p *PartitionProducers) checkTxn(b *record.Batch, e *producerEntry, tv2 bool) Decision {
	inTxn := e != nil && e.inTxn
	if !b.IsTransactional() {
		if inTxn {
			return reject(kerr.InvalidTxnState, "producer %d has a transaction open in this partition and sent a non-transactional batch", b.ProducerID)
		}
		return Decision{Action: Append}
	}
	if !p.requireVerification {
		return Decision{Action: Append}
	}
	if inTxn && e.epoch == b.ProducerEpoch && (!tv2 || e.txnTV2) {
		return Decision{Action: Append}
	}
	if v, ok := p.verifying[b.ProducerID]; ok && v.verified && v.epoch == b.ProducerEpoch && (!tv2 || v.tv2) {
		return Decision{Action: Append}
	}
	d := reject(kerr.InvalidTxnState, "producer %d epoch %d: this partition is not in a transaction the coordinator confirmed", b.ProducerID, b.ProducerEpoch)
	d.NeedsVerification = true
	return d
}

// CheckCoordinatorBatch is Check for a transactional batch a coordinator
// writes for a producer (the group coordinator's offsets committed in a
// transaction; Kafka's AppendOrigin.COORDINATOR): it carries no sequence
// numbers, so only the epoch is checked, then the transaction rules.
func (p *PartitionProducers) CheckCoordinatorBatch(b *record.Batch) Decision {
	return p.checkCoordinatorBatch(b, false)
}

// CheckCoordinatorBatchTV2 is CheckCoordinatorBatch for the offsets of a
// producer of transaction version 2 (TxnOffsetCommit v5+; see checkTxn).
func (p *PartitionProducers) CheckCoordinatorBatchTV2(b *record.Batch) Decision {
	return p.checkCoordinatorBatch(b, true)
}

func (p *PartitionProducers) checkCoordinatorBatch(b *record.Batch, tv2 bool) Decision {
	e := p.producers[b.ProducerID]
	if e != nil && b.ProducerEpoch < e.epoch {
		return reject(kerr.InvalidProducerEpoch, "producer %d epoch %d is older than the current epoch %d", b.ProducerID, b.ProducerEpoch, e.epoch)
	}
	return p.checkTxn(b, e, tv2)
}

// NeedsVerification reports whether a transactional batch of producer pid
// at epoch would need a verification (see checkTxn; tv2 as there) to open
// or join a transaction here: for coordinators, which check before they
// build the batch.
func (p *PartitionProducers) NeedsVerification(pid int64, epoch int16, tv2 bool) bool {
	if !p.requireVerification {
		return false
	}
	if e := p.producers[pid]; e != nil && e.inTxn && e.epoch == epoch && (!tv2 || e.txnTV2) {
		return false
	}
	v, ok := p.verifying[pid]
	return !ok || !v.verified || v.epoch != epoch || (tv2 && !v.tv2)
}

// StartVerification records that the broker asks the coordinator whether
// this partition is in the ongoing transaction of producer pid at epoch
// (for a batch of transaction version 2 if tv2), and returns the token to
// confirm it with (Verified). A marker that ends that transaction
// (VoidVerification), the transaction opening, or a later
// StartVerification voids it: the answer then no longer describes the
// transaction a batch would join (Kafka's verification guard).
func (p *PartitionProducers) StartVerification(pid int64, epoch int16, tv2 bool) uint64 {
	if p.verifying == nil {
		p.verifying = map[int64]verification{}
	}
	p.verifySeq++
	p.verifying[pid] = verification{epoch: epoch, token: p.verifySeq, tv2: tv2}
	return p.verifySeq
}

// Verified confirms the verification token stands for: the coordinator
// said the partition is in the producer's ongoing transaction. It reports
// false when the verification was voided meanwhile; the batch it was for
// must then be refused.
func (p *PartitionProducers) Verified(pid int64, token uint64) bool {
	v, ok := p.verifying[pid]
	if !ok || v.token != token {
		return false
	}
	v.verified = true
	p.verifying[pid] = v
	return true
}

// VoidVerification voids the verification of m's producer if m ends the
// transaction it is about: a marker at its epoch (transaction version 1,
// whose markers keep the epoch) or a later one. Under transaction version
// 2 the marker of the producer's previous transaction carries the epoch of
// the next one, which a verification may already be about (the producer
// starts its next transaction while the coordinator writes the previous
// one's markers): that marker does not void it. The broker calls it when
// it appends a marker.
func (p *PartitionProducers) VoidVerification(m Marker, tv2 bool) {
	v, ok := p.verifying[m.ProducerID]
	if ok && (m.ProducerEpoch > v.epoch || (!tv2 && m.ProducerEpoch == v.epoch)) {
		delete(p.verifying, m.ProducerID)
	}
}

// CancelVerification forgets a verification that failed (the coordinator
// refused, or could not be asked), unless a later one replaced it.
func (p *PartitionProducers) CancelVerification(pid int64, token uint64) {
	if v, ok := p.verifying[pid]; ok && v.token == token {
		delete(p.verifying, pid)
	}
}

// beginTxn opens the producer's transaction at offset unless one is open.
// The transaction is of version 2 (txnTV2) once a verification for a batch
// of that version confirmed it (checkTxn).
func (p *PartitionProducers) beginTxn(pid, offset int64, e *producerEntry) {
	v, ok := p.verifying[pid]
	tv2 := ok && v.verified && v.tv2 && v.epoch == e.epoch
	delete(p.verifying, pid)
	if e.inTxn {
		e.txnTV2 = e.txnTV2 || tv2
		return
	}
	e.inTxn, e.txnFirst, e.txnTV2 = true, offset, tv2
	p.open = append(p.open, txnSpan{pid: pid, first: offset, end: -1})
}

// endTxn applies the marker batch b at offset: the producer's open
// transaction ends there, and an abort is recorded. A control batch that is
// not a marker (none is appended to data partitions) changes nothing but
// the epoch, which Update has set.
func (p *PartitionProducers) endTxn(b *record.Batch, offset int64, e *producerEntry) {
	m, err := ParseMarker(b)
	if err != nil {
		return
	}
	e.coordEpoch = m.CoordinatorEpoch
	if !e.inTxn {
		return
	}
	e.inTxn, e.txnTV2 = false, false
	for i := range p.open {
		if s := &p.open[i]; s.pid == b.ProducerID && s.end < 0 {
			s.end = offset
			break
		}
	}
	if !m.Commit {
		p.aborted = append(p.aborted, AbortedTxn{
			ProducerID: b.ProducerID, FirstOffset: e.txnFirst, LastOffset: offset,
			LastStable: p.firstOpen(offset + 1),
		})
	}
}

// firstOpen is the first offset of the oldest open transaction, or def.
func (p *PartitionProducers) firstOpen(def int64) int64 {
	for _, s := range p.open {
		if s.end < 0 {
			return min(s.first, def)
		}
	}
	return def
}

// CheckMarker decides whether the marker m may be appended (Kafka's
// appendEndTxnMarker checks): its epoch must not be older than the
// producer's (INVALID_PRODUCER_EPOCH), and, under transaction version 2,
// newer, since the coordinator bumps the epoch at every transaction end: a
// TV2 marker at the producer's current epoch is a retry of one already
// written, accepted only when no transaction is open (Kafka's idempotent
// marker retry). Its coordinator epoch must not be older than the last
// marker's (TRANSACTION_COORDINATOR_FENCED: a deposed coordinator). A
// marker for a producer the partition does not know is accepted: the
// transaction may have added the partition without producing to it.
func (p *PartitionProducers) CheckMarker(m Marker, tv2 bool) Decision {
	e := p.producers[m.ProducerID]
	if e == nil {
		return Decision{Action: Append}
	}
	stale := m.ProducerEpoch < e.epoch || (tv2 && m.ProducerEpoch == e.epoch && e.inTxn)
	if stale {
		return reject(kerr.InvalidProducerEpoch, "marker of producer %d at epoch %d, but the producer is at epoch %d", m.ProducerID, m.ProducerEpoch, e.epoch)
	}
	if m.CoordinatorEpoch < e.coordEpoch {
		return reject(kerr.TransactionCoordinatorFenced, "marker of producer %d from coordinator epoch %d, older than %d", m.ProducerID, m.CoordinatorEpoch, e.coordEpoch)
	}
	return Decision{Action: Append}
}

// LastStableOffset is the LSO given the high watermark hw: hw, or the first
// offset of the oldest transaction that is open or whose marker is not
// below hw, whichever is lower.
func (p *PartitionProducers) LastStableOffset(hw int64) int64 {
	for _, s := range p.open {
		if s.end < 0 || s.end >= hw {
			return min(hw, s.first)
		}
	}
	return hw
}

// Unstable reports whether any transaction is open or not yet known to be
// stable: when false, the LSO is the high watermark.
func (p *PartitionProducers) Unstable() bool { return len(p.open) > 0 }

// ForgetStable forgets the ended transactions whose marker is below hw,
// which the LSO no longer depends on. The high watermark only grows while
// the partition is open, so they can never matter again until a restart,
// which rebuilds the state from the log and a snapshot that keeps only
// open transactions.
func (p *PartitionProducers) ForgetStable(hw int64) {
	kept := p.open[:0]
	for _, s := range p.open {
		if s.end < 0 || s.end >= hw {
			kept = append(kept, s)
		}
	}
	clear(p.open[len(kept):])
	p.open = kept
}

// AbortedIn lists the aborted transactions a read_committed consumer
// fetching from offset from up to (not including) upTo must know: those
// whose marker is at or after from and whose first offset is below upTo.
// The slice is the caller's.
func (p *PartitionProducers) AbortedIn(from, upTo int64) []AbortedTxn {
	i := sort.Search(len(p.aborted), func(i int) bool { return p.aborted[i].LastOffset >= from })
	var out []AbortedTxn
	for _, a := range p.aborted[i:] {
		if a.FirstOffset < upTo {
			out = append(out, a)
		}
		if a.LastStable >= upTo {
			break
		}
	}
	return out
}

// Aborted returns every aborted transaction the partition keeps, in marker
// order; the slice is the caller's.
func (p *PartitionProducers) Aborted() []AbortedTxn { return append([]AbortedTxn(nil), p.aborted...) }

// dropAbortedBefore forgets aborted transactions whose marker is below
// offset.
func (p *PartitionProducers) dropAbortedBefore(offset int64) {
	i := sort.Search(len(p.aborted), func(i int) bool { return p.aborted[i].LastOffset >= offset })
	p.aborted = append(p.aborted[:0], p.aborted[i:]...)
}

// rebuildOpen rebuilds the open list from the producers after a restore.
func (p *PartitionProducers) rebuildOpen() {
	p.open = p.open[:0]
	for id, e := range p.producers {
		if e.inTxn {
			p.open = append(p.open, txnSpan{pid: id, first: e.txnFirst, end: -1})
		}
	}
	sort.Slice(p.open, func(i, j int) bool { return p.open[i].first < p.open[j].first })
}
