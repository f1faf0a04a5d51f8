// Package plot draws the plots of a benchmark's results.json and of a
// simulation run folder with gonum.org/v1/plot, as PNG and SVG files.
//
// Benchmark plots (Bench), one file per plot and format:
//   - throughput: produced (and consumed) records/s over time, per target
//     and run, from each run's per-second series;
//   - latency-spectrum: latency against percentile on a log-scaled
//     "percentile" axis (50%, 90%, 99%, 99.9%, 99.99%), as HdrHistogram's
//     plots do, per target, publish and end-to-end, from the HdrHistograms
//     (runs of a target merged);
//   - latency-cdf: the same histograms as CDFs over a log latency axis;
//   - publish-vs-e2e: p50, p99, p99.9 and max of publish and end-to-end
//     latency side by side per target.
//
// Simulation plots (Sim), over virtual time since the start of the run:
//   - sim-throughput: acknowledged sends per virtual second, and failed or
//     indeterminate sends per second, from history.jsonl;
//   - sim-latency: every send's latency (invoke to completion) at its
//     completion time, coloured by outcome.
//
// Both simulation plots carry the fault intervals read from trace.log
// (ParseFaults) as shaded, labelled bands, as Jepsen draws its nemesis
// activity, so that unavailability lines up with the fault that caused it,
// and the witnesses of the anomalies the verdict did not allow as dashed
// red lines at the time of each witness's last operation (ReadWitnesses),
// so that a lost write lines up with the crash before it.
//
// Per stream workload of a run (package reports/pipeline, from
// header.json's params and history.jsonl), over the same virtual time,
// with the same fault bands and witness marks:
//   - wl-<workload>-e2e: each input record's end-to-end latency (its
//     send's acknowledgement to the acknowledgement of the write that
//     carried its first committed output read back by the final read) at
//     the time that output was acknowledged, on a log axis;
//   - wl-<workload>-throughput: input sends acknowledged, and records
//     processed (first committed output acknowledged), per virtual second;
//   - wl-vitals-alert-delay: the CDF of vitals' alert delays (reading
//     acknowledged to the alert's commit request) with the configured
//     bound as a dashed line.
//
// Recovery draws the distributions of recovery times over many runs
// (package reports/recovery) as CDFs.
package plot
