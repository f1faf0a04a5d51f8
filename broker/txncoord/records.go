package txncoord

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record versions written, as Kafka 4.0 writes them: key version 0
// (TxnMetadataKey); value version 1 (flexible, with the KIP-890 tagged
// fields: previous and next producer ids, the client's transaction
// version). Kafka 3.5+ reads them.
const (
	txnKeyVersion       = 0
	txnValueVersion     = 1
	maxKnownValueVer    = 1
	clientTV2, clientTV = 2, 0
)

// ErrLoaded is returned by Replay after FinishLoad.
var ErrLoaded = errors.New("txncoord: shard already loaded")

// write queues the record of m as it is now.
func (s *Shard) write(m *txnMeta) {
	k := kmsg.TxnMetadataKey{Version: txnKeyVersion, TransactionalID: m.id}
	v := kmsg.NewTxnMetadataValue()
	v.Version = txnValueVersion
	v.ProducerID, v.ProducerEpoch, v.TimeoutMillis = m.producerID, m.epoch, m.timeoutMs
	v.State = kmsg.TransactionState(m.state)
	v.LastUpdateTimestamp, v.StartTimestamp = m.updateMs, m.startMs
	v.PreviousProducerID, v.NextProducerID = m.prevProducerID, m.nextProducerID
	v.ClientTransactionVersion = clientTV
	if m.tv2 {
		v.ClientTransactionVersion = clientTV2
	}
	for _, tp := range m.sortedPartitions() {
		if n := len(v.Topics); n > 0 && v.Topics[n-1].Topic == tp.Topic {
			v.Topics[n-1].Partitions = append(v.Topics[n-1].Partitions, tp.Partition)
			continue
		}
		t := kmsg.NewTxnMetadataValueTopic()
		t.Topic, t.Partitions = tp.Topic, []int32{tp.Partition}
		v.Topics = append(v.Topics, t)
	}
	s.emit(Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)})
}

func tombstone(id string) Record {
	k := kmsg.TxnMetadataKey{Version: txnKeyVersion, TransactionalID: id}
	return Record{Key: k.AppendTo(nil)}
}

// Replay applies one record read back from the shard's partition, in log
// order, while loading. Keys of versions it does not know are skipped
// (Skipped); a record of a known version that does not decode is an error
// the caller decides about. Replay copies what it keeps.
func (s *Shard) Replay(key, value []byte) error {
	if !s.loading {
		return ErrLoaded
	}
	r := kbin.Reader{Src: key}
	if version := r.Int16(); !r.Ok() || version != txnKeyVersion {
		s.skipped++
		return nil
	}
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return fmt.Errorf("txncoord: transaction key: %w", err)
	}
	if value == nil {
		delete(s.txns, k.TransactionalID)
		return nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return fmt.Errorf("txncoord: transactional id %q: value: %w", k.TransactionalID, err)
	}
	if v.Version < 0 || v.Version > maxKnownValueVer {
		return fmt.Errorf("txncoord: transactional id %q: value version %d is unknown", k.TransactionalID, v.Version)
	}
	state := State(v.State)
	if state < Empty || state > PrepareEpochFence || state == PrepareEpochFence {
		return fmt.Errorf("txncoord: transactional id %q: state %d cannot be in the log", k.TransactionalID, v.State)
	}
	if state == Dead {
		delete(s.txns, k.TransactionalID)
		return nil
	}
	m := &txnMeta{
		id: k.TransactionalID, producerID: v.ProducerID, prevProducerID: v.PreviousProducerID,
		nextProducerID: v.NextProducerID, epoch: v.ProducerEpoch, lastEpoch: noProducer,
		timeoutMs: v.TimeoutMillis, state: state, partitions: map[TopicPartition]bool{},
		startMs: v.StartTimestamp, updateMs: v.LastUpdateTimestamp,
		tv2: v.ClientTransactionVersion >= clientTV2,
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			m.partitions[TopicPartition{Topic: t.Topic, Partition: p}] = true
		}
	}
	s.txns[m.id] = m
	return nil
}

// Skipped is how many records Replay did not understand.
func (s *Shard) Skipped() int { return s.skipped }

// Prepared is how many transactions are prepared (PrepareCommit or
// PrepareAbort): after a load, those whose markers it sends again, at
// once or once the loaded log is durable.
func (s *Shard) Prepared() int {
	n := 0
	for _, m := range s.txns {
		if m.state == PrepareCommit || m.state == PrepareAbort {
			n++
		}
	}
	return n
}

