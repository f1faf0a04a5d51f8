package txn

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/record"
)

// BatchesRetained is how many of a producer's latest batches a partition
// remembers. An idempotent producer keeps at most 5 requests in flight per
// connection (max.in.flight.requests.per.connection <= 5 is required for
// idempotence), so every batch it may still retry is among its last 5.
const BatchesRetained = 5

// noSequence is Kafka's "no sequence yet": the successor of -1 is 0.
const noSequence = -1

// BatchMeta is what a partition remembers about one appended batch: enough
// to recognise a retry of it and to answer the retry as the original append
// was answered.
type BatchMeta struct {
	FirstSequence int32
	LastSequence  int32
	BaseOffset    int64
	LastOffset    int64
	MaxTimestamp  int64 // ms; the batch's max timestamp as stored
}

// Action is what the broker must do with a produced batch.
type Action uint8

const (
	// Append the batch, then call Update with its base offset.
	Append Action = iota + 1
	// Duplicate: the batch was already appended. Do not append it again;
	// answer success with Decision.Original's base offset, as Kafka does.
	Duplicate
	// Reject the batch with Decision.Err; nothing is appended.
	Reject
)

func (a Action) String() string {
	switch a {
	case Append:
		return "append"
	case Duplicate:
		return "duplicate"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Decision is Check's answer for one batch. It is a comparable value; the
// append path allocates nothing.
type Decision struct {
	Action Action
	// Original is the earlier append of the same batch (Duplicate only).
	Original BatchMeta
	// Err is the Kafka error to answer with (Reject only):
	// kerr.InvalidProducerEpoch, kerr.OutOfOrderSequenceNumber or
	// kerr.InvalidRecord. It is an answer to the client, not a fault.
	Err *kerr.Error
	// Reason says why, for logs and the produce response's error message
	// (Reject only).
	Reason string
	// NeedsVerification: a transactional batch that would start the
	// producer's transaction in this partition was refused because no
	// verification of it is on record (KIP-890 part 1): the broker asks
	// the transaction coordinator (StartVerification, then Verified) and
	// checks the batch again.
	NeedsVerification bool
}

// Producer is what a partition knows about one producer id.
type Producer struct {
	ID    int64
	Epoch int16
	// Batches are the producer's last appended batches in this epoch,
	// oldest first, at most BatchesRetained. Empty only when the epoch was
	// learnt from a control batch (a transaction marker).
	Batches []BatchMeta
	// TxnFirstOffset is where the producer's open transaction in this
	// partition started, or -1 when none is open.
	TxnFirstOffset int64
	// CoordinatorEpoch is the coordinator epoch of the producer's last
	// marker, or -1.
	CoordinatorEpoch int32
}

// producerEntry is the state of one producer id. The batches live in a
// fixed array so that Update on a known producer does not allocate.
type producerEntry struct {
	epoch   int16
	n       int // valid entries of batches, oldest first
	batches [BatchesRetained]BatchMeta
	// inTxn: the producer has a transaction open in this partition,
	// started at txnFirst (the offset of its first transactional batch
	// since the last marker). Only a marker ends it; a new epoch does not.
	inTxn    bool
	txnFirst int64
	// txnTV2: the open transaction is known to be of transaction
	// version 2 (a verification for such a batch confirmed it), so the
	// producer's version 2 batches may join it unverified (checkTxn).
	// Not kept in snapshots: after a restart or on a new leader the next
	// such batch is verified once more.
	txnTV2 bool
	// coordEpoch is the coordinator epoch of the last marker (-1: none).
	coordEpoch int32
}

func newEntry(epoch int16) *producerEntry {
	return &producerEntry{epoch: epoch, coordEpoch: -1}
}

func (e *producerEntry) lastSequence() int32 {
	if e.n == 0 {
		return noSequence
	}
	return e.batches[e.n-1].LastSequence
}

func (e *producerEntry) lastOffset() int64 {
	if e.n == 0 {
		return -1
	}
	return e.batches[e.n-1].LastOffset
}

func (e *producerEntry) add(m BatchMeta) {
	if e.n == BatchesRetained {
		copy(e.batches[:], e.batches[1:])
		e.n--
	}
	e.batches[e.n] = m
	e.n++
}

// PartitionProducers is the idempotence state of one partition: per producer
// id, its epoch and its last BatchesRetained appended batches. The zero value
// is an empty table, ready to use.
//
// Concurrency: not safe for concurrent use. The broker calls Check, appends
// and calls Update under the partition's lock, which also orders the log;
// a lock here would only repeat that one.
//
// Kafka's produce path accepts exactly one v2 batch per partition per
// request, so Check then Update per batch is the whole protocol: no batch
// is ever checked against another batch of the same request that has not
// been appended yet.
type PartitionProducers struct {
	producers map[int64]*producerEntry

	// open lists the transactions that are open, or ended by a marker the
	// broker may not have told stable yet (ForgetStable), in the order
	// they opened (so by first offset).
	open []txnSpan
	// aborted lists the aborted transactions in the order of their
	// markers: what read_committed fetches skip.
	aborted []AbortedTxn
	// verifying holds the verifications on record (KIP-890 part 1), by
	// producer id; see StartVerification.
	verifying map[int64]verification
	// requireVerification: a transactional batch that opens a transaction
	// needs a verification on record (SetRequireVerification).
	requireVerification bool
	verifySeq           uint64
}

// NewPartitionProducers returns an empty table; the same as a zero
// PartitionProducers, for callers that keep a pointer.
func NewPartitionProducers() *PartitionProducers { return &PartitionProducers{} }

// Check decides what to do with batch b, produced by a client, before it is
// appended. It does not change the state.
//
// The rules are Kafka's (UnifiedLog.analyzeAndValidateProducerState and
// ProducerAppendInfo), in this order:
//  1. No producer id (ProducerID < 0): append, untracked.
//  2. Producer id with a negative first sequence: INVALID_RECORD, as Kafka's
//     LogValidator answers; an idempotent batch always carries a sequence.
//  3. Unknown producer id: append at any epoch and sequence. The state may
//     have gone with the log (retention, DeleteRecords, truncation), and
//     Kafka 2.5+ (KIP-360) accepts rather than failing the producer.
//  4. Same epoch and the same first and last sequence as one of the last
//     BatchesRetained batches: duplicate, with that batch's offsets.
//  5. Epoch lower than the known one: INVALID_PRODUCER_EPOCH (a zombie).
//  6. Epoch higher than the known one: append only at sequence 0, else
//     OUT_OF_ORDER_SEQUENCE_NUMBER.
//  7. Same epoch: append only if the first sequence follows the last
//     appended one (MaxInt32 is followed by 0), else
//     OUT_OF_ORDER_SEQUENCE_NUMBER; this covers gaps, overlaps and
//     retries older than the last BatchesRetained.
//  8. Transactions (checkTxn): a non-transactional batch from a producer
//     with a transaction open here is INVALID_TXN_STATE; a transactional
//     batch that would open one needs a verification on record when
//     verification is required (INVALID_TXN_STATE, NeedsVerification).
func (p *PartitionProducers) Check(b *record.Batch) Decision { return p.check(b, false) }

// CheckTV2 is Check for a batch of a producer of transaction version 2
// (Produce v12+): rule 8 also asks a verification before such a batch
// joins a transaction open at its epoch that is not known to be of
// version 2 (checkTxn).
func (p *PartitionProducers) CheckTV2(b *record.Batch) Decision { return p.check(b, true) }

func (p *PartitionProducers) check(b *record.Batch, tv2 bool) Decision {
	if b.ProducerID < 0 {
		return Decision{Action: Append}
	}
	if b.FirstSequence < 0 {
		return reject(kerr.InvalidRecord, "producer %d sent batch without a sequence number (%d)", b.ProducerID, b.FirstSequence)
	}
	e := p.producers[b.ProducerID]
	if e == nil {
		return p.checkTxn(b, nil, tv2)
	}
	if b.ProducerEpoch == e.epoch {
		first, last := b.FirstSequence, b.LastSequence()
		for i := range e.n {
			if m := e.batches[i]; m.FirstSequence == first && m.LastSequence == last {
				return Decision{Action: Duplicate, Original: m}
			}
		}
	}
	switch {
	case b.ProducerEpoch < e.epoch:
		return reject(kerr.InvalidProducerEpoch, "producer %d epoch %d is older than the current epoch %d", b.ProducerID, b.ProducerEpoch, e.epoch)
	case b.ProducerEpoch > e.epoch:
		if b.FirstSequence != 0 {
			return reject(kerr.OutOfOrderSequenceNumber, "producer %d new epoch %d must start at sequence 0, got %d", b.ProducerID, b.ProducerEpoch, b.FirstSequence)
		}
		return p.checkTxn(b, e, tv2)
	}
	if last := e.lastSequence(); b.FirstSequence != record.IncrementSequence(last, 1) {
		return reject(kerr.OutOfOrderSequenceNumber, "producer %d epoch %d sent sequence %d after %d", b.ProducerID, b.ProducerEpoch, b.FirstSequence, last)
	}
	return p.checkTxn(b, e, tv2)
}

func reject(err *kerr.Error, format string, args ...any) Decision {
	return Decision{Action: Reject, Err: err, Reason: fmt.Sprintf(format, args...)}
}

// Update records that batch b was appended at baseOffset. Call it after
// every append whose Check said Append, and, when rebuilding, for every
// batch of the log in offset order (see Replay).
//
// Update does not validate: the log is the truth, and the state must follow
// it even where Check would have refused (a leader's log replicated to a
// follower, or a log written by an older rule). A batch with a new epoch,
// higher or lower, becomes the producer's epoch and forgets the old epoch's
// batches, as Kafka does.
//
// b must describe the batch as stored: if the broker rewrote the max
// timestamp (LogAppendTime), b.MaxTimestamp must hold the new value, since a
// duplicate is answered with it.
//
// Control batches (transaction markers) carry no sequence: they set the
// epoch, add no batch, and end the producer's open transaction (see
// endTxn). A transactional batch opens one if none is open.
func (p *PartitionProducers) Update(b *record.Batch, baseOffset int64) {
	if b.ProducerID < 0 {
		return
	}
	e := p.producers[b.ProducerID]
	if e == nil {
		if p.producers == nil {
			p.producers = make(map[int64]*producerEntry)
		}
		e = newEntry(b.ProducerEpoch)
		p.producers[b.ProducerID] = e
	}
	if e.epoch != b.ProducerEpoch {
		e.epoch = b.ProducerEpoch
		e.n = 0
	}
	if b.IsControl() {
		p.endTxn(b, baseOffset, e)
		return
	}
	if b.IsTransactional() {
		p.beginTxn(b.ProducerID, baseOffset, e)
	}
	e.add(BatchMeta{
		FirstSequence: b.FirstSequence,
		LastSequence:  b.LastSequence(),
		BaseOffset:    baseOffset,
		LastOffset:    baseOffset + int64(b.LastOffsetDelta),
		MaxTimestamp:  b.MaxTimestamp,
	})
}

// Replay records a batch read back from the log, where its base offset is
// its own FirstOffset. Rebuilding the state is Reset (or a zero value)
// followed by Replay of every batch from the log start to the log end, in
// order.
func (p *PartitionProducers) Replay(b *record.Batch) { p.Update(b, b.FirstOffset) }

// Reset forgets every producer. After a log truncation (a follower
// truncating to its leader), call Reset and Replay the remaining log: the
// entries of batches past the truncation point cannot be undone one by one,
// because the batches they pushed out of the last BatchesRetained are gone.
func (p *PartitionProducers) Reset() {
	clear(p.producers)
	p.open, p.aborted = nil, nil
	clear(p.verifying)
}

// DropBefore forgets every producer whose last batch ends before
// logStartOffset, as Kafka does when retention or DeleteRecords moves the
// log start: those producers are then unknown, exactly as they would be
// after a restart that replays the remaining log. A producer with a batch
// at or after logStartOffset keeps all its retained batches, also as Kafka
// does; only a restart (replay) would forget the ones before the log start.
//
// A producer with a transaction open is kept (its records are still
// unstable), and aborted transactions that ended below logStartOffset are
// forgotten: nothing a consumer can read is left of them.
func (p *PartitionProducers) DropBefore(logStartOffset int64) {
	for id, e := range p.producers {
		if e.lastOffset() < logStartOffset && !e.inTxn {
			delete(p.producers, id)
		}
	}
	p.dropAbortedBefore(logStartOffset)
}

// Len is the number of producers the partition knows.
func (p *PartitionProducers) Len() int { return len(p.producers) }

// Producer returns a copy of what the partition knows about producer id.
func (p *PartitionProducers) Producer(id int64) (Producer, bool) {
	e := p.producers[id]
	if e == nil {
		return Producer{}, false
	}
	return e.export(id), true
}

func (e *producerEntry) export(id int64) Producer {
	out := Producer{ID: id, Epoch: e.epoch, Batches: append([]BatchMeta(nil), e.batches[:e.n]...), TxnFirstOffset: -1, CoordinatorEpoch: e.coordEpoch}
	if e.inTxn {
		out.TxnFirstOffset = e.txnFirst
	}
	return out
}

// Producers lists every producer the partition knows, by id.
func (p *PartitionProducers) Producers() []Producer {
	out := make([]Producer, 0, len(p.producers))
	for id, e := range p.producers {
		out = append(out, e.export(id))
	}
	slices.SortFunc(out, func(a, b Producer) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
