// Package txn holds the broker's producer-side state: producer id
// allocation and, per partition, the producer state: the idempotence state
// that lets a broker recognise retried batches, and each producer's part
// in transactions (txns.go). The transaction coordinator is
// broker/txncoord.
//
// # Producer ids
//
// IDAllocator hands out producer ids for InitProducerId. Like Kafka it takes
// ids in blocks and records the end of the last block in a file, durably,
// before any id of the block is returned. A restart therefore starts after
// the recorded end and can skip ids but never repeat one: a repeated id
// would let a new producer's batches be taken for retries of an old one's.
// A non-transactional producer always gets a fresh id with epoch 0; the
// epochs of transactional ids are the coordinator's (broker/txncoord).
//
// # Idempotence
//
// PartitionProducers is the per-partition table Kafka calls the producer
// state: for each producer id, its epoch and the metadata of its last
// BatchesRetained appended batches. Before an append the broker asks Check
// for a Decision (append, duplicate of an appended batch, or a Kafka error
// code); after the append it calls Update. It is a pure state machine: no
// I/O, no clock, no goroutines, no locks.
//
// # Transactions
//
// A producer's transactional batch opens its transaction in the partition
// (at that batch's offset) unless one is open; its next marker (a control
// batch: MarkerBatch, ParseMarker) ends it, committed or aborted. Check
// refuses a plain batch of a producer with a transaction open, and, with
// verification required (KIP-890 part 1), a transactional batch that would
// open one without a confirmed verification (StartVerification, Verified;
// a marker of the transaction voids it). CheckMarker refuses a marker of
// an older epoch than the producer's, under transaction version 2 one not
// newer while a transaction is open, and one from an older coordinator
// epoch. LastStableOffset gives the LSO, AbortedIn the aborted
// transactions a read_committed fetch returns.
//
// Invariants:
//   - The state is a function of the log alone: replaying Update over the
//     partition's batches in offset order (Replay) rebuilds exactly the state
//     that live Check/Update produced. That is how the state survives a
//     restart and a truncation (Reset, then replay the log that remains),
//     from the newest snapshot (AppendSnapshot, RestoreSnapshot) that fits.
//     Only verifications, transient by nature, and ended transactions the
//     LSO no longer depends on (ForgetStable) are outside it.
//   - The LSO is at most the first offset of every transaction that is
//     open or whose marker is not below the high watermark.
//   - For a known producer and epoch, a batch is appended only if its first
//     sequence follows the last appended one (wrapping past MaxInt32 to 0),
//     so within an epoch each sequence number is in the log at most once.
//   - A retry of one of the last BatchesRetained batches is never appended
//     again; Check returns the offsets it was first appended at.
//   - Nothing here keeps package-level mutable state (several brokers share
//     one process in simulation).
//
// Never: call Update for a batch that was not appended, or out of log order;
// the table would then disagree with the log and with its own replay.
package txn
