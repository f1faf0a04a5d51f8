// Package metadata models the cluster's metadata as Kafka's KRaft does: a
// log of versioned records (cluster id, feature levels, broker
// registration, fencing, unfencing and controlled shutdown, topics,
// partitions and their changes, config overrides, topic removal,
// producer-id blocks) and the Image they build.
//
// The records are written by the controller (broker/controller), carried
// in the Raft log (broker/controller's shell) and applied, in log order, on
// every node. An Image is a typed, immutable snapshot: brokers, topics by
// name and by id, partitions (replicas, ISR, ELR, leader, leader epoch,
// partition epoch), topic configs resolved once into a TopicConfig (so
// request handlers never parse a config), the next producer id, and the
// offset (Raft index and term) of the log it reflects. A snapshot of the
// log is an image written as the records that rebuild it.
//
// Invariants:
//   - Image.Apply returns a new image and never changes the old one; every
//     slice and map reachable from an image is shared and never mutated.
//     Handlers hold images across requests without locks.
//   - A batch applies whole or not at all (ErrApply changes nothing).
//   - Decoders (DecodeBatch, DecodeSnapshot) accept exactly what the
//     encoders write and refuse anything else with ErrCorrupt, allocating
//     no more than the input's length allows; both are fuzzed.
//   - The encoding is deterministic: an image has one snapshot, so two
//     nodes' images compare by their bytes.
//   - The controller's rules (epochs only grow, a leader change raises the
//     leader epoch and any change the partition epoch, the leader is in
//     the ISR, the ISR is within the replicas) are checked by CheckImage
//     and CheckTransition: by the metadata checker over every node's
//     images of a run (quorum.History.Check; in the simulator, the
//     "metadata" anomaly) and by the controller's tests after each
//     decision. CheckLeaderRequests, run the same ways over each entry's
//     records and the image before them, holds every ISR change a leader
//     asked for (PartitionChangeRecord.Request) to the state its request
//     named: the controller fences AlterPartition by the broker epoch, the
//     leader, the leader epoch and the partition epoch, and the record
//     shows which it was computed from. Apply itself checks only that
//     records fit the image, so a buggy controller's records still apply
//     identically on every node and the checker, not a crash, reports
//     them (a panic would end a simulated run as a harness error, never
//     as the invalid verdict it is).
//   - A PartitionChangeRecord without a Request encodes as version 0, as
//     every record did before Request existed; old logs decode with
//     Request nil, which no check judges (codec.go).
//
// It must never do I/O, read a clock, or keep package-level mutable state.
package metadata
