// Package checker judges a queue history (package history): it reads only
// what the clients saw and reports anomalies, each with the witnesses that
// show it (op indexes, their times in seconds since the run's start,
// positions, values and a sentence). The anomaly names are Jepsen's Kafka
// workload's (jepsen/tests/kafka.clj), so users recognise them.
//
// One file per anomaly:
//
//   - lost-write (lost_write.go): an acknowledged send that is not in the
//     log at its acknowledged offset. The judge is the complete final read:
//     a partition the final reader read from its log start to its high
//     watermark must hold every send acknowledged in it, at its offset, so
//     a send read earlier and gone at the end is lost. Where the final read
//     did not finish a partition, a send is lost only when a later offset
//     was read and it never was; otherwise it is unjudged and the verdict
//     unknown.
//   - unseen (unseen.go): an acknowledged send no poll read at all.
//     Informational: each is a lost write or unjudged, so it never decides
//     a verdict by itself.
//   - duplicate (duplicate.go): a value at more than one position (read or
//     acknowledged).
//   - inconsistent-offsets (inconsistent_offsets.go): a position holding
//     more than one value (read or acknowledged).
//   - nonmonotonic-send (nonmonotonic_send.go): per producer client and
//     partition, acknowledged offsets do not follow invoke order.
//   - nonmonotonic-poll, poll-skip (nonmonotonic_poll.go, poll_skip.go): a
//     consumer's next poll of a partition starts at or before where its
//     previous one ended, or beyond an offset known to hold a record.
//   - int-poll-skip, int-nonmonotonic-poll (int_poll_skip.go,
//     int_nonmonotonic_poll.go): the same within one poll.
//   - int-send-skip, int-nonmonotonic-send (int_send_skip.go,
//     int_nonmonotonic_send.go): one txn op's sends to a partition were
//     acknowledged apart with a known record between them (normal without
//     transactions; configurations allow it), or out of order.
//   - phantom-value (phantom_value.go): a record read that no send carried,
//     or a send's value under another key (corruption).
//   - watermark-regression (watermark_regression.go): a high watermark or
//     log start offset lower than an earlier observation of the same
//     consumer client, or than one that ended before it could have been
//     made (real time, across clients and the final read; a high watermark
//     answered in a leader epoch older than the record at it, or than a
//     batch some read had returned before it could be answered, may come
//     from a deposed leader, as in the linearizability check below: the
//     first is not judged by real time (seed 35006), the second only
//     against observations of its own epoch or older (seed 70072)); a read
//     of offset o shows the high watermark
//     above o; kgo's data-loss error is one
//     (on a compacted topic or one transactions write to, only when the
//     client had returned a record in the range it says was lost: kgo
//     walks past a batch that returns it nothing, one the cleaner emptied
//     or an aborted transaction's under read_committed, without taking its
//     leader epoch, and may report a loss of offsets where it returned
//     nothing).
//   - aborted-read (aborted_read.go): a value of a failed send was read
//     (Jepsen's G1a); for a failed (aborted) transaction's sends, only
//     reads of read_committed clients count (a read_uncommitted reader
//     may see them: they are in the log).
//   - precommitted-read (precommitted_read.go): a transaction read its own
//     write (Jepsen's), or a read_committed reader saw a transaction's
//     record before the transaction asked to commit (history.Txn.
//     CommitTime), or saw one of a transaction that ended info without
//     ever asking.
//   - torn-transaction (torn_transaction.go): a transaction a
//     read_committed reader saw part of (so it committed) lacks another of
//     its sends in the complete final read.
//   - aborted-offset-commit (aborted_offset_commit.go): a read of a
//     group's committed offsets (an offsets op: OffsetFetch) returned an
//     offset, with its leader epoch and metadata, that only a transaction
//     that aborted had committed inside itself (history.Txn.Offsets of a
//     failed transactional txn op whose TxnOffsetCommit was accepted):
//     nothing that may have taken effect (a committed or unknown
//     transaction, a plain commit that may have applied) wrote it before
//     the read completed. A never-completed transaction naming the group
//     on its invoke leaves later reads of that group unjudged. Where
//     members resumed is left to rebalance-skip.
//   - compaction-lost-key (compaction.go): on a compacted topic
//     (history.Final.Compacted), the complete final read does not end a key
//     with its last known record (the highest offset a record of the key
//     was read or acknowledged at): an older value of the key instead, or
//     nothing of it when that record is a value and no send of the key
//     with an unknown outcome was a tombstone. Kafka's compaction contract:
//     the cleaner removes a record only for a later one of its key (a
//     tombstone also after delete.retention.ms) and never moves one. The
//     checkers that assume every record stays leave the cleaner's removals
//     alone on compacted topics, and only them: lost-write and unseen skip
//     a send a later record of its key (or a send of it with an unknown
//     outcome) may have replaced; poll-skip and int-poll-skip allow a jump
//     over a tombstone or over a record a later one of its key, below the high
//     watermark the poll saw, was sent for (invoked) before the poll
//     returned; nonlinearizable leaves compacted
//     partitions out.
//   - nonlinearizable (linearizable.go, linearizable_model.go): a partition
//     log that is not linearizable, decided by porcupine. The model binds
//     every known value to its offset first (values are unique), so its
//     state is the number of known appends applied: an append takes effect
//     in offset order, a read with high watermark H when exactly the known
//     appends below H have. It catches reads of records before their send
//     was invoked, stale reads (a high watermark below a record acknowledged
//     before the read began), acknowledgements out of real-time order
//     across clients, and records missing inside a returned range. A read
//     answered in a leader epoch older than that of the first record above
//     its high watermark (history version 7's epochs), or than a batch a
//     read had returned before it could be answered, needs only the
//     appends below it: a deposed leader cut off from the metadata quorum
//     answers so in Kafka (seeds 35006 and 70072).
//     porcupine's memory grows with the square of a window's operations, so
//     each partition is cut into windows at points every linearization must
//     pass in order (windows in linearizable.go); TestWindowsAgree checks on
//     random logs that porcupine on whole partitions, on windows and the
//     earliest-schedule argument the cut rests on agree.
//
// Consumer groups (history version 4; group_index.go): a member's join
// starts a consumer session, and so does every assignment that adds
// partitions to it (a member resumes a partition at the group's committed
// offset, not where it left it), so the queue checkers above judge a
// member's reads between rebalances; a partition it kept may have been
// fetched in the old session, so the new one takes over when that could
// have been (seed 71166). Each group checker is not-checked on
// a history without groups.
//   - nonmonotonic-commit (nonmonotonic_commit.go): the coordinator
//     accepted an offset for a group and partition below one it had
//     accepted in a commit completed before this one began.
//   - lost-commit (lost_commit.go): a read of the committed offsets misses
//     a commit acknowledged before it began: no offset, a lower one (not
//     explained by a later commit of it), or the same offset with another
//     leader epoch or metadata than every commit of that offset.
//   - commit-past-read (commit_past_read.go): an offset accepted or read
//     back beyond one past the highest offset the group's members had read.
//   - double-assignment (double_assignment.go): two members own the same
//     partition in one generation, as their clients reported after each
//     assignment, revoke or loss; under the consumer protocol (KIP-848,
//     per-member epochs) also a partition reported assigned while another
//     member still owned it, when that owner then revoked it and was moved
//     on to a later epoch as the same member (never removed meanwhile),
//     and the new owner's epoch is not below the one at which the owner
//     reported it assigned (a lower one may be an older assignment the new
//     owner learned late, after the coordinator had removed it; such a
//     pair is judged the other way round, the late learner as the owner).
//   - rebalance-skip (rebalance_skip.go): a member given a partition first
//     read it past the committed offset (taken as high as any commit that
//     may have applied by then asked for; the log start if none), over a
//     known record.
//   - committed-redelivery (committed_redelivery.go): a member given a
//     partition after a commit of it was acknowledged read a record below
//     that committed offset.
//   - unfenced-instance (unfenced_instance.go): a commit accepted from a
//     static member (group.instance.id) under a member id its instance no
//     longer had: a newer member id of the instance had reported an
//     assignment before the commit began (KIP-345 fences the old one).
//     Newer as the history shows it, not by first reports: one client's
//     ids follow each other, and an id in use before a later
//     incarnation's client was made is older than that client's; a
//     client's new id may commit before its callbacks report it. An old
//     id that took the instance back (its newer holder reported owning
//     nothing, then the old id an assignment of a later generation: the
//     next member to join after a KIP-848 static leave) commits as the
//     instance's again.
//     Double-assignment takes a static member's incarnations as one
//     member, and a KIP-848 member's generation as its member epoch.
//
// With Opts.TxnGroupCommits (a processor whose members commit inside their
// transactions) the offsets of a transactional txn (history.Txn.Offsets)
// are commits of its group: a committed transaction's accepted, an
// aborted one's never applied, one of unknown outcome perhaps applied
// (their member and generation unknown: unfenced-instance does not judge
// them); and a member's transaction that did not commit starts a new
// consumer session of its process, as kgo's GroupTransactSession rewinds
// to the committed offsets.
//
// Unknown outcomes: an info send, or an invoke never completed, may or may
// not have happened. Its value may be read (not an anomaly) and it is never
// counted lost. A fail send definitely did not happen, so reading its value
// is an anomaly; the workload decides which errors are definite. A kgo
// consumer fetches in the background, so a poll's answer may predate the
// poll: a read is taken to have happened between the invoke of the same
// client's previous poll that returned the partition and its own
// completion.
//
// Offsets need not be contiguous (control records take offsets no consumer
// sees), so a gap is only a skip when a record is known in it.
//
// Workloads add their own checks as Opts.Properties (one anomaly each,
// reading only the history); the verdict lists them with the others.
// Judge (judge.go) is Check plus the exit code of a run, shared by the
// simulation guest and `weir check`.
//
// Checks made outside the history join the verdict through AddFound
// (external.go): the simulator's metadata checker ("metadata",
// quorum.History.Check over every node's metadata entries and images: one
// quorum leader per term, one log, epochs that only grow, one leader per
// partition leader epoch, and every ISR change a leader asked for applied
// to the state its AlterPartition named, which the change record carries)
// and the brokers' invariant breaches (unfenced-isr and the others).
//
// Verdict: Outcome is valid, invalid (an anomaly the configuration does not
// allow, Opts.Allowed) or unknown (nothing not allowed found, but something
// could not be judged: Unjudged says what and why: the final read did not
// read every partition completely, a processing application did not get
// through its input, or a checker ran out of its budget). Unknown is never valid.
// Checks lists every checker with what it did (clean, found, unknown,
// not-checked), so nothing reads "clean" that was not checked.
// Linearizability holds porcupine's result per partition, and the file its
// HTML visualisation of a failing window was written to
// (Opts.VisualizationPath).
//
// Budgets: every checker but the linearizability check is O(n log n). That
// one is bounded per partition by a deterministic step budget (Opts.
// LinearizabilitySteps, DefaultSteps) and optionally by wall time (Opts.
// LinearizabilityTimeout); out of budget is unknown.
//
// Cost (BenchmarkCheck, generated histories of correct brokers, 2 vCPU):
// about linear in the history's length, 20 ms for 10,000 operations, 270 ms
// for 100,000, 0.9 s for 300,000 on one partition; more partitions cost
// more because every poll then reads every partition (100,000 operations:
// 390 ms on 4 partitions, 640 ms on 16). porcupine's share is a third or
// less (BenchmarkLinearizability: 90 ms for 100,000 operations on one
// partition, 390 ms on 16, where polls carry more reads).
//
// The output is deterministic: maps are walked in sorted order, witnesses
// are sorted, and encoding/json writes map keys sorted. The package keeps no
// package-level mutable state and never changes the history it is given.
package checker
