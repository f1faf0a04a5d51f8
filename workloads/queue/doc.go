// Package queue is the queue workload: producers append unique values to a
// topic's partitions and consumers poll them, through the real franz-go
// client (kgo), while the recorder writes down what every client saw. This
// comment is the workload's specification: model, operations, anomalies.
//
// # Model
//
// A topic is a set of partitions; each partition is a totally ordered,
// append-only log that holds one record per offset, from its log start to
// its high watermark. A send of a record appends it to one partition (the
// client hashes the key, or picks a partition per batch for a record
// without one) and, when acknowledged with acks=all, the broker promises
// that the record is below the high watermark already and stays at the
// offset it returned, for every reader, forever. The high watermark and the
// log start never go back. A client appends the records it is given to a
// partition in the order it is given them. A consumer assigned to a
// partition reads its records in offset order from the log start; its next
// poll continues where the last one stopped.
//
// Every value is unique in a run ("p<process>-<n>"), so a value names the
// send that wrote it and the checkers can tell a lost, duplicated or moved
// record from a legitimate one.
//
// # Operations
//
//   - send {client, topic, key, value} -> ok {partition, offset}. Each of
//     Config.Producers kgo clients (idempotent, acks=all, Config.Linger of
//     linger by default) is shared by Config.InFlight logical processes,
//     each with one send open, so a client has several records in flight
//     and its requests carry multi-record batches, while every process runs
//     one operation at a time (Jepsen's shape). A process's invoke is
//     recorded and its record handed to the client in one step under the
//     client's lock, so invoke order is the order the client received the
//     records. Records are keyed (Config.Keys keys) or, for
//     Config.UnkeyedShare of them, not; Config.Rate spreads a client's sends
//     as Poisson arrivals. A send is fail only when the broker or client
//     refused it for a reason that holds for every attempt, so no attempt
//     can have been appended: kerr MESSAGE_TOO_LARGE,
//     RECORD_LIST_TOO_LARGE, INVALID_RECORD, INVALID_TOPIC_EXCEPTION,
//     TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED,
//     UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_REQUIRED_ACKS,
//     INVALID_TIMESTAMP, UNSUPPORTED_VERSION (gen.DefiniteFailure). Every
//     other error (kgo's record timeout or retry limit, a lost connection,
//     a retriable kerr code, the run ending) is info: the request may have
//     been appended. After an info the process is considered crashed and
//     continues under a new process id, and its client, in which the record
//     may still be buffered or in flight, is closed and replaced by a new
//     incarnation with a new id: the sends other processes had open in it
//     end info too. Config.Acks (acks=1) and Config.DisableIdempotence
//     weaken the producers; Config.Allowed lists what they no longer
//     promise.
//   - txn {sends} (Config.Txn, txn.go; Jepsen's txn mode): each producer
//     client host runs TxnConfig.Processes transactional kgo clients, each
//     with a transactional id of its own, one transaction at a time: 1 to
//     TxnConfig.MaxSends sends in one Kafka transaction, then commit, or
//     abort on TxnConfig.AbortChance of them. ok is committed (CommitTime:
//     when the commit was asked), fail aborted (on purpose, or after a send
//     failed, and the abort confirmed), info unknown (a flush, commit or
//     abort that did not answer): the process crashes and the next
//     incarnation's InitProducerId fences the old one. Consumers and the
//     final read then read read_committed (Assign/Subscribe.ReadCommitted),
//     so aborted-read, precommitted-read and torn-transaction judge them;
//     they keep control records (gen.ReadCommitted says why) and leave
//     them out of the history and of a member's commits.
//     A transaction pauses up to TxnConfig.Think before each send but the
//     first and before its end. On TxnConfig.OffsetsChance of those whose
//     sends all succeeded it also commits, inside itself, a consumer
//     offset for the member-less group TxnConfig.Group (AddOffsetsToTxn,
//     TxnOffsetCommit: one past its first record, metadata
//     "p<process>-t<n>", unique), recorded in Txn.Group/Offsets with the
//     answer. AddOffsetsToTxn answered CONCURRENT_TRANSACTIONS (the
//     coordinator still ending the producer's last transaction) is sent
//     again, as kgo's own and the Java producer's are.
//   - offsets {group} after a transaction (TxnConfig.ReadOffsetsChance),
//     and once after the final read (TxnOffsetsProcess): the group's
//     committed offsets (OffsetFetch), which aborted-offset-commit judges
//     against the transactions that aborted.
//   - With Config.Compacted (compacted.go) a compacted topic
//     (cleanup.policy=compact, <topic>-kv) runs beside the queue's: a
//     producer client of its own (host kv-producer, CompactedConfig.
//     Processes processes) sends keyed records, keys drawn by Zipf's law
//     from CompactedConfig.Keys (hot keys overwritten again and again,
//     cold ones rarely), a share of them tombstones (a null value; the
//     unique history value rides in the history.TombstoneHeader header);
//     a consumer of its own (host kv-consumer) subscribes to it and
//     starts again from its start before a poll with CompactedConfig.
//     ReassignChance, so its reads cross the cleaner's gaps; FinalReads
//     reads it too, its final op marked Compacted, so checker judges it
//     by each key's last record (compaction-lost-key).
//   - assign {topic, partitions}: a consumer replaces its client with one
//     that consumes exactly these partitions from their start
//     (kgo.ConsumePartitions).
//   - subscribe {topics}: a consumer replaces its client with one that
//     consumes every partition of the topics from their start
//     (kgo.ConsumeTopics, no group).
//   - With Config.Group (group.go) the consumers are instead members of
//     one consumer group: join (a new kgo.ConsumerGroup client; its
//     partition changes are assignment ops of an events process, with
//     member id and generation), polls, commit (what the member processed,
//     with leader epoch and metadata, at the generation it holds; no
//     rebalance runs between a poll and its commit; the completion
//     records the generation of the request answered, which kgo raises
//     when it sends a commit again after a STALE_MEMBER_EPOCH), late
//     commits (GroupConfig.LateCommitChance: a partition the member lost,
//     at the generation it processed it in, sent as one OffsetCommit of
//     the workload's own that nothing sends again at a newer generation;
//     a correct coordinator refuses it) and offsets (an
//     OffsetFetch of the group); members crash or leave after a drawn
//     lifetime (through kgo, or abruptly: a LeaveGroup at once, whatever
//     the client waits for, and no final commit, as the Java consumer's
//     close does), rolling restarts end every slot's incarnation in turn,
//     a leader may be slow to assign (GroupConfig.AssignDelay), and
//     FinalReads reads the group's committed offsets last. The group runs
//     the classic protocol or KIP-848's consumer protocol
//     (GroupConfig.Protocol; the member's generation is then its member
//     epoch), with dynamic or static members (GroupConfig.Static: one
//     group.instance.id per slot, recorded in the join); a static
//     member's crash may be a zombie instead (GroupConfig.ZombieShare):
//     the process stops while its slot's next incarnation joins, then
//     goes on committing as the member it was, which the coordinator
//     must have fenced.
//   - poll -> ok {per partition its fetches answered: high watermark, log
//     start, (offset, key, value)...}: one kgo PollFetches bounded by
//     Config.PollTimeout. Every partition of the fetches is recorded, with
//     or without records; a partition that came with an error has Unknown
//     watermarks (kgo injects errors as fetches with zero watermarks) and
//     its error, with kgo's data-loss error also in structured form. A poll
//     that returns nothing because the bound passed is ok and empty; one
//     that returns only client-wide errors is fail (a read has no effect).
//     A consumer pauses Config.PollInterval between polls, so that at high
//     rates a fetch carries many records.
//   - final (FinalReads, after Run, once the cluster healed): a final op of
//     FinalProcess, invoked before and completed after the whole final
//     read: list each partition's log start and high watermark, then read
//     every partition from its log start to that high watermark, recorded
//     as an assign and polls of FinalReader. It completes ok with a mark per
//     partition when every partition the topic was created with was read
//     completely; info ("incomplete") when some was not (its mark says how
//     far, or it was not listed); fail when nothing could be listed.
//
// # Anomalies (judged by package checker)
//
// lost-write (judged against the complete final read), unseen
// (informational), duplicate, inconsistent-offsets, nonmonotonic-send (per
// client and partition), nonmonotonic-poll, poll-skip, int-poll-skip,
// int-nonmonotonic-poll, int-send-skip and int-nonmonotonic-send (txn ops),
// phantom-value, watermark-regression, aborted-read, nonlinearizable
// (porcupine, per partition), and, in the transactional mode,
// precommitted-read, torn-transaction and aborted-offset-commit; in the
// compacted mode compaction-lost-key. A final
// read that is not ok leaves lost writes unjudged: the verdict is unknown,
// a liveness failure, never valid.
//
// What a configuration does not promise (Config.Allowed): int-send-skip
// always (other producers interleave, as in Jepsen); duplicate without
// idempotence; with acks=1 also lost-write, inconsistent-offsets (another
// record takes a lost one's offset) and nonlinearizable (the answer comes
// before the high watermark passes the record).
//
// # Bounds
//
// Every wait is bounded so a stuck cluster burns virtual time and the run
// ends: kgo's RetryTimeout, RequestTimeoutOverhead and
// RecordDeliveryTimeout, plus Config.OpTimeout on each send (an idempotent
// kgo producer does not give up a record that is in flight, so the process
// stops waiting, records info and its client is replaced), and three op
// timeouts on each transaction, its begin included (gen.BeginTxn: kgo's
// takes no context; giving up replaces the client). Run ends after
// Config.Duration, when ctx ends, or when every producer client sent
// Config.SendsPerProducer.
//
// The package keeps no package-level mutable state; every goroutine Run or
// FinalReads starts ends before they return; all randomness comes from
// Config.Rand, split into one generator per process before any starts.
package queue
