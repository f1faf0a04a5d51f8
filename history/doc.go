// Package history records what the clients of a workload saw: a list of
// operations, each an invoke followed by exactly one completion of the same
// process (ok, fail or info), with the time of each and the values the
// client sent or received. Checkers read only a history.
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
// Several processes may share one client (a kgo client): each send names
// the client incarnation it went through (Send.Client), so the order a
// client promises can be judged per client.
//
// Values of the queue workload live in typed fields of Op (Send, Poll, Txn,
// Assign, Subscribe, Final), one per function; the F field names the
// function. Partition, offset and watermark fields hold Unknown (-1) when
// the client does not know them. Every partition read of a poll carries the
// high watermark and log start offset the broker answered with, also when
// it returned no records. A txn op carries several sends and polls done
// through one client (Jepsen's txn mode; with Txn.Transactional, one Kafka
// transaction, and Txn.CommitTime when the client asked to commit). An
// assign or subscribe says whether its client reads read_committed. The final op wraps the final reader's polls and ends with a
// mark per partition saying how far it read.
//
// Consumer-group members (version 4): a join starts a member (a client in
// a group; a consumer session of its process, like a subscribe) and names
// the member's events process, on which every change of its partitions is
// an assignment op (member id, generation, event, every partition owned
// after it) recorded when the client reported it, while the member's own
// process may have a poll open. Commit ops carry the offsets (with leader
// epoch and metadata) and each partition's answer; offsets ops carry what
// an OffsetFetch of the group returned. A transactional txn op may carry
// the consumer offsets its transaction committed for a group (version 5:
// Txn.Group and Txn.Offsets), which count only if it committed.
//
// Compacted topics (version 6): a send may be a tombstone (Send.Tombstone:
// the record's value is null, and the history's unique value travels in
// the record's header TombstoneHeader, so a read of it is matched to its
// send like any other; Record.Tombstone on the read). A final op names a
// topic with cleanup.policy=compact (Final.Compacted): the log cleaner may
// remove every record of it but each key's last, so the checkers judge it
// by the last record of each key.
//
// Leader epochs (version 7): a partition read may carry the leader epoch
// its client's fetch was answered in at the latest
// (PartitionRead.LeaderEpoch) and the leader epochs its records were
// appended in (PartitionRead.Epochs), so that a checker can tell a read a
// deposed leader answered from one the current leader did.
//
// Time: Op.Time is nanoseconds since the run's start (the Recorder is given
// the start), virtual time in the simulation, so a history, its verdict and
// trace.log use one time base; people read it as seconds (Seconds).
//
// history.jsonl starts with a header line {"format":"weir-history",
// "version":7} and then holds one JSON object per op in the field order of
// Op, so the same history always encodes to the same bytes. Decode reads
// versions 2 to 7 (3, 5, 6 and 7 added optional fields, 4 new functions) and rejects a missing or
// other header, unknown fields and malformed operations;
// Validate checks the invoke/complete pairing. Decode is fuzzed
// (FuzzDecode): whatever it accepts re-encodes to a history it decodes the
// same.
//
// Invariants: the package keeps no package-level mutable state; a Recorder
// is safe for concurrent use and hands out indexes 0, 1, 2, ... and
// non-decreasing times in the order operations were recorded; an Op given
// to a Recorder belongs to it and must not be changed afterwards.
package history
