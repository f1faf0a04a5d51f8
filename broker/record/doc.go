// Package record validates and edits Kafka record batches (message format
// v2, "magic 2") as raw bytes.
//
// The broker stores batches exactly as producers sent them; this package is
// the only place that looks inside. It parses the 61-byte batch header with
// franz-go's kmsg.RecordBatch (no hand-written wire decoding), checks the
// framing and CRC-32C, and rewrites the two fields a broker may change: the
// base offset and, for LogAppendTime topics, the max timestamp (which changes
// the CRC).
//
// For the log cleaner (compaction), and only for it, it also looks inside
// records: Codecs decompresses and recompresses record sections (gzip,
// snappy in the Java client's xerial framing, LZ4 frames, zstd), always
// within a size limit the caller sets, NextRecord walks the records of a
// section without copying, and AppendBatch builds a batch around a records
// section, computing its length and CRC.
//
// Invariants:
//   - Parse never copies or retains the bytes it is given; Batch.Raw aliases
//     the caller's slice.
//   - A batch that Parse accepts has magic 2, a length field that matches the
//     bytes, a correct CRC-32C, a non-negative record count and
//     lastOffsetDelta == records-1 for non-empty, non-compacted batches; a
//     corrupt batch is never accepted.
//   - Old message formats (magic 0 and 1) are reported as ErrOldMagic so the
//     broker can answer UNSUPPORTED_VERSION as Kafka 4.0 does.
package record
