// Package driver runs one benchmark workload (a spec.Spec) against one
// Kafka-compatible bootstrap address with franz-go (kgo) clients and
// measures it.
//
// A run: the producers (spec.Producers kgo clients, one goroutine each)
// produce for Warmup then Duration; the consumers (spec.Consumers kgo
// clients reading disjoint sets of the topics' partitions from offset 0)
// read until they have seen every acknowledged record or DrainTimeout
// passes. Only records whose intended send time falls in the measured
// window [start+Warmup, start+Warmup+Duration) are measured.
//
// What it measures:
//   - Publish latency, from the record's INTENDED send time to its
//     acknowledgement. At a fixed rate (spec.ProducerRate > 0) record k of a
//     producer is intended at start + k/rate, whatever happens: when the
//     producer falls behind (the broker stalls, kgo's buffer is full) the
//     lag is part of every later record's latency, so coordinated omission
//     does not hide stalls. At max rate the intended time is the Produce
//     call. The service latency (from the actual Produce call) is kept too:
//     the difference between the two is the time spent behind schedule.
//   - End-to-end latency, from the intended send time, carried in the
//     record header "weir-bench-ts" (8 bytes, big-endian Unix nanoseconds),
//     to the consumer's poll returning the record.
//   - Throughput: acknowledged records and value bytes over the measured
//     window, consumed records likewise, and a per-second series of all
//     three over the whole run (warm-up and drain included, each sample
//     labelled with its phase).
//
// Histograms are HdrHistograms of nanoseconds, 1 ns to 60 s, 3 significant
// digits; latencies beyond 60 s are clamped to 60 s.
//
// Invariants: records are reused through a free list once their promise
// has run (no per-record allocation in the steady state); promises run on
// kgo's promise goroutine and only take their producer's own mutex; every
// client is closed before Run returns.
package driver
