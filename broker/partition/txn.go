package partition

// A partition's part in transactions: transaction markers appended by its
// leader (WriteTxnMarkers), the last stable offset, the aborted
// transactions a read_committed fetch returns, and the verification of a
// transactional produce with the coordinator (KIP-890 part 1). The state
// itself is broker/txn's PartitionProducers, kept under the partition's
// mu like the rest of the producer state; the aborted transactions are
// kept in its snapshots (Weir's form of Kafka's .txnindex files) and
// rebuilt from the log with it.

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/txn"
)

// AppendMarker appends the transaction marker m as the partition's leader.
// tv2 says the coordinator bumped the producer's epoch for this marker
// (transaction version 2), which makes the partition refuse a marker at
// the epoch of a transaction still open. The marker is committed, like any
// append, once the high watermark passes res.EndOffset (AwaitAck).
func (p *Partition) AppendMarker(m txn.Marker, tv2 bool) AppendResult {
	raw := txn.MarkerBatch(m, p.nowMs())
	batch, err := record.Parse(raw)
	if err != nil {
		panic(err) // MarkerBatch builds a valid batch
	}
	return p.appendChecked(&batch, false, true, func(*record.Batch) txn.Decision {
		// Under mu: drop the ended transactions the LSO no longer
		// depends on, so the list stays as short as what is unstable.
		p.producers.ForgetStable(p.HighWatermark())
		d := p.producers.CheckMarker(m, tv2)
		if d.Action == txn.Append {
			p.producers.VoidVerification(m, tv2)
		}
		return d
	})
}

// AppendCoordinatorBatch appends a batch a coordinator writes for a
// producer (a transactional offset commit of the group coordinator),
// checked as such against the producer state (CheckCoordinatorBatch).
func (p *Partition) AppendCoordinatorBatch(batch *record.Batch) AppendResult {
	return p.appendChecked(batch, false, true, p.producers.CheckCoordinatorBatch)
}

// LastStableOffset is the partition's LSO: the high watermark, or the
// first offset of the oldest transaction not yet decided below it.
func (p *Partition) LastStableOffset() int64 {
	hw := p.HighWatermark()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.producers.LastStableOffset(hw)
}

// abortedIn lists the aborted transactions a read_committed fetch from
// offset from must return with the batches in data (Kafka bounds them by
// the end of what the fetch read).
func (p *Partition) abortedIn(from int64, data []byte) []txn.AbortedTxn {
	upTo := batchesEnd(data)
	if upTo <= from {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.producers.AbortedIn(from, upTo)
}

// batchesEnd is the offset after the last batch of data (whole batches as
// the log returns them), or -1 if data holds none.
func batchesEnd(data []byte) int64 {
	end := int64(-1)
	for len(data) >= record.HeaderSize {
		size, err := record.PeekSize(data)
		if err != nil || size > len(data) {
			break
		}
		base := int64(binary.BigEndian.Uint64(data))
		lastDelta := int32(binary.BigEndian.Uint32(data[23:]))
		end = base + int64(lastDelta) + 1
		data = data[size:]
	}
	return end
}

// Producer returns the producer state of producer pid, if the partition
// knows it.
func (p *Partition) Producer(pid int64) (txn.Producer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.producers.Producer(pid)
}

// ProducerStates lists the producers the partition knows
// (DescribeProducers).
func (p *Partition) ProducerStates() []txn.Producer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.producers.Producers()
}

// NeedsVerification reports whether batch would open a transaction the
// coordinator has not confirmed (KIP-890 part 1), or, from a producer of
// transaction version 2 (tv2: Produce v12+), join one not known to be of
// that version (txn.PartitionProducers.CheckTV2), and if so records the
// verification about to be asked for and returns its token.
func (p *Partition) NeedsVerification(batch *record.Batch, tv2 bool) (token uint64, needed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var d txn.Decision
	if tv2 {
		d = p.producers.CheckTV2(batch)
	} else {
		d = p.producers.Check(batch)
	}
	if !d.NeedsVerification {
		return 0, false
	}
	return p.producers.StartVerification(batch.ProducerID, batch.ProducerEpoch, tv2), true
}

// Verified records the coordinator's answer to a verification: ok
// confirms it (false if a marker voided it meanwhile), !ok drops it.
func (p *Partition) Verified(pid int64, token uint64, ok bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok {
		p.producers.CancelVerification(pid, token)
		return false
	}
	return p.producers.Verified(pid, token)
}

// abortedTransactions is the fetch response's form of aborted.
func abortedTransactions(aborted []txn.AbortedTxn) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	if len(aborted) == 0 {
		return nil
	}
	out := make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, len(aborted))
	for i, a := range aborted {
		out[i] = kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		out[i].ProducerID, out[i].FirstOffset = a.ProducerID, a.FirstOffset
	}
	return out
}

// CheckMarker is what AppendMarker checks, without appending: for the
// group coordinator, which must know a marker is taken before it applies
// it to its state.
func (p *Partition) CheckMarker(m txn.Marker, tv2 bool) txn.Decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.producers.CheckMarker(m, tv2)
}

// CheckTxnCommit checks a transactional offset commit of producer pid at
// epoch the group coordinator is about to write (CheckCoordinatorBatch;
// tv2: TxnOffsetCommit v5+, CheckCoordinatorBatchTV2).
func (p *Partition) CheckTxnCommit(pid int64, epoch int16, tv2 bool) txn.Decision {
	b := record.Batch{}
	b.ProducerID, b.ProducerEpoch, b.Attributes = pid, epoch, record.TransactionalBit
	p.mu.Lock()
	defer p.mu.Unlock()
	if tv2 {
		return p.producers.CheckCoordinatorBatchTV2(&b)
	}
	return p.producers.CheckCoordinatorBatch(&b)
}

// NeedsVerificationOf is NeedsVerification for a batch a coordinator will
// write for producer pid at epoch.
func (p *Partition) NeedsVerificationOf(pid int64, epoch int16, tv2 bool) (token uint64, needed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.producers.NeedsVerification(pid, epoch, tv2) {
		return 0, false
	}
	return p.producers.StartVerification(pid, epoch, tv2), true
}
