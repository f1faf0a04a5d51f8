// Package env holds the seams between Weir and the world: the network (Net),
// the file system (FS) and time (Clock).
//
// Every byte the broker reads or writes, every connection it accepts or
// dials, and every moment it waits goes through one of these interfaces. The
// real implementations here wrap the operating system; the simulator supplies
// its own (a simulated network, a crashable disk, a virtual clock) so that a
// whole cluster can run deterministically in one process.
//
// Built on the seams: WriteFileSync, WriteFileAtomic and ReadFileVerified
// (durable writes, and reads checked by the caller's checksum and repeated
// on a mismatch), and advice to the OS, DropCache and Preallocate, which
// never changes what a read returns.
//
// Clock has two readings: Now, the wall clock, which the simulator steps
// back and ahead (its times carry no monotonic reading), and Monotonic,
// the time the clock's timers run on, which never goes back. Code that
// measures a duration or keeps a deadline uses Monotonic (or a timer);
// Now is for what is stored or shown as a date.
//
// Invariants:
//   - Nothing in this package keeps package-level mutable state: several
//     brokers, each with its own FS and Net, share one process in simulation.
//   - An FS implementation makes data durable only through File.Sync and
//     directory entries durable only through FS.SyncDir; code that needs
//     durability must call them, because the crashable FS (memfs) drops
//     everything that was not synced.
//   - Paths are slash- or OS-separated relative or absolute names handled with
//     path/filepath; an FS never interprets them beyond that.
package env
