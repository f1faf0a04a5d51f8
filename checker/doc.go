// Package checker judges a queue history (package history): it reads only
// what the clients saw and reports anomalies, each with the witnesses (the
// positions, values and op indexes) that show it.
//
// One file per anomaly:
//
//   - lost-write (lost_write.go): an acknowledged send that is not read at
//     the partition and offset it was acknowledged at, although that offset
//     was covered: some poll read a later offset of the partition, or an ok
//     final read went through the partition's high watermark. Covers the
//     record missing, the offset holding another value, and the value
//     showing up only elsewhere.
//   - duplicate (duplicate.go): one value read at more than one position.
//   - inconsistent-offsets (duplicate.go): one position read holding more
//     than one value.
//   - aborted-read (aborted_read.go): a value of a failed send was read.
//   - nonmonotonic-poll (order.go): one process's successive reads of a
//     partition, without an assign or subscribe in between, went to an
//     offset at or below the previous one.
//   - poll-skip (order.go): such successive reads jumped over an offset some
//     poll read.
//
// Unknown outcomes: an info send, or an invoke never completed, may or may
// not have happened. Its value may be read (not an anomaly) and it is never
// counted lost. A fail send definitely did not happen, so reading its value
// is an anomaly; the workload decides which errors are definite.
//
// Offsets need not be contiguous (control records take offsets no consumer
// sees), so a gap is only a skip when another read shows a record in it.
// A send that no read covers is unseen, not lost: a consumer may just not
// have got there.
//
// The output is deterministic: maps are walked in sorted order, witnesses
// are sorted, and encoding/json writes map keys sorted. The package keeps no
// package-level mutable state.
package checker
