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
// that offset instead of from its start (Kafka's producer state snapshot):
//
//	magic     [8]byte  "weirps01"
//	upTo      int64    the batches below this offset are in the snapshot
//	producers uint32
//	per producer, in increasing id order:
//	  id      int64
//	  epoch   int16
//	  n       uint8    retained batches, at most BatchesRetained
//	  n times: firstSeq int32, lastSeq int32, baseOffset int64,
//	           lastOffset int64, maxTimestamp int64
//	crc       uint32   CRC-32C of everything before it
//
// All integers big endian.
const (
	snapshotMagic      = "weirps01"
	snapshotHeaderSize = len(snapshotMagic) + 8 + 4
	snapshotBatchSize  = 4 + 4 + 8 + 8 + 8
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
	if string(body[:len(snapshotMagic)]) != snapshotMagic {
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
		e := &producerEntry{epoch: int16(binary.BigEndian.Uint16(rest[8:])), n: int(rest[10])}
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
		producers[id] = e
	}
	if len(rest) != 0 {
		return 0, fmt.Errorf("%w: %d bytes after the last producer", ErrSnapshotCorrupt, len(rest))
	}
	p.producers = producers
	return upTo, nil
}
