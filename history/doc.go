// Package history records what the clients of a workload saw: a list of
// operations, each an invoke followed by exactly one completion of the same
// process (ok, fail or info), with the virtual time of each and the values
// the client sent or received. Checkers read only a history.
//
// Model (Jepsen's): a process runs one operation at a time. An operation
// that completes
//   - ok happened, with the values in the completion;
//   - fail definitely did not happen (the client knows its request was never
//     applied);
//   - info may or may not have happened (timeout, connection lost). A
//     process whose operation ended info is considered crashed: workloads
//     continue under a new process id, so a process never has two operations
//     open, and an invoke without a completion means the same as info.
//
// Values of the queue workload live in typed fields of Op (Send, Poll,
// Assign, Subscribe, Final), one per function; the F field names the
// function. Partition and offset fields hold Unknown (-1) when the client
// does not know them.
//
// history.jsonl is one JSON object per line in the field order of Op, so the
// same history always encodes to the same bytes. Decode rejects unknown
// fields and malformed operations; Validate checks the invoke/complete
// pairing.
//
// Invariants: the package keeps no package-level mutable state; a Recorder
// is safe for concurrent use and hands out indexes 0, 1, 2, ... in the order
// operations were recorded; an Op given to a Recorder belongs to it and must
// not be changed afterwards.
package history
