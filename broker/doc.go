// Package broker is a Kafka-compatible broker: it speaks the Kafka wire
// protocol (encoded and decoded by franz-go's kmsg, never by hand) and keeps
// each partition it holds as a broker/partition.Partition (a segmented log
// on an env.FS, its producer state, high watermark and replication role),
// opened in partition.go with the broker's config and seams (the fetchers,
// the AlterPartition sender, the low-priority fsync pool, Deps.Breach);
// handlers, coordinators and loops call its methods, never its insides.
//
// One file per API key (00_produce.go, 01_fetch.go, ...) registers its
// handler and the versions it serves; ApiVersions is built from that table,
// so the file list is the supported-API list.
//
// Requests of one connection are handled in order by its reader goroutine,
// so a producer's pipelined batches are appended in the order it sent them.
// What must wait (acks=-1 for the fsync, a fetch for min_bytes) is a finish
// step the connection's writer goroutine runs, in order, before it sends
// the response: waits are woken by events (a high watermark moving, a
// timer), never by polling, and pipelined produces share one fsync. An
// fsync nothing waits for (acks=1 with no consumer fetching) runs on the
// low-priority threads of internal/lowprio, unless it covers bytes older
// than a second.
//
// Replication is broker/replica's state machines, driven per partition by
// broker/partition: on every metadata image the reconciler makes each
// local replica lead (a replica.Leader decides its high watermark, ISR
// changes and acks=all answers), follow (the replica fetchers append the
// leader's batches as they are) or neither (Partition.SetRole, with the
// role roleOf reads from the image); followers' fetches and
// OffsetForLeaderEpoch are answered by the leader; ISR changes go to the
// controller as AlterPartition through the metadata quorum (on a quorum
// connection of its own, apart from the heartbeats, as Kafka's
// AlterPartitionManager has), sent by
// replication_alter.go, which also runs the fetchers and the leaders'
// periodic ISR check.
//
// Fetch sessions (KIP-227) are broker/fetchsession's Cache, with its
// lock, seeded ids and steady time (env.SteadyClock: steps of the wall
// clock do not move its eviction times) in fetch_sessions.go: consumers
// and followers alike get one with a full fetch, and their incremental
// fetches read every partition of the session but are answered with what
// changed.
//
// The group coordinator is broker/group, a state machine per
// __consumer_offsets partition; groups.go is its shell: it creates that
// internal topic, routes each group's requests to the shard of the group's
// partition, appends the records the shard emits, releases its answers
// when the partition's high watermark covers those records, and keeps one
// clock timer per shard. Internal topics are never auto-created from a
// Metadata request, nor produced to, deleted or grown by clients.
//
// The transaction coordinator is broker/txncoord, a state machine per
// __transaction_state partition; txns.go is its shell, built like
// groups.go's (what the two keep alike per shard is in coordshard.go and
// coordload.go), and txn_markers.go writes the transaction markers its shards
// decide to the leader of each partition (directly, or over env.Net with
// peers.go), retrying until all are written. A partition's side of
// transactions is broker/partition's (markers, the last stable offset, the
// aborted transactions of read_committed fetches, verification records);
// txn_verify.go asks the coordinator (a transactional produce that opens
// the producer's transaction in a partition is checked with the
// coordinator first: KIP-890 part 1). The
// group coordinator writes offsets committed inside transactions, and the
// markers of its own partitions (groups_txn.go). transaction.version 2
// (KIP-890 part 2) is advertised in ApiVersions; Defects.NoKIP890 turns
// both defences off, for the simulator and tests only.
//
// A broker holds a lock on <data dir>/.lock (env.Lock) while it is open, so
// a second broker on the same directory refuses to start.
//
// A broker whose metadata quorum node stops on a fault of its log halts
// (reconcile.go): it stops serving at once, as Kafka's process exits, rather
// than keep leading, from an image that can no longer change, partitions
// the controller has moved away.
//
// Invariants:
//   - All I/O goes through env.FS and env.Net and all time through
//     env.Clock; the package keeps no mutable package-level state (the
//     handler table is written only by init), so several brokers can share
//     a process in simulation.
//   - Every goroutine a Broker starts ends when Close returns.
//   - A record is visible to consumers (below the high watermark) only once
//     every replica in the ISR has it, and, when weir.fsync.acks.all is on
//     (the default), has it durably, so neither a failover nor a crash
//     takes back what a consumer has read. Only the leader serves
//     consumers; a replica's high watermark never moves back, except on a
//     follower whose log an unclean election cut.
//   - An acks=all produce is answered success only once its batch is below
//     the high watermark, and refused before anything is appended while the
//     ISR is smaller than min.insync.replicas.
//   - A replica leads or follows only while this broker's incarnation is
//     registered and unfenced in the image it applied. A partition's
//     leader appends only in the leader epoch it leads, recorded in the
//     leader-epoch cache before the first append; a follower's log, epoch
//     cache and producer state change together under the partition's
//     lock.
//   - A protocol error is an answer with a Kafka error code; a Go error from
//     a handler (malformed or unanswerable request) closes that connection
//     only, with a log line.
//   - Topics are replaced, never mutated, under Broker.mu; partition state
//     is broker/partition's, behind its own locks, taken after Broker.mu
//     when both are held (closing and abandoning partitions; every other
//     caller releases Broker.mu first). The group coordinator's lock comes
//     before Broker.mu, a shard's before its partition's. A replica
//     fetcher's lock comes before a partition's: the fetchers are never
//     called with a partition's lock held. The AlterPartition sender's
//     lock is taken under a partition's (a proposal is only queued) and
//     the sender calls partitions without it. The fetch session cache's
//     lock is taken alone, never with another. broker/partition's doc.go
//     has the order inside a partition.
//   - A group answer (a commit, a join, an assignment) leaves the broker
//     only once the __consumer_offsets records decided before it are
//     durable; a transaction coordinator's answer, and the markers of a
//     transaction's end, only once its __transaction_state records are.
//   - A read_committed fetch never returns a record past the last stable
//     offset: below it every transaction has its marker below the high
//     watermark.
//   - Lock order for transactions: a coordinator shard's mu, then its
//     partition's (appends); the group coordinator's shard mu, then its
//     partition's (a marker or a transactional commit is checked against
//     the partition's producer state under both, before the shard
//     decides). No lock is held across a request to another broker.
//   - A transaction coordinator shard carries out a decision of its state
//     machine, and the decisions that follow at once (a marker job with
//     nothing to write completes; without fsync an append is durable at
//     once), in one apply loop, never in nested applies: the state
//     machine's batches are appended in the order it emitted them, and a
//     failed append ends the loop with the shard.
//
// Builds with -tags invariants (the simulation guest) check some of these
// as they run: broker/partition's checks (a fetch serves only bytes
// durable on the disk, the high watermark never passes the synced offset,
// appends keep offsets dense, a leader never counts fewer than the ISR its
// metadata image committed at its own partition epoch) and the group
// coordinator's (group_invariants.go); a breach goes to Deps.Breach
// (invariants.go). Defects (defects.go) plants
// known bugs for the simulator's selftest; nothing else sets them.
package broker
