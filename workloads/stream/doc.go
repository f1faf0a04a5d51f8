// Package stream runs a processing application the way a user deploys one
// on Kafka: a consumer group of members that each consume partitions of an
// input topic, apply an application's logic (App) and write what comes out
// to output topics, committing the input offsets after writing
// (at-least-once) or inside the same Kafka transaction
// (kgo.GroupTransactSession: exactly-once). It records what the members
// did as history operations, so checkers can judge the pipeline from the
// history alone. The clickstream, payments and vitals workloads are Apps
// run by this package; none of them has goroutine code of its own.
//
// # A pipeline workload
//
// Workload is the lifecycle every pipeline workload shares, built from a
// Spec (its topics, Producers, processor Config and drain barriers): Run
// creates the topics and runs the producers and the processor together
// for the safety phase; Finish is the Drain, with the final reads of the
// input and of every output (read_committed when the processor is
// transactional). Producers are Clients producer clients (idempotent,
// acks=all), each paced at Rate and shared by InFlight lanes, one process
// each with one send open; a workload says only what a lane sends (Lane).
// Process ids and producer-client ids are the run's, shared by both
// phases and by producers and members alike.
//
// # Model
//
// Output partition p of every output topic belongs to input partition p:
// the member that owns input partition p is the only writer of output
// partition p, and its App's state for p is a function of what those
// output partitions hold (plus the input from the committed offset on).
// When a member gets partition p (assigned, or after an aborted
// transaction rewound it) it restores p's state by reading every output
// topic's partition p from its start to its end (gen.ReadToEnd;
// read_committed when transactional, after every open transaction there
// ended) and handing the records to App.Restore, before it processes any
// input of p. A member that loses p forgets it (App.Drop).
//
// # Operations
//
//   - A batch: a member polls up to Config.MaxBatch input records, the App
//     turns each into output records (App.Process), and the member writes
//     them to partition p of their topics. Transactional: one Kafka
//     transaction per batch (Begin, produce, End with the offsets), a txn
//     op with Transactional set and the outputs as sends; ok is committed,
//     fail aborted (End said so without an error: the member asked for an
//     abort, or the session had to abort), info unknown (End returned an
//     error, or the member crashed inside the batch). Before End the
//     member flushes and waits for every output's result, and aborts a
//     batch any of whose outputs failed: kgo's End commits the input
//     offsets whatever became of the records, so a transaction whose
//     writes failed would commit its input without its outputs (seed
//     32008). Txn.CommitTime is when the member called End to commit. At-least-once: a txn op
//     without Transactional, ok when every output was acknowledged, info
//     otherwise; then the member commits App.Committable offsets. An
//     at-least-once batch with no output records is not recorded (its
//     commit is).
//   - A restore: an assign of the output partitions and the polls that
//     read them (gen.ReadToEnd), by the incarnation's restore process (a
//     process of its own, so that its assigns start no consumer session
//     of the member's process).
//   - The group's ops, as the queue workload's group members record them
//     (history version 4), so that the group checkers judge the
//     processing group: a join per incarnation (protocol, instance id,
//     read_committed when transactional), an assignment op per partition
//     change its client reports (by its events process, with the member
//     id and generation or member epoch the client holds; a transactional
//     member's revokes and losses come from kgo's log of its callbacks,
//     since the GroupTransactSession passes only the first of them on to
//     the member's callbacks until its next End), a poll op per
//     poll of the input (gen.PollWith; after a poll that stopped at
//     MaxBatch, kgo hands out the rest of older fetches, so such a poll's
//     watermarks are recorded unknown) and, at-least-once, a commit op per
//     commit, with the per-partition answers (gen.CommitAnswer) and the
//     member's process as metadata, after the batch's txn op completed.
//     A transactional member's commits are its transactions' offsets
//     (Txn.Offsets): every transactional batch is recorded, one without
//     outputs too, and the workloads judge with
//     checker.Opts.TxnGroupCommits (a committed transaction's offsets
//     accepted, an aborted one's not, and a member whose transaction did
//     not commit consumes again from the committed offsets: a new
//     consumer session). The drain ends with a read of the group's
//     committed offsets (gen.FinalOffsets), for lost-commit.
//
// # Membership: the workload decides
//
// Config.Members slots each run one member incarnation at a time. An
// incarnation lives Exp(Config.Lifetime) counted from its first
// assignment (at the latest from 12s after it started; never ends on its
// own when 0), then leaves the group cleanly or, with Config.CrashShare,
// crashes. Counting from the assignment matters: a classic-protocol
// rebalance takes seconds (group.initial.rebalance.delay.ms, 3s, extended
// while members keep arriving; a crashed member holds the next rebalance
// for its 6s session timeout), and kgo's GroupTransactSession cannot
// commit while one is in progress, so incarnations that lived a few
// seconds from their start left mostly before they got partitions and
// the pipelines processed almost only during the final drain. Slots after
// the first start Config.Stagger (3.5s) late, so the group's first
// generation forms after the initial delay alone. A crash: its
// connections are cut (gen.Killable) and its client closed with nothing
// more sent, like a killed process; its slot starts a new incarnation
// after Exp(Config.Downtime). Inside a batch a member crashes with
// Config.CrashChance, at one of three points chosen at random: before
// writing, after writing and before committing, after committing. Every
// incarnation is a new history process; a transactional slot keeps its
// transactional id, so a new incarnation fences the old one.
// Config.AbortChance makes a transactional member abort a batch on
// purpose, after flushing its outputs (kgo drops records still buffered
// when it aborts, which would leave nothing aborted in the log), so
// aborted records, aborts and their rewinds happen in every run.
//
// # Group protocol and membership (Config.GroupMode)
//
// The members speak the classic protocol (JoinGroup, SyncGroup; kgo's
// cooperative-sticky assignor on the group's leader) or, with
// ProtocolConsumer, KIP-848's consumer protocol (kgo.ServerSideBalancer:
// ConsumerGroupHeartbeat, the coordinator's "uniform" assignor, partitions
// moved one at a time: a partition reaches its next owner only after the
// member that held it released it, so no rebalance stops the group).
// Members are dynamic, or with Static each slot has a group.instance.id
// (KIP-345), the slot's transactional id "<Group>-<slot>", that every
// incarnation of the slot joins as, the drain's included. Crashes are the
// same in every mode (connections cut, client closed, next incarnation
// after Exp(Downtime)); what differs is how the group learns of them:
//
//   - classic, dynamic: a leave is a LeaveGroup and a rebalance; a crash
//     holds the next rebalance for the dead member's 6s session.
//   - classic, static: a closing member sends no LeaveGroup; the slot's
//     next incarnation takes its place (the coordinator fences the old
//     member id) and gets its assignment back in the same generation,
//     with no rebalance, unless the session ended first. A rebalance
//     under way when a static member goes waits for its session, and
//     with it a member leaving at the end of Run (kgo's close waits for
//     the rebalance): Run may end seconds after the safety phase.
//   - consumer, dynamic: a leave is a heartbeat with epoch -1; the
//     coordinator moves the member's partitions incrementally; a crash
//     holds them for the session (the broker's
//     group.consumer.session.timeout.ms, 6s in the simulator).
//   - consumer, static: a leave is epoch -2 and keeps the partitions for
//     the instance's next incarnation until the session ends; after a
//     crash the next incarnation is refused UNRELEASED_INSTANCE_ID (kgo
//     retries) until the dead member's session ends.
//
// The pipelines' guarantees do not depend on the mode: a member restores
// every partition it is given before processing it, whether a rebalance,
// a static member's return or an incremental assignment gave it, and the
// transactional id fences an old incarnation's transaction in every mode.
//
// # When a member stops trusting its claim
//
// kgo keeps a member's partitions, positions and buffered records across
// a rejoin that Java's consumer would report as lost, and resets an
// out-of-range position to the log start. An at-least-once member would
// then commit, or process again, what another member owns or has
// committed. Three rules end the incarnation instead (the next one joins,
// reads the committed offsets and restores), each from a seed:
//
//   - a commit kgo would send under a member id other than the one the
//     partition was assigned to is not sent (staleClaim, seed 71144);
//   - a commit answered ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or
//     FENCED_INSTANCE_ID ends the incarnation (membershipLost, seed
//     73109: a static member keeps its member id);
//   - the members consume with no reset (auto.offset.reset=none; a
//     partition without a commit starts at the log start), and a poll
//     that answers a partition OFFSET_OUT_OF_RANGE ends the incarnation
//     (offsetOutOfRange, seed 73088: a deposed leader's shorter log).
//
// # Planted defects (Defects; never on by default)
//
//   - CommitBeforeWrite (at-least-once): commit the consumed offsets (one
//     past the batch, not App.Committable) before writing the batch's
//     outputs; a crash in between loses them, and a partition that moves
//     loses what its App still held.
//   - SkipRestore: never restore; a member that takes over a partition
//     starts from empty state.
//   - NoTransaction (transactional): write outputs and commit offsets
//     outside any transaction while recording the batch as a transaction.
//   - KeepStateOnAbort (transactional): after an aborted transaction keep
//     the App's state instead of restoring it, so the rewound input is
//     applied twice.
//   - ReadUncommitted (transactional): restore with read_uncommitted while
//     the history says read_committed.
//
// # Bounds
//
// Every poll is bounded by the client's poll timeout, every batch's begin,
// writes and end by a multiple of its op timeout (not by the run's
// context, so a batch under way when the run ends still completes and is
// recorded; a begin that runs out crashes the incarnation: gen.BeginTxn),
// a restore by Config.RestoreTimeout. Run returns once every member has
// left; no goroutine outlives it.
package stream
