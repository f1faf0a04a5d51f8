// Package runfolder is the contract of a run folder: the files a simulated
// run (or `weir workload run` against a real cluster) leaves behind, their
// names and schemas, and the exit codes that summarise them. The guest
// (cmd/weir-sim), the host (`weir sim`), `weir check` and reports/ all read
// and write run folders through this package, so none of them needs to
// import another (reports/ never pulls in wazero through sim/host).
//
// One time base everywhere a person reads it: virtual (or, outside the
// simulator, real) seconds since the run's start, in the trace, the
// history, the verdict, faults.jsonl and the report.
//
// Invariants:
//   - The package is guest-safe: standard library only, no package-level
//     mutable state, no I/O but the os calls of its Read/Write helpers.
//   - verdict.json is written last by the guest: its presence says the
//     other files of the run are complete.
//   - Every schema carries SchemaVersion; a reader refuses a newer version
//     than it knows rather than misreading it.
//   - Every file of a run folder is written with FileMode.
package runfolder
