// Package epoch is a partition's leader-epoch cache: for each leader epoch
// that wrote to the log, the offset of its first batch (Kafka's
// LeaderEpochFileCache), persisted as leader-epoch-checkpoint in the
// partition's directory in Kafka's text format.
//
// It is what replication uses to find where two replicas' logs diverge
// (KIP-101, KIP-279, KIP-320): a follower asks the leader where the
// follower's latest epoch ends in the leader's log (OffsetForLeaderEpoch,
// answered by EndOffsetFor), or tells it in a Fetch (last fetched epoch),
// and truncates what lies past that point.
//
// Who calls what:
//   - Assign(epoch, logEnd) when the replica becomes leader of epoch, and
//     Assign(batch's partition leader epoch, batch's base offset) for every
//     batch appended, by a leader or a follower, before the append;
//   - TruncateFromEnd(offset) after the log is truncated to offset;
//     TruncateFromStart(offset) after the log start moves up; Clear after
//     the log is emptied and restarted;
//   - Open at partition open, after log recovery.
//
// Invariants:
//   - Entries are strictly increasing in epoch and in start offset (a
//     failed check panics under the `invariants` build tag).
//   - The checkpoint on disk never describes less than the log holds: it is
//     written (fsynced, atomically renamed) before Assign returns, so before
//     the batch that needed the new entry is appended. It may describe
//     more (an epoch whose batches a crash took); Open trims every entry at
//     or past the log's end.
//   - A checkpoint is used only if agreeingReads identical reads of it
//     decode strictly; otherwise it is rebuilt from the log's batches, which
//     carry their epoch in every v2 header, and rewritten.
//   - Safe for concurrent use; no goroutines, no package-level mutable
//     state; all I/O through env.FS.
//
// Never: return an end offset for an epoch from a cache that was not
// trimmed to its log, or let an entry's epoch or start go backwards.
package epoch
