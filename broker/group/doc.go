// Package group is Kafka's group coordinator for the classic group protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), the consumer group
// protocol of KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe) and
// committed offsets (OffsetCommit, OffsetFetch, OffsetDelete), with
// DescribeGroups, ListGroups and DeleteGroups, as a state machine without
// I/O: etcd-raft's RawNode is the model. A [Shard] holds the groups of one __consumer_offsets partition;
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
// The consumer protocol (consumer*.go; Kafka 4.0's GroupMetadataManager,
// ConsumerGroup and CurrentAssignmentBuilder, whose rules it follows) lives
// in the same shard: a group is of one protocol at a time. The coordinator
// assigns: a member's heartbeat updates its subscription (topic names or a
// regular expression, matched against whole names), and the group epoch
// moves on when a subscription changes, a member joins or leaves, or the
// subscribed topics change (the shell passes its metadata image, [Topics],
// with every heartbeat). When the group epoch is past the target
// assignment's, the group's server-side assignor ("uniform", sticky and
// balanced, the default; or "range"; the one most members ask for with
// ServerAssignor) computes a new target. Each member then reconciles
// towards its target through its heartbeats: partitions it must give up
// are revoked first, at its current epoch, and it reaches the target
// epoch only once it no longer reports them; a partition of its target
// that another member still owns (assigned or pending revocation) is held
// back until released. Session timeouts (group.consumer.session.timeout.ms)
// and rebalance timeouts (a member revoking for longer than its rebalance
// timeout) fence members, as do leaves (epoch -1; -2 keeps a static
// member's partitions for its return under a new member id). Fencing errors
// are Kafka's: FENCED_MEMBER_EPOCH (an epoch other than the member's, or
// its previous one with partitions it no longer has; epoch 0 rejoins, as
// KAFKA-19233 made it), UNKNOWN_MEMBER_ID, UNRELEASED_INSTANCE_ID,
// FENCED_INSTANCE_ID; offsets are committed with the member epoch as
// generation (OffsetCommit v9+; STALE_MEMBER_EPOCH otherwise) and fetched
// with it (OffsetFetch v9+). A classic group with members refuses consumer
// members (GROUP_ID_NOT_FOUND), a consumer group with members refuses
// classic joins (INCONSISTENT_GROUP_PROTOCOL): this coordinator has no
// classic members inside consumer groups, nor online migration; an empty
// group of either protocol gives way to the other, offsets kept.
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
// assignment, a group becoming empty or deleted, an expired offset; and for
// consumer groups Kafka 4.0's ConsumerGroupMetadata,
// ConsumerGroupPartitionMetadata, ConsumerGroupMemberMetadata,
// ConsumerGroupTargetAssignmentMetadata/Member and
// ConsumerGroupCurrentMemberAssignment records (key types 3-8, value
// version 0), which kmsg lacks: consumer_records.go encodes them with
// kbin from Kafka's schemas. A new
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
//     with the rest. A classic member whose join or sync answer waits so
//     awaits it, as a Kafka member awaits its SyncGroup while the group's
//     record is written: its session does not run until the answer goes
//     out, nor does the sync timeout while a join answer waits (seed 40055:
//     a 6 s session ran out during a 9 s wait, and the member was removed
//     before it heard of its assignment).
//   - Every parked request is answered exactly once: when its phase
//     completes, when its member is removed, fenced or superseded by a newer
//     request of the same member, or with NOT_COORDINATOR by [Shard.Unload].
//   - Time never goes backwards inside a shard: an earlier time input is
//     taken as the latest one seen.
//   - The shard copies every byte it keeps: callers may reuse request
//     buffers once the call returns.
//   - No partition is owned by two members of a consumer group at once
//     (assigned to one and assigned or pending revocation at another).
//   - No I/O, no goroutines, no clock and no randomness of its own: member
//     ids come from the IDSource it is given. The same inputs give the same
//     outputs, so scenario tests and the simulator replay exactly.
//
// Config.Defects plants known bugs (a reply before its records are
// durable, one assignment for every member, a parked SyncGroup never
// answered, a leader epoch not persisted, a consumer-protocol partition
// given before its owner released it, an OffsetFetch answering a topic's
// highest offset for each of its partitions, a commit of an older
// generation or member epoch accepted, a replaced static member's id still
// accepted) so that the properties of this
// package, and later the simulator's checkers, can show they catch them.
//
// A Shard is not safe for concurrent use; the shell serializes calls.
package group
