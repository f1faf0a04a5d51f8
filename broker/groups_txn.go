package broker

// The group coordinator's part in transactions (groups.go is the rest of
// its shell): offsets committed inside a transaction (TxnOffsetCommit) are
// written as a transactional batch of the producer, and the transaction's
// marker in __consumer_offsets is written by the shard too
// (txn_markers.go, groupCoordinator.writeMarker), which applies or
// discards those offsets. Loading replays both.

import (
	"fmt"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/txn"
)

// replayGroupBatch feeds one batch of __consumer_offsets to a loading
// shard: markers end transactions, records of transactional batches are
// pending offsets of their producer, others plain records. done is called
// per record (and marker) with the error of a record that did not decode.
func replayGroupBatch(sm *group.Shard, b *record.Batch, done func(error)) error {
	switch {
	case b.IsControl():
		m, err := txn.ParseMarker(b)
		if err != nil {
			done(err)
			return nil
		}
		done(sm.ReplayMarker(m.ProducerID, m.Commit))
		return nil
	case b.IsTransactional():
		return eachRecord(b, func(key, value []byte) { done(sm.ReplayTxnOffset(b.ProducerID, key, value)) })
	}
	return eachRecord(b, func(key, value []byte) { done(sm.Replay(key, value)) })
}

// appendTxn writes a shard's transactional batch at the offset the shard
// expects: the offsets a transaction committed (a transactional batch of
// the producer, without sequence numbers, as Kafka's coordinator writes
// them), or the transaction's marker. The shell checked both against the
// partition's producer state before the shard decided, under the shard's
// lock, so a refusal here is a failure.
func (cs *coordShard) appendTxn(tb *group.TxnBatch) error {
	var res partition.AppendResult
	if m := tb.Marker; m != nil {
		res = cs.p.AppendMarker(txn.Marker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Commit: m.Commit, CoordinatorEpoch: m.CoordinatorEpoch}, m.TV2)
	} else {
		raw := encodeProducerBatch(tb.Records, cs.gc.nowMs(), tb.ProducerID, tb.ProducerEpoch, record.TransactionalBit)
		batch, err := record.Parse(raw)
		if err != nil {
			return err
		}
		res = cs.p.AppendCoordinatorBatch(&batch)
	}
	if res.Err != nil {
		return fmt.Errorf("append: %v %s", res.Err, res.Reason)
	}
	if res.BaseOffset != tb.BaseOffset {
		return fmt.Errorf("transactional append landed at offset %d; the coordinator expected %d", res.BaseOffset, tb.BaseOffset)
	}
	return nil
}