// FinishLoad ends loading: endOffset is the partition's log end (all of it
// durable), where the shard's next batch goes, and coordinatorEpoch the
// partition's leader epoch. Transactions found prepared are ended again:
// their marker jobs are in the Output (the old coordinator may have
// written some, none or all of the markers; writing one twice is harmless).
// Ongoing ones keep their start time, so those past their timeout are
// aborted at the next Tick; a start or update time ahead of nowMs (an
// older coordinator's clock was ahead of this one's: the broker came back
// with its wall clock behind, which its steady clock keeps) is taken as
// nowMs, so the timeout fires at most timeout after the load rather than
// as much later as the clocks differ (simulator seed 64964: a transaction
// left open past the final read).
func (s *Shard) FinishLoad(nowMs int64, endOffset int64, coordinatorEpoch int32) Output {
	return s.FinishLoadDurable(nowMs, endOffset, endOffset, coordinatorEpoch)
}

// FinishLoadDurable is FinishLoad for a log durable only up to durable
// (the partition's high watermark: a new leader whose followers have not
// caught up yet). The state loaded from the records beyond it is not
// durable: if this leader goes before they are, a new one may not have
// them. So, as for the shard's own records, answers wait until Durable
// reports endOffset, and so do the marker jobs of the transactions found
// prepared: a prepare record that a later leader does not have must not
// have ended the transaction in any partition (simulator seed 66184: a
// new leader sent the commit markers of a prepare record that only it and
// a crashed broker had, handed over to a follower without it, whose
// coordinator then aborted the transaction: one partition committed, the
// other aborted).
func (s *Shard) FinishLoadDurable(nowMs int64, endOffset, durable int64, coordinatorEpoch int32) Output {
	s.begin(nowMs)
	s.loading = false
	s.nextOffset, s.durable = endOffset, min(durable, endOffset)
	s.coordEpoch = coordinatorEpoch
	for _, id := range s.sortedIDs() {
		m := s.txns[id]
		m.startMs, m.updateMs = min(m.startMs, s.now), min(m.updateMs, s.now)
		if m.state == PrepareCommit || m.state == PrepareAbort {
			s.markers = append(s.markers, MarkerJob{
				TransactionalID: m.id, ProducerID: m.producerID, ProducerEpoch: m.epoch,
				Commit: m.state == PrepareCommit, CoordinatorEpoch: s.coordEpoch, TV2: m.tv2,
				Partitions: m.sortedPartitions(),
			})
		}
	}
	return s.end()
}

// withError turns a held reply into the same request's failure with code.
func withError(resp kmsg.Response, code int16) kmsg.Response {
	switch r := resp.(type) {
	case *kmsg.InitProducerIDResponse:
		r.ErrorCode, r.ProducerID, r.ProducerEpoch = code, noProducer, noProducer
	case *kmsg.AddPartitionsToTxnResponse:
		if r.Version >= 4 {
			r.ErrorCode = code
		}
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
		for i := range r.Transactions {
			for j := range r.Transactions[i].Topics {
				for k := range r.Transactions[i].Topics[j].Partitions {
					r.Transactions[i].Topics[j].Partitions[k].ErrorCode = code
				}
			}
		}
	case *kmsg.AddOffsetsToTxnResponse:
		r.ErrorCode = code
	case *kmsg.EndTxnResponse:
		r.ErrorCode, r.ProducerID, r.ProducerEpoch = code, noProducer, noProducer
	case *kmsg.DescribeTransactionsResponse:
		for i := range r.TransactionStates {
			r.TransactionStates[i] = describeError(r.TransactionStates[i].TransactionalID, code)
		}
	case *kmsg.ListTransactionsResponse:
		r.ErrorCode, r.TransactionStates = code, nil
	}
	return resp
}

// Dump describes every transactional id, one line each, sorted: for tests
// and debugging.
func (s *Shard) Dump() string {
	var b strings.Builder
	for _, id := range s.sortedIDs() {
		m := s.txns[id]
		fmt.Fprintf(&b, "%s %v producer=%d epoch=%d", id, m.state, m.producerID, m.epoch)
		if m.prevProducerID != noProducer {
			fmt.Fprintf(&b, " prev=%d", m.prevProducerID)
		}
		if m.nextProducerID != noProducer {
			fmt.Fprintf(&b, " next=%d", m.nextProducerID)
		}
		fmt.Fprintf(&b, " timeout=%d start=%d", m.timeoutMs, m.startMs)
		if m.tv2 {
			b.WriteString(" tv2")
		}
		for _, tp := range m.sortedPartitions() {
			fmt.Fprintf(&b, " %s/%d", tp.Topic, tp.Partition)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
