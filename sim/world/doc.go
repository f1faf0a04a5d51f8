// Package world is the simulated cluster a simulation run drives: nodes, each
// with a crashable disk (memfs), a host on a simulated network (simnet), a
// clock that can be offset, and a broker incarnation; clients reach them
// through the same network.
//
// A World applies faults (package faults) to the nodes and records a trace of
// every fault, crash, restart, heal and network event with the virtual time
// since the world began. Run is the shape of a simulation run: the safety
// phase (the schedule's events at their times while the workload runs), then
// the liveness phase (heal everything, restart every node that is down or
// whose disk failed, and wait, bounded, until every node answers and every
// partition has a leader and answers ListOffsets).
//
// Crash is a power loss, not a shutdown: the node's network is killed first
// (listeners closed, connections reset, its env.Net fenced), then its disk is
// replaced by disk.Crash(rng, keep) (synced data plus a seeded part of each
// unsynced tail), and only then is the old incarnation wound down: with
// broker.Abandon (every goroutine ends, nothing is fsynced) where the broker
// has it, else with broker.Close, whose fsyncs now hit the fenced disk and
// fail with memfs.ErrCrashed. Nothing the old incarnation does after the
// crash instant can reach a client or the new disk.
//
// Pause is approximated by simnet.Stall: the node's connections stop
// delivering in both directions and clients time out, but the node's own
// goroutines and timers keep running (a SIGSTOP would also delay them).
//
// Disk faults are injected with memfs.SetInjector: writes and syncs fail with
// EIO with a probability, at most a bounded count per fault window, and syncs
// may be delayed (a slow disk). Reads of the partition logs' segment and
// index files may return one flipped bit (SetReadFlips; the injector is a
// memfs.ReadCorrupter), with a probability, at most a bounded count per
// window: a transient fault on the way from the disk, the stored bytes stay
// right. The fault state belongs to the node, so it survives the node's
// crashes until healed; the liveness phase clears it.
//
// Invariants:
//   - All randomness comes from the rng given to New (split into one stream
//     for the network and one per node at New, in node order); all time from
//     Config.Clock (the real clock natively, the virtual clock in the guest).
//   - No package-level mutable state; every goroutine a World starts ends
//     when the world's context (Close) or the node incarnation's ends.
//   - Nodes are visited in name order (n1, n2, ...), so traces and rng draws
//     do not depend on map order.
//   - Lock order: machine.mu before World.mu; machine.diskMu and the trace's mutex
//     are leaves (the disk injector runs inside broker calls made while
//     machine.mu is held by Crash).
package world
