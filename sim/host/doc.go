// Package host is the native side of the simulator: it builds the guest
// (cmd/weir-sim for GOOS=wasip1 GOARCH=wasm), compiles it once per process
// with wazero, and runs it once per seed in a fresh module instance whose
// clock and random numbers it owns, so that a run is a pure function of the
// guest module, its arguments and its environment (DESIGN.md, "Determinism:
// how sim works"). It also implements `weir sim` (Command).
//
// What a run gets from the host, and why:
//   - WithRandSource: a ChaCha8 stream keyed by the seed. The Go runtime
//     seeds map order, select and math/rand from it.
//   - WithNanotime and WithWalltime: one virtual clock per instance that
//     starts above zero (a clock reading 0 makes the runtime abort) and
//     advances a fixed tick (1µs) per read, so that a loop waiting for time
//     to pass does not hang.
//   - WithNanosleep: adds the duration to the virtual clock and returns. When
//     every goroutine is blocked the runtime sleeps until its next timer, so
//     idle virtual time costs no wall time.
//   - WithOsyield: a no-op (the guest is single-threaded).
//   - args, env, stdout and stderr captured in the run folder, and the run
//     folder itself mounted at /out, where the guest writes trace.log,
//     history.jsonl and verdict.json.
//
// Invariants:
//   - Nothing of the host reaches a guest except through those: no real
//     clock, no host randomness, no host paths (the run folder is always
//     /out inside), no host environment. Replay needs only header.json.
//   - One wazero runtime and one compiled module per Runner; one module
//     instance per run, never reused. Instances share no memory, so runs of
//     different seeds can run in parallel.
//   - Every run ends: the guest enforces its virtual-time budget, the host
//     stops a guest whose virtual clock passes the budget anyway, and a
//     wall-clock cap stops a guest that runs too long. All three, and any
//     guest crash, are harness errors (exit code 3). The host stops a
//     guest through its clock (the next read panics, and wazero ends the
//     call), not with wazero's WithCloseOnContextDone, whose checks cost
//     about half of a run's CPU; so a guest that spins without reading the
//     clock cannot be stopped, and would block the host's next garbage
//     collection for ever: the host then says which run spun and exits
//     with code 3, unless the runner was made with SpinCheck (`weir sim
//     --spin-check`), which compiles the checks in.
//   - A verdict code is trusted only when the guest's exit code and its
//     verdict.json agree (a Go panic exits 2, which is also "liveness").
//
// Exit codes of a run and of `weir sim`: 0 valid, 1 invalid, 2 liveness,
// 3 harness error; a sweep reports the worst.
//
// `weir sim` is a developer tool: unless --guest names a prebuilt module it
// builds the guest from the Weir source tree it is run in, with the Go
// toolchain on PATH. Builds are cached (os.UserCacheDir()/weir, or
// $WEIR_CACHE) under a hash of the module's Go sources, go.mod, go.sum and
// the Go version, so an unchanged tree does not rebuild; wazero's compiled
// code is cached in the same folder.
//
// This package must never be imported by code that runs in the guest.
package host
