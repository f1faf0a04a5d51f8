// Package pipeline measures, from a run's history alone, how a stream
// workload's pipeline (producers, cluster, processing application, its
// committed output) performed: the end-to-end latency of every input
// record, the processed output per virtual second, and, for vitals, the
// delay of every alert. Package reports/plot draws what it measures and
// package reports/html tables it.
//
// # Definitions
//
// A record's end-to-end latency runs from the acknowledgement of its send
// (the completion of the ok send op that wrote it to the input topic) to
// the acknowledgement of the write that carried its processed output: the
// completion of the processor's txn op (for payments and vitals the
// committed transaction, so the output was visible to read_committed
// readers from then on; for clickstream, whose writes are not
// transactional, the acknowledgement of the batch's summaries). Only
// outputs the final read of the output topic found are counted (read
// back, read_committed for the transactional workloads); when a record
// has several (a replay that wrote it again), the earliest counts. The
// output names its input:
//   - payments: a ledger entry's input position (its "p" and "o");
//   - vitals: a processed record's input offset ("o") in the same
//     partition of the input topic;
//   - clickstream: a session summary's input offsets ("offs") in the same
//     partition of the input topic, one sample per event counted.
//
// Processed throughput is the number of input records whose first
// committed output was acknowledged in each virtual second, beside the
// input sends acknowledged in that second.
//
// A vitals alert's delay runs from the acknowledgement of its reading's
// send to the moment the transaction carrying the alert asked to commit
// (Txn.CommitTime; the txn's completion when it has none), the definition
// the vitals-alert-latency checker judges against Config.AlertBound; the
// first committed alert of each rule and reading counts.
//
// Times are since the run began (pipeline.Origin): virtual time in the
// simulator, wall time for a run against a real cluster (`weir workload
// run`), whose folders are measured the same way.
//
// The queue workload has no processing stage: its sends are measured by
// plot.Sends. Records whose send was never acknowledged have no start and
// are left out; acknowledged input records with no committed output are
// counted as Unprocessed.
//
// # Invariants
//
// Nothing here changes the history; every result is built in a fixed
// order (workloads in the registry's order, samples by output time), so a
// report drawn twice from one folder is the same. It reads the value
// formats the workloads' doc.go files specify, only the fields named
// above.
package pipeline
