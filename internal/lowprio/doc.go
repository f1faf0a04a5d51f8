// Package lowprio runs work that nobody is waiting for on OS threads whose
// CPU priority is lowered, so that it takes the CPU only when the work
// somebody waits for leaves it idle.
//
// The broker uses it for the fsyncs no producer or consumer waits on: with
// acks=1, the background fsync (and the page-cache drop that follows it)
// was 29% of the broker's CPU samples, and on a busy machine it competes
// with the request path and the clients. The kernel's scheduler is what
// knows when a CPU is idle; a nice value tells it which work can wait. This
// is what RocksDB does for its compaction threads.
//
// Invariants:
//   - A Pool's workers are goroutines locked to their own OS thread, never
//     unlocked: a thread whose priority was lowered ends with its worker and
//     never runs other goroutines.
//   - Do runs fn exactly once and returns nil, or does not run it at all and
//     returns why (the caller's context or the pool ended first). Once a
//     worker has taken fn, Do returns only after fn has.
//   - Every worker ends when the Pool's context ends; Wait waits for them.
//   - Where threads have no priority of their own to set (not Linux, wasm
//     included), the workers are ordinary goroutines and Start says so.
package lowprio
