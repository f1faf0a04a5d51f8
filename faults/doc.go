// Package faults generates fault schedules: the nemesis of a simulation run.
//
// A Schedule is the list of fault events of a run's safety phase, each at a
// virtual time from the phase's start: a fault (crash, partition, pause, disk
// errors, clock jump, flaky links) and, later, its matching heal (restart,
// heal, resume, ...). Generate draws one from an rng, the node names, the
// enabled fault kinds and their rates; the same inputs give the same
// schedule. The world (sim/world) applies it; this package does no I/O.
//
// The fault atlas bounds what is generated to what the cluster promises to
// survive, as in TigerBeetle: faults beyond the promise only raise false
// alarms. Generate never emits:
//   - a fault on data that was synced (no stored bit flips, no lost synced
//     files): with one replica nothing could repair it; disk faults are
//     failed writes and fsyncs, which the broker must report, and transient
//     bit flips on read (the stored bytes stay right; only what one read
//     returns is wrong), which the broker must detect and retry, each
//     bounded in count per window (see Atlas.MaxReadFlips for which files);
//   - more than one node down (crashed or paused) at once, nor disk faults on
//     more than one node at once, so a majority and a quorum of replicas
//     stay intact once the cluster has several nodes;
//   - clock jumps beyond Atlas.MaxClockJump (far below retention.ms and
//     segment.ms defaults, which a larger jump could legitimately trigger),
//     drift beyond Atlas.MaxClockDrift, timer jumps beyond
//     Atlas.MaxTimerJump, or a timer jump backwards (monotonic clocks do
//     not go back);
//   - a fault left open: every fault's heal is in the schedule, at or before
//     Schedule.Duration (the liveness phase heals everything again anyway).
//
// Faults of one kind never overlap in time (one track per kind, and crash
// and pause share the "down" track); faults of different kinds may.
//
// Crashes are aimed at the moments where bugs live, within the same
// bounds: most wait, from their time, for a trigger the world watches on
// the node's disk (Trigger: the Nth segment fsync, landing inside it or
// just after it while its acknowledgements are on the wire; a segment roll,
// landing before one of its disk operations); a third restart within two
// seconds, while producers still retry what the crash cut off; a quarter of
// the restarts crash again during recovery (Event.Ops); a quarter of the
// crash windows crash the same node again soon after it came back. A
// triggered crash that has not come by the node's restart is dropped, so
// the node is down only inside its window. Uniformly timed crashes alone
// rarely meet the few milliseconds in which, say, an acknowledgement is on
// the wire and its fsync not yet done.
//
// Late requests (LateRequests, drawn apart from Generate so that adding
// them leaves the rest of a schedule as it was): a client host is armed,
// for a window, so that its next request of one Kafka API key, and what
// follows it on that connection, arrives Hold late (OpLateRequest, a
// network fault of kind Partition; OpLateRequestHeal disarms it if no such
// request came). The client times out and retries over a new connection
// while the broker still gets the old request: KIP-890's late EndTxn and
// late produce. A broker host may be armed too: its next AlterPartition
// to the controller (a forward on the metadata quorum's connection of its
// own) arrives late while its heartbeats flow, so the controller may have
// changed the ISR meanwhile and the request names a stale partition
// epoch. LateAlterWindows aims at that moment: a follower crashes and
// returns, the other brokers' next AlterPartition (the leaders putting it
// back) is held 9-13 s, and meanwhile a second follower crashes and
// returns, so the held changes name the epoch from before the controller
// took it out; its windows go around a given schedule's downtime, so the
// two never have more than one node down. LateConfig.LandBy keeps every late request landing before
// a given time (the end of the clients' traffic). Schedule.Merge adds them
// to a generated schedule.
//
// Invariants: no package-level mutable state; Generate consumes the rng in a
// fixed order (kinds in Kind order, nodes by name) and returns events sorted
// by time, ties kept in generation order with heals before faults.
package faults
