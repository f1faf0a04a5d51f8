// Package group is Kafka's group coordinator for the classic group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and committed offsets
// (OffsetCommit, OffsetFetch, OffsetDelete), with DescribeGroups, ListGroups
// and DeleteGroups, as a state machine without I/O: etcd-raft's RawNode is
// the model. A [Shard] holds the groups of one __consumer_offsets partition;
// the broker (the shell) feeds it requests, the time, and how far that
// partition's log is durable, and carries out what it decides:
//
//   - [Output.Batch]: records to append to the partition, at exactly the
//     offset the shard names (only the coordinator writes there);
//   - [Output.Replies]: answers to requests, including ones parked earlier
//     (a JoinGroup waits for the rest of the group, a SyncGroup for the
//     leader's assignment): the shell passes a [Waiter] with each request and
//     gets the answer back in this or a later Output;
//   - [Shard.NextDeadline]: when to call [Shard.Tick] next. Session, rebalance,
//     initial-delay, pending-sync and offset-expiration timeouts are all
//     decisions taken on time inputs; the shell keeps one timer per shard.
//
// The rules are Kafka's (GroupMetadataManager, ClassicGroup and
// OffsetMetadataManager of Kafka 3.7+, whose behaviour the classic protocol
// keeps in 4.0): states Empty, PreparingRebalance, CompletingRebalance,
// Stable and Dead; generations; KIP-394 member ids (a JoinGroup v4+ with an
// empty member id is answered MEMBER_ID_REQUIRED with an id to join with);
// KIP-345 static members (group.instance.id) and FENCED_INSTANCE_ID; the
// initial rebalance delay; client-side assignors, the protocol metadata and
// assignments staying opaque bytes except the subscribed topics of the
// "consumer" protocol, which Kafka reads for offset expiration and
// OffsetDelete; REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
// and INCONSISTENT_GROUP_PROTOCOL where Kafka returns them.
//
// Offsets committed inside a transaction (TxnOffsetCommit, [Shard.TxnCommit])
// are written in a transactional batch of the producer ([Output.TxnBatch])
// and stay pending until the transaction's marker lands in the partition
// ([Shard.CompleteTxn], which writes it): a commit applies them (unless a
// plain commit of the partition was written after them), an abort discards
// them. Meanwhile OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for them, and the group is not deleted or expired.
//
// Persistence uses Kafka's __consumer_offsets record formats (kmsg's
// OffsetCommitKey/Value and GroupMetadataKey/Value): a commit, a completed
// assignment, a group becoming empty or deleted, an expired offset. A new
// shard rebuilds its state from those records ([Shard.Replay],
// [Shard.ReplayTxnOffset] and [Shard.ReplayMarker], then
// [Shard.FinishLoad]), which is how a coordinator takes over a partition
// after a restart or a leadership change.
//
// Invariants:
//   - A reply is released only once every record the shard emitted before
//     the reply was decided is durable ([Shard.Durable]): no client ever
//     sees a commit, a generation or an assignment that a crash can take
//     back. State changes are applied at once; reads computed from them wait
//     with the rest.
//   - Every parked request is answered exactly once: when its phase
//     completes, when its member is removed, fenced or superseded by a newer
//     request of the same member, or with NOT_COORDINATOR by [Shard.Unload].
//   - Time never goes backwards inside a shard: an earlier time input is
//     taken as the latest one seen.
//   - The shard copies every byte it keeps: callers may reuse request
//     buffers once the call returns.
//   - No I/O, no goroutines, no clock and no randomness of its own: member
//     ids come from the IDSource it is given. The same inputs give the same
//     outputs, so scenario tests and the simulator replay exactly.
//
// Config.Defects plants known bugs (a reply before its records are
// durable, one assignment for every member, a parked SyncGroup never
// answered, a leader epoch not persisted, an OffsetFetch answering a
// topic's highest offset for each of its partitions, a commit of an older
// generation accepted) so that the properties of this
// package, and later the simulator's checkers, can show they catch them.
//
// A Shard is not safe for concurrent use; the shell serializes calls.
package group
