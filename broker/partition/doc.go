// Package partition is one broker's replica of one partition: everything
// the broker keeps per partition, behind the API its request handlers,
// coordinators and background loops call.
//
// A Partition owns:
//   - its segmented log (broker/log) in its directory, and the group
//     commit that fsyncs it (one syncer goroutine; fsyncs nobody waits for
//     go to the Background pool);
//   - its idempotent and transactional producer state
//     (txn.PartitionProducers), rebuilt at open from the newest producer
//     state snapshot that fits the log, and snapshotted at each segment
//     roll and clean close;
//   - its leader-epoch cache (leader-epoch-checkpoint);
//   - its replication role, set by SetRole from each metadata image:
//     leader (a replica.Leader decides the high watermark, the ISR changes
//     proposed to the controller through Deps.Alters, and the answers of
//     acks=all produces), follower (registered with Deps.Fetchers, which
//     write the leader's batches through ReplicaLog), or neither;
//   - its high watermark and the waiters on it (Watch, WaitHW), the
//     acks=all produces waiting to be answered (AwaitAck, AckResult), the
//     follower fetches waiting for the log to grow (WatchGrowth);
//   - its side of transactions (markers, the last stable offset, the
//     aborted transactions of read_committed fetches, KIP-890
//     verification) and of log maintenance (retention, cleaning,
//     DeleteRecords).
//
// What it takes from the broker comes in at Open: a Config (names, log
// settings, the broker's fsync and replication settings, planted Defects)
// and Deps (the file system, the clock, the broker's steady clock for the
// replica Leader's lag times, a logger, and the Background,
// Fetchers, AlterProposer and Breach seams). It never sees the Broker: it
// knows nothing of topics' configs, the metadata image, connections or the
// wire protocol beyond the Kafka error codes and kmsg fetch structs its
// answers are written in.
//
// Invariants:
//   - Offsets are dense: an append starts at the log's end and moves it by
//     its batch's record count (a follower keeps the leader's offsets, with
//     the gaps of a compacted leader log).
//   - The high watermark never moves back, except on a follower whose log
//     an unclean election cut, or that restarts its log at the leader's
//     start because the leader's cleaner removed tombstones past its end
//     (replica.Action.Recopy; such a follower is out of the ISR); with
//     FsyncAcksAll it never passes the log's synced offset, and on a leader never the smallest log end of the
//     ISR (replica.Leader decides it), so a consumer never reads what a
//     crash or a failover can take back. Consumers read only below it.
//   - The leader epoch never moves back. A leader appends only in the
//     epoch it leads, recorded in the epoch cache at the log end before
//     the first append in it, and stamps every batch with it; a
//     follower's log, epoch cache and producer state change together
//     under mu.
//   - The last stable offset is at most the high watermark: below it
//     every transaction has its marker.
//   - An acks=all produce is answered success only once its batch is below
//     the high watermark, and refused before anything is appended while
//     the ISR is smaller than min.insync.replicas.
//   - A partition whose storage failed takes no append and serves no
//     read again (KAFKA_STORAGE_ERROR), leads and follows nothing, and
//     wakes its waiters.
//
// Builds with -tags invariants (the simulation guest) check some of these
// as they run (invariants.go): a consumer read serves only bytes durable on
// the disk, the high watermark never passes the synced offset, appends keep
// offsets dense, a leader never counts fewer than the ISR its metadata
// image committed at its own partition epoch; a breach goes to
// Deps.Breach.
//
// Lock order. Partition.mu serializes appends, role changes and the
// leader's state machine: the producer-state check, the append and the
// state update are one step; reads of the log do not take it.
//   - Taken before mu, never under it: the broker's Broker.mu (most
//     callers release it before calling here; closing and abandoning the
//     partitions hold it), a group or transaction coordinator shard's mu
//     (its appends and checks), and the replica fetchers' lock (they call
//     ReplicaLog's methods with it held). So the fetchers are never called
//     with mu held: SetRole calls them before or after taking mu, never
//     under it.
//   - Taken under mu, in this order: hwMu (the high watermark's waiters),
//     then the log's own locks; growthMu (follower fetches' waiters) and
//     the AlterProposer's lock (Propose only queues) are leaves.
//   - Never under the log's maintenance lock (held by a cleaning pass):
//     the cleaner's view of the producer state is a copy taken before the
//     pass, since Close and Delete take mu and then the log's locks.
//   - No lock here is held across a request to another broker, a wait on
//     the high watermark or an fsync's wait for the Background pool.
//
// Never: I/O other than through Deps.FS, time other than Deps.Clock, a
// goroutine that outlives Close or the context given to Open, or package
// state.
package partition
