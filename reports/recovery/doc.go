// Package recovery measures, from a simulation run folder, how long the
// cluster took to recover from each crash: the time a crashed leader's
// partitions waited for a new leader (leader failover), the time until
// the controller fenced the crashed broker (reported offline) and
// unfenced it after its restart (back), the time a restarted broker took
// to rejoin the ISR of every partition it replicates, and the gap in
// acknowledged sends around each crash (the last acknowledgement before
// it to the first after).
//
// It reads only the run's trace.log (the world's crash and restart lines
// and the metadata records the guest traces) and history.jsonl, and
// measures only the safety phase: crashes after the liveness phase began
// (the power loss before the final reads) are left out. A recovery that
// had not happened when the safety phase ended is counted as unfinished,
// not as a sample.
//
// Samples of many runs merge into distributions (Merge); the report draws
// them as CDFs and tabulates their percentiles.
package recovery
