// Package controller decides the cluster's metadata, as Kafka's KRaft
// controller does.
//
//   - Controller (controller.go and the files beside it) is a state
//     machine with no I/O: Decide(image, request, now) validates an admin
//     or broker request (CreateTopics, DeleteTopics, CreatePartitions,
//     AlterConfigs/IncrementalAlterConfigs, BrokerRegistration,
//     BrokerHeartbeat, AlterPartition, ElectLeaders, AllocateProducerIDs:
//     kmsg types in, kmsg types out, errors as Kafka error codes) and
//     returns the metadata records to append with the answer to give once
//     they are committed. Tick(image, now) fences brokers whose sessions
//     expired. Its only state outside the log is the time of each broker's
//     last heartbeat, reset by Activate when this node starts deciding.
//     Replica placement (placement.go) stripes partitions over the active
//     brokers, racks alternating.
//
// The Raft shell around it is broker/quorum: only the Raft leader's
// Controller decides, against an image of its own log (committed entries
// plus its own proposals of this term, so two decisions in flight see each
// other); the records a decision returns are proposed as one entry and
// the answer is given once it is committed. So Decide's image argument is
// the log up to the entry its records will follow: a registration's broker
// epoch is img.Offset().Index+1, the Raft index of its record.
//
// Invariants (checked by metadata.CheckImage and CheckTransition in every
// scenario and property test, and by the metadata checker over a run):
//   - A partition's leader is NoLeader or an active ISR member; the ISR is
//     within the replicas; a leader change raises the leader epoch, every
//     change the partition epoch; epochs never decrease.
//   - Elections pick from the ISR, in replica order; only a topic with
//     unclean.leader.election.enable (or an admin unclean election) may
//     elect an out-of-sync replica, and its ISR is then that replica alone.
//   - The last ISR member of a partition stays in the ISR when fenced, so
//     the partition comes back when that broker does.
//   - AlterPartition is refused unless the broker epoch, leader epoch and
//     partition epoch all match the image (FENCED_LEADER_EPOCH,
//     INVALID_UPDATE_VERSION, STALE_BROKER_EPOCH), and a partition named
//     twice in one request is refused the second time (INVALID_REQUEST).
//     The change it accepts records what the request named
//     (metadata.LeaderRequest), so the log shows that each leader's ISR
//     change replaced the state it was computed from
//     (metadata.CheckLeaderRequests, in every scenario and property test
//     and over a run).
//   - One decision writes at most one PartitionChangeRecord per partition.
//
// The Controller must never do I/O, read a clock (time comes in as now),
// or draw randomness other than from the rng it was given (cluster and
// topic ids), so a decision is a pure function of its inputs and the
// heartbeat table.
package controller
