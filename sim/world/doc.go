// Package world is the simulated cluster a simulation run drives: nodes, each
// with a crashable disk (memfs), a host on a simulated network (simnet), a
// clock of its own (nodeClock), and a broker incarnation; clients reach them
// through the same network, each from a host of its own (ClientDialer), so
// that a partition can cut some clients off from some nodes.
//
// The metadata quorum runs in KRaft's combined mode (every broker n1, n2,
// ... is a voter) or, with Config.Controllers, on dedicated controllers
// c1, c2, ... (process.roles=controller, node ids ControllerIDBase+1, ...:
// a quorum.Node and nothing else, started by broker.StartController),
// which the brokers (process.roles=broker) follow as Raft learners.
// Controllers are nodes like the brokers: disks, hosts, clocks, crashes,
// pauses, partitions and disk and clock faults all apply to them; a
// triggered crash there waits for an fsync of the metadata WAL (TriggerSync)
// or the start of a metadata snapshot (TriggerRoll). Clients bootstrap
// from the brokers only.
//
// A World applies faults (package faults) to the nodes and records a trace of
// every fault, crash, restart, heal and network event with the virtual time
// since the run began (Config.Start), and the faults applied for
// faults.jsonl (FaultRecords). Run is the shape of a simulation run: the safety
// phase (the schedule's events at their times while the workload runs), then
// the liveness phase (heal everything, restart every node that is down or
// whose disk failed, and wait, bounded, until the cluster converged: every
// node up with its quorum member running, all agreeing on one leader, a
// voter, in one term; every broker registered and unfenced; every
// partition led with its whole replica set in sync; every node's metadata
// image identical; every broker answering, every partition answering
// ListOffsets, and every replica holding its leader's records below the
// leader's high watermark: replicasAgree).
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
// Pause freezes the node as SIGSTOP would: its connections stop delivering
// in both directions (simnet.Stall), none of its timers fires (each node
// has its own env.Clock, nodeClock, whose timers fall due but fire only at
// Resume), and an fsync in flight completes on the disk but returns only at
// Resume. Goroutines that wait for neither keep running; in a broker none
// does more than finish the work already in hand.
//
// Clock faults act on the node's clock: a jump of the wall clock (Now
// only), a drift (the node's time, timers included, runs faster or slower
// than the world's) and a forward jump of the monotonic clock (every
// pending timer that much nearer). Resetting ends them; the monotonic time
// never goes back.
//
// Crashes may wait for a trigger (faults.Trigger), which the disk's
// injector watches: the Nth segment fsync (the crash lands a lag after it
// began: inside it, or just after while its acknowledgements travel), a
// segment roll (just before its Nth disk operation, which then never
// happens), or the start of a restart (a crash during recovery: the disk is
// crashed from inside the broker's Open, which then fails). A trigger
// never fires while the node is stopping cleanly. PowerLoss crashes every
// node at the same instant.
//
// A start the fault plan asks for that fails (a restart, the reboot after
// a heal, a triggered crash's own restart; not a crash during recovery,
// which the schedule's next restart heals) is tried again, as a supervisor
// restarts a broker whose start failed: 1s later, then twice as long each
// time up to 8s, until the node is up (startretry.go). The safety phase
// never leaves a node down that the plan meant up, which would stall a
// workload waiting for it and so the liveness phase after it.
//
// With guests built with -tags invariants, the brokers check invariants
// (internal/invariants) as they run; the world collects each breach
// (Breaches) and traces it, ignoring those of an incarnation that has
// crashed.
//
// Disk faults are injected with memfs.SetInjector: writes and syncs fail with
// EIO with a probability, at most a bounded count per fault window, and syncs
// may be delayed (a slow disk). Reads of the partition logs' segment and
// index files may return one flipped bit (SetReadFlips; the injector is a
// memfs.ReadCorrupter), with a probability, at most a bounded count per
// window: a transient fault on the way from the disk, the stored bytes stay
// right. The fault state belongs to the node, so it survives the node's
// crashes until healed; the liveness phase clears it. A heal reboots a
// node whose disk failed a write (a clean stop and a start, as an operator
// would); a paused node is rebooted at its resume instead, since its clean
// stop would wait on timers that fire only then.
//
// Invariants:
//   - All randomness comes from the rng given to New (split into one stream
//     for the network and one per node at New, in node order); all time from
//     Config.Clock (the real clock natively, the virtual clock in the guest).
//   - No package-level mutable state; every goroutine a World starts ends
//     when the world's context (Close) or the node incarnation's ends.
//   - Nodes are visited in name order (c1, c2, ..., then n1, n2, ...), so
//     traces and rng draws do not depend on map order; a combined cluster
//     draws what it drew before controllers existed. Close stops the
//     brokers before the controllers (whose incarnations do not end with
//     the world's context, which Close ends first), so that the brokers'
//     controlled shutdowns find a quorum.
//   - Lock order: machine.mu before World.mu before machine.diskMu;
//     machine.diskMu, the trace's, the breaches' and each nodeClock's
//     mutex are leaves (the disk injector runs inside broker calls made
//     while machine.mu is held by Crash, and takes World.mu only to crash a
//     disk during a start).
package world
