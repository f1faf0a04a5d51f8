// Package results is the results.json of a `weir bench` run, its
// comparison (`weir bench compare`) and its text tables.
//
// # Schema (schema_version 1)
//
// All latencies are milliseconds, all throughputs per second over the
// measured window, MB are 10^6 bytes of record values.
//
//	{
//	  "schema_version": 1,
//	  "created_at": "2026-01-02T15:04:05Z",       // RFC 3339, UTC
//	  "command": "weir bench --spec ...",         // how the file was made
//	  "machine": {
//	    "cpu_model": "AMD EPYC 7B13",              // /proc/cpuinfo "model name"
//	    "cores": 2,                                // runtime.NumCPU
//	    "memory_bytes": 8333297664,                // /proc/meminfo MemTotal
//	    "kernel": "6.1.0-18-cloud-amd64",          // /proc/sys/kernel/osrelease
//	    "os": "linux", "arch": "amd64", "go_version": "go1.26.0"
//	  },
//	  "commit": "4f1c…",                           // git rev-parse HEAD; "" if unknown
//	  "commit_dirty": true,                        // uncommitted changes in the tree
//	  "spec": { … },                               // bench/spec.Spec, defaults applied
//	  "targets": [
//	    {
//	      "name": "embedded",                      // embedded | null | external=HOST:PORT
//	      "bootstrap": "127.0.0.1:41233",
//	      "consumers_skipped": "",                 // why consumers did not run, if they did not
//	      "runs": [                                // one per --repeat
//	        {
//	          "started_at": "…",
//	          "produced_records": 1000, "produced_bytes": 100000, "produce_errors": 0,
//	          "produce_sec": 1.0,                  // measured window start -> last ack
//	          "produced_records_per_sec": 1000, "produced_mb_per_sec": 0.1,
//	          "consumed_records": 1000, "consume_sec": 1.0,
//	          "consumed_records_per_sec": 1000, "consumed_mb_per_sec": 0.1,
//	          "publish_latency":         {"count": 1000, "mean": 0.5, "p50": 0.4, "p99": 2, "p999": 3, "max": 4,
//	                                      "histogram": "HISTFAAAA…"},
//	          "publish_service_latency": {…},     // from the actual Produce call (not CO-corrected)
//	          "end_to_end_latency":      {…},     // absent when consumers were skipped
//	          "series": [{"sec": 1.0, "phase": "warmup|measure|drain",
//	                      "produced_records_per_sec": …, "produced_mb_per_sec": …,
//	                      "consumed_records_per_sec": …}, …],
//	          "workload": {                        // a workload spec's run only (bench/workload)
//	            "name": "payments", "params": {…}, // the workload's parameters as run
//	            "input_topic": "…", "output_topic": "…",
//	            "definition": "from a command's acknowledged send to …", // what e2e measures
//	            "unprocessed": 0,                  // acknowledged inputs with no committed output
//	            "alert_latency": {…}, "alert_bound_ms": 120000  // vitals only
//	          }
//	        }
//	      ],
//	      "median": {"produced_records_per_sec": …, "publish_p99_ms": …, …},  // over runs
//	      "spread": {"produced_records_per_sec": 0.03, …}  // (max-min)/median over runs
//	    }
//	  ],
//	  "ratios": [                                  // every ordered pair of targets, medians
//	    {"metric": "produced_records_per_sec", "numerator": "embedded", "denominator": "null", "ratio": 0.41}
//	  ]
//	}
//
// Publish latency is measured from the intended send time (see
// bench/driver): at a fixed rate it includes the time the producer spent
// behind schedule. "histogram" is the HdrHistogram of nanoseconds in its
// standard compressed base64 encoding (hdrhistogram.Decode reads it), kept
// so that percentile spectra and CDFs can be drawn later.
//
// The metric names of "median" and "spread" are those of Metrics: the
// throughputs produced_records_per_sec, produced_mb_per_sec,
// consumed_records_per_sec (higher is better) and the latencies
// publish_{p50,p99,p999,max}_ms, e2e_{p50,p99,p999,max}_ms and, for a
// vitals workload run, alert_{p50,p99,max}_ms (lower is better). A metric
// a run did not measure is absent.
//
// A workload spec's run (spec.Workload set) fills the same fields with
// its workload's measures: produced is the acknowledged input sends,
// consumed the processed input records, publish latency from the send's
// invoke (publish and publish_service alike: the workload's producers are
// closed loops), end-to-end latency to the committed output (package
// bench/workload says exactly what).
//
// # Comparison
//
// Compare matches targets by name and, per gated metric, compares the
// median over the baseline's runs with the median over the new runs. The
// change is "worse" when throughput drops or latency rises. A metric
// regresses when its worse-change exceeds both the threshold and the
// baseline's own spread ((max-min)/median over its runs), so noise that the
// baseline already shows is not a regression. The max latencies are shown
// but never gate (one outlier decides them).
package results
