package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one record of a batch as stored, a view into the batch's
// (uncompressed) records section: nothing is copied.
//
// The v2 record layout is: length (varint, of everything after it),
// attributes (int8), timestamp delta (varlong), offset delta (varint), key
// length (varint, -1 for null) and key, value length (varint, -1 for null)
// and value, then the headers.
type Record struct {
	// Raw is the whole record, its length varint included.
	Raw            []byte
	TimestampDelta int64
	OffsetDelta    int32
	// Key and Value are nil when null; a null value is a tombstone.
	Key   []byte
	Value []byte
	// Headers is the headers section as stored (count and headers),
	// unparsed.
	Headers []byte
}

// HasKey reports whether the key is not null.
func (r *Record) HasKey() bool { return r.Key != nil }

// IsTombstone reports whether the value is null.
func (r *Record) IsTombstone() bool { return r.Value == nil }

// NextRecord parses the record at the start of data and returns it and the
// bytes after it. It checks that the fields it reads fit inside the
// record's length; the headers are not parsed.
func NextRecord(data []byte) (Record, []byte, error) {
	length, w := binary.Varint(data)
	if w <= 0 || length < 1 || length > int64(len(data)-w) {
		return Record{}, nil, fmt.Errorf("%w: record length", ErrCorrupt)
	}
	raw := data[:w+int(length)]
	body := raw[w+1:] // skip the attributes byte
	var r Record
	r.Raw = raw
	var ok bool
	if r.TimestampDelta, body, ok = varlong(body); !ok {
		return Record{}, nil, fmt.Errorf("%w: record timestamp delta", ErrCorrupt)
	}
	var od int64
	if od, body, ok = varlong(body); !ok || od < 0 || od > 1<<31-1 {
		return Record{}, nil, fmt.Errorf("%w: record offset delta", ErrCorrupt)
	}
	r.OffsetDelta = int32(od)
	if r.Key, body, ok = varbytes(body); !ok {
		return Record{}, nil, fmt.Errorf("%w: record key", ErrCorrupt)
	}
	if r.Value, r.Headers, ok = varbytes(body); !ok {
		return Record{}, nil, fmt.Errorf("%w: record value", ErrCorrupt)
	}
	return r, data[len(raw):], nil
}

func varlong(b []byte) (int64, []byte, bool) {
	v, w := binary.Varint(b)
	if w <= 0 {
		return 0, nil, false
	}
	return v, b[w:], true
}

// varbytes reads a varint length and that many bytes; -1 is null (nil).
func varbytes(b []byte) ([]byte, []byte, bool) {
	n, rest, ok := varlong(b)
	switch {
	case !ok || n < -1 || n > int64(len(rest)):
		return nil, nil, false
	case n == -1:
		return nil, rest, true
	}
	return rest[:n:n], rest[n:], true
}

// AppendWithTimestampDelta appends r re-encoded with a new timestamp delta
// (the batch's base timestamp moved), everything else as it was.
func AppendWithTimestampDelta(dst []byte, r *Record, tsDelta int64) ([]byte, error) {
	var kr kmsg.Record
	if err := kr.ReadFrom(r.Raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	kr.TimestampDelta64, kr.TimestampDelta = tsDelta, int32(tsDelta)
	// Length is everything after the length varint. Encode once with a
	// zero length (one byte) to measure, then for real.
	kr.Length = 0
	at := len(dst)
	dst = kr.AppendTo(dst)
	kr.Length = int32(len(dst) - at - 1)
	return kr.AppendTo(dst[:at]), nil
}

// BatchHeader is what AppendBatch writes around the records: every field of
// a v2 batch header except the length, magic and CRC, which it computes.
type BatchHeader struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	Attributes           int16
	LastOffsetDelta      int32
	FirstTimestamp       int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	FirstSequence        int32
}

// HeaderOf returns b's header fields.
func HeaderOf(b *Batch) BatchHeader {
	return BatchHeader{
		BaseOffset:           b.FirstOffset,
		PartitionLeaderEpoch: b.PartitionLeaderEpoch,
		Attributes:           b.Attributes,
		LastOffsetDelta:      b.LastOffsetDelta,
		FirstTimestamp:       b.FirstTimestamp,
		MaxTimestamp:         b.MaxTimestamp,
		ProducerID:           b.ProducerID,
		ProducerEpoch:        b.ProducerEpoch,
		FirstSequence:        b.FirstSequence,
	}
}

// AppendBatch appends a v2 batch with header h holding numRecords records,
// given uncompressed in records and compressed here with the codec of
// h.Attributes (c may be nil for an uncompressed batch). It computes the
// length and CRC-32C.
func AppendBatch(dst []byte, c *Codecs, h BatchHeader, records []byte, numRecords int32) ([]byte, error) {
	b := kmsg.RecordBatch{
		FirstOffset:          h.BaseOffset,
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
		Magic:                2,
		Attributes:           h.Attributes,
		LastOffsetDelta:      h.LastOffsetDelta,
		FirstTimestamp:       h.FirstTimestamp,
		MaxTimestamp:         h.MaxTimestamp,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		FirstSequence:        h.FirstSequence,
		NumRecords:           numRecords,
	}
	at := len(dst)
	dst = b.AppendTo(dst) // a header with an empty records section
	codec := int8(h.Attributes & CompressionMask)
	if codec == CodecNone || len(records) == 0 {
		dst = append(dst, records...)
	} else {
		if c == nil {
			return nil, fmt.Errorf("record: compressing with codec %d needs Codecs", codec)
		}
		var err error
		if dst, err = c.Compress(codec, dst, records); err != nil {
			return nil, err
		}
	}
	raw := dst[at:]
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[offCRC:], crc32.Checksum(raw[offAttributes:], castagnoli))
	return dst, nil
}

// RecordsData returns b's records section uncompressed: b.Records itself
// when the batch is not compressed, else its decompression into dst (reused
// when large enough), at most limit bytes (ErrTooLarge past that).
func (b *Batch) RecordsData(c *Codecs, dst []byte, limit int) ([]byte, error) {
	if b.Compression() == CodecNone {
		return b.Records, nil
	}
	return c.Decompress(b.Compression(), dst, b.Records, limit)
}
