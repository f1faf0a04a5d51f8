// Package quorum is one node of Weir's metadata quorum: the Raft shell
// around the controller (broker/controller) and the image
// (broker/metadata), on etcd raft's RawNode.
//
// What it models: KRaft's controller quorum. The voters of
// controller.quorum.voters ("1@host:port,...") hold the metadata log;
// every other node (a broker when controllers are dedicated) joins as a
// Raft learner and follows it. In combined mode every broker is a voter; a
// single broker is a one-voter quorum. Each node applies committed entries,
// in order, to an immutable metadata.Image that brokers read (Image, Wait).
// Only the leader's controller decides: Submit on any node hands a request
// to it (forwarded over the quorum's own connections) and returns the
// answer once the records are committed.
//
// The shell, in the order etcd raft's Ready contract requires:
//   - storage.go: the log on env.FS. Entries and the hard state of a Ready
//     are appended to a WAL and fsynced before that Ready's messages are
//     sent; snapshots of the image are written (and their directory
//     fsynced) before the WAL is rotated and older files removed. A
//     rotation's WAL opens with a header giving the length of what the
//     rotation wrote (the hard state and every entry after the snapshot),
//     so a start tells a complete rotation from one a crash cut short. On
//     start the newest valid snapshot is loaded, rotations cut short are
//     dropped, and the newest complete WAL (or, in a log written before
//     rotations had a header, every WAL) is replayed over it; a torn tail
//     of the last WAL is cut off, and the cut fsynced before the start
//     rotates.
//   - transport.go: env.Net connections between controller listeners, one
//     outbound stream per peer with a bounded queue, redialed after a
//     backoff; a full queue or a dead peer drops messages and tells Raft
//     (ReportUnreachable/ReportSnapshot) instead of blocking the loop.
//     Forwarded requests travel on one RPC connection per peer and lane:
//     AlterPartition on a lane of its own (Kafka's AlterPartitionManager
//     channel), everything else on the control lane, so a late or slow
//     AlterPartition never delays the heartbeats that keep a broker
//     unfenced. An AlterPartition goes over the network even when this
//     node leads (to its own listener), as Kafka's combined broker sends
//     it to its in-process controller over its channel. Each RPC frame is written whole, in one write
//     (ForwardedRequestKey reads a forward's API key from its first
//     bytes, for the simulator's late requests).
//   - node.go: one loop goroutine owns the RawNode, the log, the images and
//     the controller; a ticker goroutine turns env.Clock timers into ticks.
//     Both end with the node's context. Nothing polls.
//   - history.go: the events an Observer receives and History.Check, the
//     metadata checker: over every node's applied entries (their images
//     and records), one leader per term, one log, epochs that only grow,
//     one leader per partition leader epoch, and every ISR change a
//     leader asked for applied to the state its request named.
//
// Invariants:
//   - Nothing is sent that depends on state not yet fsynced; a node whose
//     log write or fsync fails stops (Status.Err) rather than go on.
//   - A crash at any point, a rotation's included, leaves a log that
//     starts with every entry and the hard state fsynced before it. A
//     start refuses the log (errCorruptLog) only when fsynced bytes are
//     damaged: a bad frame in a WAL that a newer WAL follows, or a
//     rotation that is not all there in a WAL that goes on after it.
//     Damage at the end of the last WAL reads as a torn tail, and damage
//     to its header, or to its rotation when nothing was appended after
//     it, as a rotation cut short: neither can be told from a crash.
//   - The leader decides only once it has applied an entry of its own term
//     (so its image holds everything committed before it), against an image
//     of its own log: committed entries plus its own proposals of this term,
//     in order. A decision is proposed as one entry; its records apply whole
//     or, if the image refuses them, not at all on every node alike.
//   - An answer without records waits until the log reaches the image it
//     was read from; a leader that steps down fails what it had in flight
//     with ErrLeadershipLost.
//   - A write with no leader able to commit fails within RequestTimeout
//     with ErrUnavailable; nothing blocks forever.
//   - CheckQuorum and PreVote are on: a leader cut from its majority steps
//     down within an election timeout.
//
// It must never read the time except through env.Clock, do I/O except
// through env.FS and env.Net, leave a goroutine behind its context, or
// touch the RawNode outside the loop goroutine.
//
// Lock order: rpcClient.mu before transport.mu; Node.mu is a leaf (it
// guards only what the loop publishes).
//
// Known limits: a leader cut off from its majority may still answer a
// request that needs no records (a heartbeat of a caught-up broker) from
// its image until CheckQuorum steps it down (one election timeout); a
// ReadIndex round would close that window. Learners are never removed from
// the configuration; a retired broker stays a learner that the leader keeps
// trying to reach.
package quorum
