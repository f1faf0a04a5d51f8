package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// HeaderSize is the size of a v2 batch header up to and including the record
// count: everything before the records.
const HeaderSize = 61

// Byte offsets of fields inside a v2 batch.
const (
	offBaseOffset   = 0
	offLength       = 8
	offLeaderEpoch  = 12
	offMagic        = 16
	offCRC          = 17
	offAttributes   = 21 // CRC covers from here to the end
	offMaxTimestamp = 35
)

// Attribute bits.
const (
	CompressionMask   = 0x07
	TimestampTypeBit  = 0x08 // 1 = LogAppendTime
	TransactionalBit  = 0x10
	ControlBit        = 0x20
	DeleteHorizonBit  = 0x40
	noSequence        = -1
	minBatchLengthFld = HeaderSize - 12 // smallest valid value of the length field
)

var (
	// ErrTruncated means the bytes end before the batch does.
	ErrTruncated = errors.New("record: truncated batch")
	// ErrCorrupt means the batch framing or CRC is wrong.
	ErrCorrupt = errors.New("record: corrupt batch")
	// ErrOldMagic means the batch uses message format v0 or v1.
	ErrOldMagic = errors.New("record: message format v0/v1 is not supported")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Batch is a parsed, validated v2 record batch.
type Batch struct {
	kmsg.RecordBatch
	// Raw is the whole batch, aliasing the parsed bytes.
	Raw []byte
}

// Size returns the batch's size in bytes.
func (b *Batch) Size() int { return len(b.Raw) }

// LastOffset is the offset of the batch's last record.
func (b *Batch) LastOffset() int64 { return b.FirstOffset + int64(b.LastOffsetDelta) }

// Compression returns the compression codec id (0 none, 1 gzip, 2 snappy,
// 3 lz4, 4 zstd).
func (b *Batch) Compression() int8 { return int8(b.Attributes & CompressionMask) }

// IsTransactional reports whether the batch belongs to a transaction.
func (b *Batch) IsTransactional() bool { return b.Attributes&TransactionalBit != 0 }

// IsControl reports whether the batch holds a control record.
func (b *Batch) IsControl() bool { return b.Attributes&ControlBit != 0 }

// HasProducerID reports whether the batch was sent by an idempotent or
// transactional producer.
func (b *Batch) HasProducerID() bool { return b.ProducerID >= 0 }

// LastSequence is the sequence number of the batch's last record, wrapping
// at MaxInt32 as Kafka does.
func (b *Batch) LastSequence() int32 {
	if b.FirstSequence == noSequence {
		return noSequence
	}
	return IncrementSequence(b.FirstSequence, b.LastOffsetDelta)
}

// IncrementSequence adds delta to seq, wrapping past MaxInt32 to 0.
func IncrementSequence(seq, delta int32) int32 {
	if seq > (1<<31-1)-delta {
		return delta - ((1<<31 - 1) - seq) - 1
	}
	return seq + delta
}

// PeekSize reports the total size of the batch that starts at b, from its
// length field, or ErrTruncated if b is too short to hold the length field.
// It validates nothing else.
func PeekSize(b []byte) (int, error) {
	if len(b) < offMagic+1 {
		return 0, ErrTruncated
	}
	n := int32(binary.BigEndian.Uint32(b[offLength:]))
	if b[offMagic] != 2 {
		return 0, ErrOldMagic
	}
	if n < minBatchLengthFld {
		return 0, fmt.Errorf("%w: length field %d is below the minimum %d", ErrCorrupt, n, minBatchLengthFld)
	}
	return 12 + int(n), nil
}

// Parse validates the batch at the start of b and returns it. Bytes after
// the batch are ignored; Batch.Raw covers exactly the batch.
func Parse(b []byte) (Batch, error) {
	size, err := PeekSize(b)
	if err != nil {
		return Batch{}, err
	}
	if len(b) < size {
		return Batch{}, ErrTruncated
	}
	raw := b[:size:size]
	var out Batch
	if err := out.RecordBatch.UnsafeReadFrom(raw); err != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	out.Raw = raw
	if got := crc32.Checksum(raw[offAttributes:], castagnoli); got != uint32(out.CRC) {
		return Batch{}, fmt.Errorf("%w: crc %08x, batch says %08x", ErrCorrupt, got, uint32(out.CRC))
	}
	if out.NumRecords < 0 || out.LastOffsetDelta < 0 {
		return Batch{}, fmt.Errorf("%w: %d records, last offset delta %d", ErrCorrupt, out.NumRecords, out.LastOffsetDelta)
	}
	if out.Attributes&CompressionMask > 4 {
		return Batch{}, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, out.Attributes&CompressionMask)
	}
	return out, nil
}

// ValidateProduced applies the checks Kafka makes on a batch a producer
// sent, beyond Parse: it must hold at least one record, its offset delta must
// match its record count, and an uncompressed batch's records must frame
// exactly to its end.
func ValidateProduced(b *Batch) error {
	if b.NumRecords == 0 {
		return fmt.Errorf("%w: batch holds no records", ErrCorrupt)
	}
	if b.LastOffsetDelta != b.NumRecords-1 {
		return fmt.Errorf("%w: last offset delta %d does not match %d records", ErrCorrupt, b.LastOffsetDelta, b.NumRecords)
	}
	if b.Compression() == 0 {
		n, err := countRecords(b.Records)
		if err != nil {
			return err
		}
		if n != int(b.NumRecords) {
			return fmt.Errorf("%w: batch says %d records, holds %d", ErrCorrupt, b.NumRecords, n)
		}
	}
	return nil
}

// countRecords counts length-prefixed (zigzag varint) records.
func countRecords(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		l, w := binary.Varint(b)
		if w <= 0 || l < 0 || int64(len(b)-w) < l {
			return 0, fmt.Errorf("%w: record %d framing", ErrCorrupt, n)
		}
		b = b[w+int(l):]
		n++
	}
	return n, nil
}

// SetBaseOffset rewrites the base offset of the batch in raw. The CRC does
// not cover the base offset, so it stays valid.
func SetBaseOffset(raw []byte, offset int64) {
	binary.BigEndian.PutUint64(raw[offBaseOffset:], uint64(offset))
}

// SetLeaderEpoch rewrites the partition leader epoch; not covered by the CRC.
func SetLeaderEpoch(raw []byte, epoch int32) {
	binary.BigEndian.PutUint32(raw[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch as LogAppendTime with the given max
// timestamp (ms) and recomputes the CRC.
func SetLogAppendTime(raw []byte, timestampMs int64) {
	attrs := binary.BigEndian.Uint16(raw[offAttributes:]) | TimestampTypeBit
	binary.BigEndian.PutUint16(raw[offAttributes:], attrs)
	binary.BigEndian.PutUint64(raw[offMaxTimestamp:], uint64(timestampMs))
	binary.BigEndian.PutUint32(raw[offCRC:], crc32.Checksum(raw[offAttributes:], castagnoli))
}
