// Package queue is the queue workload: producers append unique values to a
// topic's partitions and consumers poll them, through the real franz-go
// client (kgo), while the recorder writes down what every client saw.
//
// # Model
//
// A topic is a set of partitions; each partition is a totally ordered,
// append-only log that holds one record per offset. A send of a keyed
// record appends it to one partition (chosen by the client by hashing the
// key) and, when acknowledged with acks=all, the broker promises that the
// record stays at the offset it returned, for every reader, forever. A
// consumer assigned to a partition reads its records in offset order; its
// next poll continues where the last one stopped.
//
// Every value is unique in a run ("p<process>-<n>"), so a value names the
// send that wrote it and the checkers can tell a lost, duplicated or moved
// record from a legitimate one.
//
// # Operations
//
//   - send {topic, key, value} -> ok {partition, offset}. Producers are
//     idempotent (kgo's default) with acks=all and no linger, one record in
//     flight per process. A send is fail only when the broker or client
//     refused it for a reason that holds for every attempt, so no attempt
//     can have been appended: kerr MESSAGE_TOO_LARGE,
//     RECORD_LIST_TOO_LARGE, INVALID_RECORD, INVALID_TOPIC_EXCEPTION,
//     TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED,
//     UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_REQUIRED_ACKS,
//     INVALID_TIMESTAMP, UNSUPPORTED_VERSION (see definiteFailure). Every
//     other error (kgo's record timeout or retry limit, a lost connection,
//     a retriable kerr code, the run ending) is info: the request may have
//     been appended. After an info the process is considered crashed: its
//     client is closed and the worker continues as a new process with a new
//     client, as in Jepsen.
//   - assign {topic, partitions}: a consumer replaces its client with one
//     that consumes exactly these partitions from their start
//     (kgo.ConsumePartitions).
//   - subscribe {topics}: a consumer replaces its client with one that
//     consumes every partition of the topics from their start
//     (kgo.ConsumeTopics, no group: Weir has no group coordinator yet).
//   - poll -> ok {per partition: (offset, key, value)...}: one
//     kgo PollFetches bounded by Config.PollTimeout. A poll that returns no
//     records because the bound passed is ok and empty; one that returns
//     only errors is fail (a read has no effect). Errors that came with
//     records (kgo's data-loss notice, for one) are kept in the op's Error.
//   - final (FinalReads, after Run, once the cluster healed): list each
//     partition's high watermark, then read every partition from its start
//     until the high watermark, recorded as assign and poll ops of
//     FinalProcess; then final ok {high watermark per partition that was
//     read completely}.
//
// # Anomalies (judged by package checker)
//
//   - lost-write: an acknowledged send not read at its offset although a
//     later offset of its partition was read, or the final read covered it.
//   - duplicate: one value at two offsets.
//   - inconsistent-offsets: two values read at one offset.
//   - aborted-read: a value of a failed send was read.
//   - nonmonotonic-poll, poll-skip: a consumer's successive reads of a
//     partition went backwards, or jumped over a record known to exist.
//
// # Bounds
//
// Every wait is bounded so a stuck cluster burns virtual time and the run
// ends: kgo's RetryTimeout, RequestTimeoutOverhead and
// RecordDeliveryTimeout, plus Config.OpTimeout on each send (an idempotent
// kgo producer does not give up a record that is in flight, so the worker
// stops waiting, records info and closes that client). Run ends after
// Config.Duration, when ctx ends, or when every producer sent
// Config.SendsPerProducer.
//
// The package keeps no package-level mutable state; every goroutine Run or
// FinalReads starts ends before they return; all randomness comes from
// Config.Rand, split into one generator per worker before any starts.
package queue
