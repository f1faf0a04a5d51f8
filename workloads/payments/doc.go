// Package payments is the money workload: deposits, withdrawals and
// transfers between accounts, from several idempotent, pipelined producer
// clients into a partitioned command topic, and a transactional processor
// (a consumer group run by package stream: consume-transform-produce in
// kgo.GroupTransactSession, offsets committed in the transaction,
// read_committed) that applies them to balances, writes a ledger entry
// per command and every changed balance to a compacted state topic, and
// raises fraud alerts. This comment is the workload's specification:
// model, operations, anomalies.
//
// # Model
//
// Accounts are "b<branch>a<i>": Config.Branches branches of
// Config.Accounts accounts. Commands are keyed by branch, so a branch's
// accounts live in one partition and a transfer never leaves it; the
// processor's state for input partition p (balances, withdrawals, alerted
// windows) is a function of output partition p of the ledger, the state
// topic and the alerts (its restore). A command is
// "cmd|<id>|<kind>|<account>|<to>|<amount>|<ms>": id "p<process>.<n>" is
// unique in a run; ms is its event time (business time: the run's clock
// times Config.TimeScale).
//
// The rules, applied in input offset order per partition:
//   - a deposit adds its amount; a withdrawal takes it and a transfer
//     moves it to another account of the branch, unless that takes the
//     account below its floor: -Config.CreditLimit for a branch's account
//     0, 0 for every other. A command refused is still written to the
//     ledger, as not applied.
//   - fraud: more than Config.MaxWithdrawals applied withdrawals of one
//     account within Config.Window of event time. Tumbling: windows
//     [k*Window, (k+1)*Window); window k of an account is alerted once, at
//     the withdrawal (in ledger order) that takes its count past the
//     limit. Sliding: a withdrawal at t is alerted when the account's
//     withdrawals applied so far (ledger order) with event time in
//     (t-Window, t] are more than the limit.
//
// Each input command gives one ledger entry {cmd, kind, applied, legs:
// [{account, change, balance after}], ms, the input position, w: a tag
// unique to the write}; each leg gives a state record {account, balance,
// cmd} keyed by account; each alert {rule, account, window or cmd}. All of
// a batch's outputs and its input offsets commit in one transaction.
//
// # Operations
//
//   - send {client, topic, key=branch, value=command}: gen.Sender.
//   - txn (transactional) by a processor member: the outputs of one batch
//     as sends; ok committed, fail aborted (on purpose with
//     Config.AbortChance, after a failed write, or by the session), info
//     unknown. Restores are
//     an assign (read_committed) and polls of the member's process.
//     Members join, leave and crash as Config decides (package stream).
//   - after the safety phase (Workload.Finish): a barrier to every input
//     partition, answered by a ledger entry {barrier, offset}; then the
//     final reads of the commands and, read_committed, of the ledger, the
//     state topic and the alerts (gen.FinalRead).
//
// The state topic is created compacted with a day's min.compaction.lag.ms:
// compaction must not drop, while the run is judged, the balances the
// history holds as acknowledged writes.
//
// # Anomalies
//
// The queue anomalies on every topic, the transactional ones of package
// checker on the processor's txn ops (aborted-read: a read_committed
// reader saw an aborted transaction's record; precommitted-read: it saw
// one before its transaction asked to commit; torn-transaction), and one
// file per property of this workload, judged on the committed outputs:
//
//   - payments-exactly-once (check_once.go): a command with two ledger
//     entries, a command below an answered barrier with none, an entry for
//     a command the input does not hold.
//   - payments-conservation (check_conservation.go): money created or
//     destroyed at a committed point: a leg whose balance is not the
//     account's previous committed balance plus its change, legs that are
//     not what the command says (a transfer's sum to zero), a state record
//     that is no ledger leg, a final balance that differs from the
//     ledger's, balances that do not sum to deposits minus withdrawals.
//   - payments-negative-balance (check_overdraft.go): a ledger leg or a
//     state record below the account's floor.
//   - payments-fraud-alerts (check_fraud.go): alerts not exactly those the
//     rule defines on the committed ledger: one missing, one for a window
//     or withdrawal that does not qualify, one raised twice.
//
// A property that needs a final read that did not complete is unknown
// (final-read-incomplete); missing entries of a partition whose barrier
// never came out are unknown (processing-incomplete). Both are liveness
// failures, never valid.
//
// # Planted defects (Config.Defects, off by default), one per property
//
//   - NoTransaction (stream): outputs and offsets outside any transaction
//     while recorded as one; an abort leaves its outputs visible and the
//     rewound input is applied again (payments-exactly-once; aborted-read
//     too).
//   - KeepStateOnAbort (stream): after an abort the processor keeps the
//     aborted batch's effects, so the redone batch builds on balances no
//     committed entry shows (payments-conservation).
//   - ReadUncommitted (stream): restores read_uncommitted while the
//     history says read_committed, so a restore after an abort reads the
//     aborted records (aborted-read).
//   - StaleBalance: the overdraft check reads balances as they were when
//     the batch began, so two withdrawals in one batch can overdraw
//     (payments-negative-balance).
//   - FraudAtLimit: "more than N" read as "N or more"
//     (payments-fraud-alerts).
//
// TestDefectsCaught (checkers_test.go) shows each caught on a scripted
// run of the processor's code in an in-memory cluster (package
// streamtest), the same history every time; TestCheckersOnForgedOutputs
// shows each checker naming a forged output; TestRandomSchedulesValid
// judges the correct processor valid on random schedules of batches,
// aborts, crashes and takeovers (rapid), and
// TestDefectsFoundBySeededSchedules finds each defect within 100 seeded
// schedules that the correct processor passes. Against a real broker,
// TestRunAgainstWeir judges a correct pipeline valid, and
// TestDefectsCaughtRealtime (on request: WEIR_REALTIME_DEFECTS=1) looks
// for each defect in short runs.
//
// The package keeps no package-level mutable state; all randomness comes
// from Config.Rand (or Config.Seed), split per worker before any starts.
package payments
