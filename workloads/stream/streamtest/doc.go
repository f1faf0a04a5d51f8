// Package streamtest runs a stream.App the way package stream does, but
// without a cluster and without timing: an in-memory Cluster of topics
// and transactions, a Pipeline of members whose batches, aborts, crashes
// and partition moves the test scripts, and the history a real run would
// record for those same events (sends, txn ops, restores as assigns and
// polls, final reads). Workload tests use it to show a checker catching a
// planted defect on a history that comes out the same on every run; the
// real-broker runs show the same pipelines judged valid.
//
// # Model
//
// A record written inside a transaction is invisible to read_committed
// readers until the transaction commits, and forever if it aborts. A
// crashed member's transaction stays open until a read_committed reader
// waits it out (gen.ReadToEnd waits until none is open; the transaction
// timeout aborts it); a read_uncommitted reader sees its records while it
// is open. Offsets are dense: no
// control records. A member mirrors stream's member: it restores a
// partition from the outputs (read_committed when transactional) before
// its first batch there and after an abort; commits the offset past the
// batch (App.Committable when at-least-once); and honours every
// stream.Defects field the same way stream does.
//
// RandomRun plays a random schedule (batches of random size, commits,
// aborts, crashes at either point, takeovers, the clock moving) drawn from
// Draws: rapid's, so that a failing schedule shrinks, or a seeded
// generator's, so that a search over seeds is replayable.
//
// What it must never do: read a clock, draw a random number other than
// from the Draws it is given, or start a goroutine; the same script (or
// seed) gives the same history.
package streamtest
