// Package recordtest builds valid v2 record batches for tests.
package recordtest

import (
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record"
)

// Options describes a batch to build. The zero value is a non-idempotent,
// uncompressed batch with CreateTime timestamps starting at 0.
type Options struct {
	ProducerID    int64 // -1 for none; the zero value means none too
	Idempotent    bool  // use ProducerID/Epoch/BaseSequence
	ProducerEpoch int16
	BaseSequence  int32
	TimestampMs   int64 // first record's timestamp; each record is 1 ms later
	Transactional bool
	Compression   int8 // codec id, for Keyed only
}

// Batch returns a valid uncompressed v2 batch at base offset 0 holding one
// record per value, each with key nil.
func Batch(opts Options, values ...[]byte) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{
			TimestampDelta64: int64(i),
			OffsetDelta:      int32(i),
			Value:            v,
		}
		// Length is everything after the length varint; a zero Length
		// encodes as one byte.
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		records = r.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       opts.TimestampMs,
		MaxTimestamp:         opts.TimestampMs + int64(len(values)-1),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(values)),
		Records:              records,
	}
	if opts.Idempotent {
		b.ProducerID = opts.ProducerID
		b.ProducerEpoch = opts.ProducerEpoch
		b.FirstSequence = opts.BaseSequence
	}
	if opts.Transactional {
		b.Attributes |= 0x10
	}
	raw := b.AppendTo(nil)
	// Length covers everything after the length field; CRC everything after
	// the CRC field.
	length := int32(len(raw) - 12)
	raw[8], raw[9], raw[10], raw[11] = byte(length>>24), byte(length>>16), byte(length>>8), byte(length)
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	raw[17], raw[18], raw[19], raw[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return raw
}

// KV is one record of Keyed: a nil Key or Value is null (a nil Value is a
// tombstone).
type KV struct {
	Key, Value []byte
}

// Keyed returns a valid v2 batch at base offset 0 holding one record per
// kv, compressed with opts.Compression (a codec id). Timestamps are as in
// Batch.
func Keyed(opts Options, kvs ...KV) []byte {
	var records []byte
	for i, kv := range kvs {
		r := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: kv.Key, Value: kv.Value}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		records = r.AppendTo(records)
	}
	h := record.BatchHeader{
		PartitionLeaderEpoch: -1,
		Attributes:           int16(opts.Compression),
		LastOffsetDelta:      int32(len(kvs) - 1),
		FirstTimestamp:       opts.TimestampMs,
		MaxTimestamp:         opts.TimestampMs + int64(len(kvs)-1),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
	}
	if opts.Idempotent {
		h.ProducerID, h.ProducerEpoch, h.FirstSequence = opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence
	}
	var c record.Codecs
	defer c.Close()
	raw, err := record.AppendBatch(nil, &c, h, records, int32(len(kvs)))
	if err != nil {
		panic(err) // only an unknown codec, a test's own mistake
	}
	return raw
}
