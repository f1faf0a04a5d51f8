// Package workload runs a workload spec (bench/spec.Spec with Workload
// set): one registered workload of package workloads/registry (clickstream,
// payments, vitals), with its own producers and processing application,
// against one bootstrap address, measured as a benchmark. It is the same
// traffic `weir workload run` judges, measured instead of judged.
//
// # A run
//
//  1. Parameters: the workload's Draw for Workload.Seed on a real cluster
//     (the stream `weir workload run --seed N` draws from), overlaid by
//     Workload.Params key by key; the run's length (warmup + duration +
//     cooldown), topic names (a suffix unique to the run) and replication
//     factor are the harness's. The result records the parameters used.
//  2. Setup creates the topics; the workload then runs for warmup,
//     duration and cooldown as one safety phase (producers and processing
//     application together, the processing's member churn as the
//     parameters say), then Finish: a barrier per input partition, the
//     processing until it answered them, and the final reads.
//  3. The history is measured as reports/pipeline measures a run folder.
//
// # What it measures
//
// Times are history times: wall time since the safety phase began. The
// measured window is [warmup, warmup+duration).
//   - Produced: the input sends acknowledged in the window (count, value
//     bytes); their publish latency runs from the send's invoke to its
//     acknowledgement. The workloads' producers are closed loops (each
//     process keeps one send open), so there is no intended send time:
//     Publish and PublishService are the same service latency, and a
//     stalled cluster shows as fewer sends, not longer latencies.
//     Sends invoked in the window that did not end ok are ProduceErrors.
//   - Consumed (processed): the input records acknowledged in the window
//     whose processed output was committed (pipeline.Measure's samples),
//     whenever that was, the cooldown and the final drain included; the
//     rate is over the window's start to the last such output.
//   - EndToEnd: pipeline's end-to-end latency of those records, from the
//     input send's acknowledgement to the acknowledgement (commit) of the
//     output that carried it.
//   - Alerts (vitals): pipeline's alert delays of the readings
//     acknowledged in the window.
//   - Series: per second of the whole run, every acknowledged input send
//     and every processed record, phase by the second's midpoint (the
//     cooldown and the final drain are "drain").
//
// Unprocessed counts acknowledged input records, over the whole run, that
// the final reads found no committed output for: a healthy cluster leaves
// none, and the result says how many there were.
//
// The live progress samples (Config.Progress) count acknowledged input
// sends and the records written to the output topic as the run goes; the
// result's numbers come from the history afterwards.
//
// Invariants: every client the workload made is closed before Run
// returns (the workload's Run and Finish return only then); nothing is
// measured before the final reads ended.
package workload
