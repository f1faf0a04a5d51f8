// Package loadgen is a producer load generator: one goroutine producing as
// fast as franz-go (kgo) accepts records, with kgo's asynchronous Produce,
// against any Kafka-compatible bootstrap address.
//
// What it measures: acknowledged records per second and value megabytes
// (10^6 bytes) per second over the measured phase, from its first Produce
// call to its last acknowledgement, and the latency of each record from its
// Produce call to its promise (kgo's acknowledgement callback), kept in an
// HdrHistogram (1 ns to 60 s, 3 significant digits) and reported as p50,
// p99, p99.9 and max in milliseconds. With acks=0 the promise fires once the
// record is written, so the latency is a send latency.
//
// A run: one record produced synchronously (connection, metadata, producer
// ID), then the warm-up for Config.Warmup, flushed, then the measured phase
// of Config.Records records or Config.Duration, flushed. Warm-up records
// count in Result.WarmupRecords only.
//
// Invariants:
//   - The measured load is closed-loop: Produce blocks when kgo holds
//     MaxBufferedRecords unacknowledged records, so latency includes the
//     time a record waits in kgo's buffer.
//   - No per-record allocation by loadgen: records come from a free list
//     refilled by the promises, every record shares one value slice (kgo
//     never writes to it), and the record's own Timestamp (its wire
//     timestamp too) carries the start time to the promise.
//   - Promises run serially on kgo's promise goroutine; the counters and the
//     histogram are guarded by one mutex shared with the free list.
//
// What it must never do: time anything in a test (benchmarks report, they do
// not assert), or leave the client open after Run returns.
package loadgen
