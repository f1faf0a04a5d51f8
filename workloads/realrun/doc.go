// Package realrun is `weir workload run`: one run of registered workloads
// (package workloads/registry) against a real Kafka-compatible cluster
// (Weir, Apache Kafka, Redpanda) with the same franz-go clients the
// simulator runs, written as the same run folder (package runfolder), so
// that `weir check` judges it as it judges a simulated run.
//
// # A run
//
//  1. The cluster is asked for its brokers: topics get min(3, brokers)
//     replicas and min.insync.replicas min(2, replicas), as in the
//     simulator. A cluster that does not answer is a harness error.
//  2. The seed draws each workload's parameters (registry.Entry.Draw,
//     sized for a real cluster); topic names carry a suffix unique to the
//     run, so runs against one cluster never read each other's records.
//     Then each processing group's protocol and membership
//     (registry.DrawGroupMode, as the simulator draws them; Config's
//     GroupProtocol and GroupMembership force them): the consumer
//     protocol only where every broker lists ConsumerGroupHeartbeat in
//     its ApiVersions, classic instead when drawn (said in the trace),
//     and an error when forced.
//     header.json records the seed, the command line and every parameter
//     (params: scenario "external", workload, workload_params) before
//     anything runs.
//  3. Setup creates the topics (a cluster that cannot within a minute fails
//     liveness), the workloads run for the duration, then their final
//     reads, bounded by FinishTimeout. An interrupt (Ctrl-C) ends the
//     safety phase early; the final reads still run.
//  4. checker.Judge judges the history with the workloads' options; the
//     folder gets history.jsonl, trace.log (what the run did, at seconds
//     since its start), an empty faults.jsonl (nothing is injected),
//     summary.txt, header.json with the outcome and, last, verdict.json.
//
// Times are real time since the run's start. Nothing is deterministic
// here: the seed fixes the parameters, not the interleaving.
package realrun
