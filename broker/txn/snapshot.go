package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/weir-dev/weir/internal/checksum"
)

// A snapshot is the state of a PartitionProducers after every batch below
// an offset of the log was applied, so that a restart replays the log from
// that offset instead of from its start (Kafka's producer state snapshot).
// Version 2 (written now) adds the transaction state: each producer's open
// transaction and last coordinator epoch, and the partition's aborted
// transactions, which is how Weir keeps what Kafka keeps in its per-segment
// .txnindex files:
//
//	magic     [8]byte  "weirps02" ("weirps01": version 1, still read)
//	upTo      int64    the batches below this offset are in the snapshot
//	producers uint32
//	per producer, in increasing id order:
//	  id      int64
//	  epoch   int16
//	  n       uint8    retained batches, at most BatchesRetained
//	  n times: firstSeq int32, lastSeq int32, baseOffset int64,
//	           lastOffset int64, maxTimestamp int64
//	  v2: coordEpoch int32, txnFirst int64 (-1: no transaction open)
//	v2: aborted uint32
//	v2: per aborted transaction, in marker order:
//	  producerID int64, firstOffset int64, lastOffset int64, lastStable int64
//	crc       uint32   CRC-32C of everything before it
//
// All integers big endian. Ended transactions whose marker may not be below
// the high watermark yet are not kept: every batch below upTo was synced
// when the snapshot was written, and the high watermark restarts from the
// log after a restart.
const (
	snapshotMagic      = "weirps02"
	snapshotMagicV1    = "weirps01"
	snapshotHeaderSize = len(snapshotMagic) + 8 + 4
	snapshotBatchSize  = 4 + 4 + 8 + 8 + 8
	snapshotTxnSize    = 4 + 8
	snapshotAbortSize  = 8 + 8 + 8 + 8
)

// ErrSnapshotCorrupt means a snapshot's bytes are not one AppendSnapshot
// wrote: wrong length, magic, checksum or contents.
var ErrSnapshotCorrupt = errors.New("txn: producer state snapshot is corrupt")

// AppendSnapshot appends to buf the snapshot of the state, which must hold
// exactly the batches below upTo. The encoding is the same for the same
// state.
func (p *PartitionProducers) AppendSnapshot(buf []byte, upTo int64) []byte {
	start := len(buf)
	buf = append(buf, snapshotMagic...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(upTo))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(p.producers)))
	ids := make([]int64, 0, len(p.producers))
	for id := range p.producers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := p.producers[id]
		buf = binary.BigEndian.AppendUint64(buf, uint64(id))
		buf = binary.BigEndian.AppendUint16(buf, uint16(e.epoch))
		buf = append(buf, byte(e.n))
		for _, m := range e.batches[:e.n] {
			buf = binary.BigEndian.AppendUint32(buf, uint32(m.FirstSequence))
			buf = binary.BigEndian.AppendUint32(buf, uint32(m.LastSequence))
			buf = binary.BigEndian.AppendUint64(buf, uint64(m.BaseOffset))
			buf = binary.BigEndian.AppendUint64(buf, uint64(m.LastOffset))
			buf = binary.BigEndian.AppendUint64(buf, uint64(m.MaxTimestamp))
		}
		txnFirst := int64(-1)
		if e.inTxn {
			txnFirst = e.txnFirst
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(e.coordEpoch))
		buf = binary.BigEndian.AppendUint64(buf, uint64(txnFirst))
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(p.aborted)))
	for _, a := range p.aborted {
		buf = binary.BigEndian.AppendUint64(buf, uint64(a.ProducerID))
		buf = binary.BigEndian.AppendUint64(buf, uint64(a.FirstOffset))
		buf = binary.BigEndian.AppendUint64(buf, uint64(a.LastOffset))
		buf = binary.BigEndian.AppendUint64(buf, uint64(a.LastStable))
	}
	return checksum.Append(buf, start)
}

