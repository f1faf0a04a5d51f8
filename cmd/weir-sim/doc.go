// Command weir-sim is the simulation guest: the program that sim/host builds
// for GOOS=wasip1 GOARCH=wasm and runs under wazero, once per seed, with a
// seeded random source and a virtual clock (see DESIGN.md, "Determinism: how
// sim works"). A run is a pure function of its arguments and the guest
// module: the same seed on the same build writes the same trace.log, bit for
// bit.
//
// What main does, in order:
//
//  1. Parse the flags (--seed, --duration, --budget, --faults, --workload,
//     --defect, --scenario, --txn, --controllers, --out, ...). --defect
//     is a broker defect, or a workload's processing application's as
//     <workload>/<defect> (workloaddefects.go), planted in that workload's
//     parameters. --controllers (controllers.go) forces the metadata
//     quorum's mode: combined (every broker a voter) or dedicated (three
//     nodes with process.roles=controller); seed, the default, draws
//     dedicated on a third of the seeds. --rate (load.go) forces the
//     queue's sends per virtual second; else the seed draws 100, 500,
//     1000 or 2000. --brokers N or N-M (brokers.go) restricts the
//     world's broker count; a seed whose own draw is outside the range
//     draws again within it, from a stream of its own.
//  2. Derive every parameter of the run from the seed (math/rand/v2 seeded
//     from --seed; nothing else decides them), print "SEED=<n>" and then the
//     parameters as one line "PARAMS=<json>" on stdout, and for the world
//     scenario its cluster as "CLUSTER=3 brokers, 3 dedicated controllers
//     ..." (or "..., combined mode ..."). The host copies the PARAMS line
//     into the run's header.json.
//  3. Call runScenario (scenario.go) with a context whose deadline is the
//     virtual-time budget. That function is the seam where the real world
//     (sim/world + workload + checkers) plugs in.
//  4. Write trace.log, history.jsonl and verdict.json into --out (the host
//     mounts the run folder there) and exit with the verdict's code.
//
// Exit codes, the same as `weir sim`: 0 valid, 1 invalid (a checker found a
// violation), 2 liveness (the healed system did not converge), 3 harness
// error. A Go panic or fatal error also exits 2, so the host trusts a code
// only when verdict.json says the same; a run without a matching
// verdict.json is a harness error.
//
// The program also builds and runs natively (go run ./cmd/weir-sim --out
// /tmp/x), which helps when debugging a scenario, but only the wasip1 build
// under sim/host is deterministic.
//
// Rules for everything that runs in here (DESIGN.md): no spin loops or busy
// waits (wasm has no preemption), no package-level mutable state, every
// goroutine ends with its context, all time from the (virtual) clock, and
// trace the same way in every run: record in memory, write at the end.
package main
