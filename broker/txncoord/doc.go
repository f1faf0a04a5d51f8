// Package txncoord is Kafka's transaction coordinator as a state machine
// without I/O, like broker/group's group coordinator (etcd-raft's RawNode
// is the model). A [Shard] holds the transactional ids of one
// __transaction_state partition; the broker (the shell, broker/txns.go)
// feeds it requests, the time, how far that partition's log is durable and
// which transaction markers got written, and carries out what it decides:
//
//   - [Output.Batch]: __transaction_state records to append at exactly the
//     offset the shard names (Kafka's TxnMetadataKey/TxnMetadataValue);
//   - [Output.Replies]: answers, released once every record decided before
//     them is durable ([Shard.Durable]);
//   - [Output.Markers]: transaction ends whose prepare record is durable:
//     the shell writes the marker to every partition of the transaction
//     (WriteTxnMarkers to each partition's leader, retried until done) and
//     reports it with [Shard.MarkersWritten], which completes the
//     transaction;
//   - [Shard.NextDeadline]: when to call [Shard.Tick], which aborts
//     transactions open past transaction.timeout.ms and removes
//     transactional ids idle past transactional.id.expiration.ms.
//
// The states are Kafka's: Empty, Ongoing, PrepareCommit, PrepareAbort,
// CompleteCommit, CompleteAbort, Dead (an expired id, removed with a
// tombstone) and PrepareEpochFence (the coordinator's own abort of an
// ongoing transaction, with the epoch bumped so the producer is fenced;
// never written, as in Kafka). The requests served are InitProducerId
// with a transactional id (epoch bumps, fencing, KIP-360 recovery, producer
// id rotation when the epochs run out), AddPartitionsToTxn (v0-3 from
// clients; v4+ batched from partition leaders, either verify-only, KIP-890
// part 1, or adding, for Produce v12+ clients), AddOffsetsToTxn, EndTxn,
// DescribeTransactions and ListTransactions.
//
// Transaction version 2 (KIP-890 part 2): a client that ends its
// transactions with EndTxn v5+ gets a new epoch at every end; the markers
// carry it, so a partition refuses a late batch of the old transaction and
// a late marker, and a late EndTxn of a transaction can never end the next
// one (it is either a retry, answered as before, or fenced). Clients of
// version 1 (EndTxn v0-4) keep their epoch across transactions, as with
// Kafka: for them a delayed EndTxn can still land in the next transaction,
// which only a client upgrade closes.
//
// Invariants:
//   - A reply, and the markers of a transaction end, are released only
//     once every record decided before them is durable: no client is told
//     of, and no partition gets a marker of, a decision a crash could take
//     back. That holds for the records a new coordinator loads as well:
//     those past the durable offset it is given (a new leader's high
//     watermark) count as its own, not yet durable. A new coordinator
//     that loads the log sends the markers of every transaction it finds
//     prepared again, once durable, so a decided end always reaches every
//     partition of the transaction.
//   - A transaction ends at most once with one outcome, and a request
//     with an epoch older than the producer's current one changes nothing.
//   - The shard keeps no clock (time is an input that never goes
//     backwards inside it), does no I/O, starts no goroutine, and copies
//     what it keeps; producer ids come from the ProducerIDs function the
//     shell passes with the requests that may need one.
//
// Config.Defects.NoEpochBump plants the flaw KIP-890 part 2 closes (every
// transaction ends at its own epoch), so that the property tests, and the
// simulator, can show that their checks find it.
//
// A Shard is not safe for concurrent use; the shell serializes calls.
package txncoord