// RestoreSnapshot replaces the state with the snapshot in data and returns
// the offset it covers up to. On an error the state is unchanged.
func (p *PartitionProducers) RestoreSnapshot(data []byte) (upTo int64, err error) {
	if len(data) < snapshotHeaderSize+4 {
		return 0, fmt.Errorf("%w: %d bytes", ErrSnapshotCorrupt, len(data))
	}
	body, got, want, ok := checksum.Split(data)
	if !ok {
		return 0, fmt.Errorf("%w: checksum %08x, snapshot says %08x", ErrSnapshotCorrupt, got, want)
	}
	v2 := string(body[:len(snapshotMagic)]) == snapshotMagic
	if !v2 && string(body[:len(snapshotMagicV1)]) != snapshotMagicV1 {
		return 0, fmt.Errorf("%w: does not start with %q", ErrSnapshotCorrupt, snapshotMagic)
	}
	upTo = int64(binary.BigEndian.Uint64(body[len(snapshotMagic):]))
	count := binary.BigEndian.Uint32(body[len(snapshotMagic)+8:])
	rest := body[snapshotHeaderSize:]
	// Each producer takes at least 11 bytes: a count beyond that is not ours,
	// and must not size an allocation.
	if upTo < 0 || uint64(count)*11 > uint64(len(rest)) {
		return 0, fmt.Errorf("%w: %d producers up to offset %d in %d bytes", ErrSnapshotCorrupt, count, upTo, len(rest))
	}
	producers := make(map[int64]*producerEntry, count)
	last := int64(-1)
	for range count {
		if len(rest) < 11 {
			return 0, fmt.Errorf("%w: truncated", ErrSnapshotCorrupt)
		}
		id := int64(binary.BigEndian.Uint64(rest))
		e := newEntry(int16(binary.BigEndian.Uint16(rest[8:])))
		e.n = int(rest[10])
		rest = rest[11:]
		if id <= last || e.n > BatchesRetained || len(rest) < e.n*snapshotBatchSize {
			return 0, fmt.Errorf("%w: producer %d", ErrSnapshotCorrupt, id)
		}
		last = id
		for i := range e.n {
			e.batches[i] = BatchMeta{
				FirstSequence: int32(binary.BigEndian.Uint32(rest)),
				LastSequence:  int32(binary.BigEndian.Uint32(rest[4:])),
				BaseOffset:    int64(binary.BigEndian.Uint64(rest[8:])),
				LastOffset:    int64(binary.BigEndian.Uint64(rest[16:])),
				MaxTimestamp:  int64(binary.BigEndian.Uint64(rest[24:])),
			}
			if m := e.batches[i]; m.BaseOffset > m.LastOffset || m.LastOffset >= upTo {
				return 0, fmt.Errorf("%w: producer %d: batch at offsets %d-%d, snapshot up to %d", ErrSnapshotCorrupt, id, m.BaseOffset, m.LastOffset, upTo)
			}
			rest = rest[snapshotBatchSize:]
		}
		if v2 {
			if len(rest) < snapshotTxnSize {
				return 0, fmt.Errorf("%w: producer %d: truncated", ErrSnapshotCorrupt, id)
			}
			e.coordEpoch = int32(binary.BigEndian.Uint32(rest))
			if first := int64(binary.BigEndian.Uint64(rest[4:])); first >= 0 {
				if first >= upTo {
					return 0, fmt.Errorf("%w: producer %d: transaction open at %d, snapshot up to %d", ErrSnapshotCorrupt, id, first, upTo)
				}
				e.inTxn, e.txnFirst = true, first
			}
			rest = rest[snapshotTxnSize:]
		}
		producers[id] = e
	}
	var aborted []AbortedTxn
	if v2 {
		if len(rest) < 4 {
			return 0, fmt.Errorf("%w: truncated before the aborted transactions", ErrSnapshotCorrupt)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n)*uint64(snapshotAbortSize) != uint64(len(rest)) {
			return 0, fmt.Errorf("%w: %d aborted transactions in %d bytes", ErrSnapshotCorrupt, n, len(rest))
		}
		aborted = make([]AbortedTxn, n)
		for i := range aborted {
			a := AbortedTxn{
				ProducerID:  int64(binary.BigEndian.Uint64(rest)),
				FirstOffset: int64(binary.BigEndian.Uint64(rest[8:])),
				LastOffset:  int64(binary.BigEndian.Uint64(rest[16:])),
				LastStable:  int64(binary.BigEndian.Uint64(rest[24:])),
			}
			if a.FirstOffset > a.LastOffset || a.LastOffset >= upTo || (i > 0 && a.LastOffset <= aborted[i-1].LastOffset) {
				return 0, fmt.Errorf("%w: aborted transaction %d at offsets %d-%d", ErrSnapshotCorrupt, i, a.FirstOffset, a.LastOffset)
			}
			aborted[i] = a
			rest = rest[snapshotAbortSize:]
		}
	}
	if len(rest) != 0 {
		return 0, fmt.Errorf("%w: %d bytes after the last producer", ErrSnapshotCorrupt, len(rest))
	}
	p.producers, p.aborted = producers, aborted
	clear(p.verifying)
	p.rebuildOpen()
	return upTo, nil
}
