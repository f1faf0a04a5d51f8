// Package vitals is the patient-monitoring workload: heart-rate and SpO2
// readings with event timestamps, some arriving late, from several
// idempotent, pipelined producer clients (devices' gateways) into a
// partitioned topic keyed by patient, and a transactional monitor (a
// consumer group run by package stream: consume-transform-produce in
// kgo.GroupTransactSession, read_committed) that writes the processed
// stream and raises alerts. This comment is the workload's specification:
// model, operations, anomalies.
//
// # Model
//
// A reading is "rd|<id>|<patient>|<hr|spo2>|<value>|<event ms>"; id
// "p<process>.<n>" is unique in a run. Event time is the run's clock
// times Config.TimeScale; Config.LateShare of the readings are sent with
// an event time up to Config.Lateness earlier (late arrivals), and
// Config.SpikeShare are a heart-rate spike or an oxygen dip. Each patient
// is produced through one client.
//
// The monitor takes each partition's readings in input offset order. A
// reading is late when its event time is before its patient's latest
// in-order reading; a late reading is written to the processed stream
// marked late (set aside: outside the ordered stream), the others in
// order, so that a patient's in-order readings have non-decreasing event
// times. The rules, each alert naming the rule and the reading:
//   - hr-high: a heart rate above Config.HRHigh (late or not);
//   - spo2-low: an SpO2 below Config.SpO2Low (late or not);
//   - hr-rise: an in-order heart rate at least Config.Rise above an
//     earlier in-order heart rate of the patient within Config.RiseWithin
//     of event time before it.
//
// A processed record is {id, patient, kind, value, ms, late, input
// offset, w: a tag unique to the write}; an alert {rule, patient,
// reading, ms, value, w}, keyed by patient. A batch's outputs and its
// input offsets commit in one transaction; the monitor's state for input
// partition p (each patient's latest in-order event time and recent heart
// rates) is restored from partition p of the processed stream.
//
// # Operations
//
//   - send {client, topic, key=patient, value=reading}: gen.Sender.
//   - txn (transactional) by a monitor member: a batch's outputs; ok
//     committed (CommitTime when it asked to), fail aborted, info unknown.
//     Restores are an assign (read_committed) and polls of the member's
//     process. Members join, leave and crash as Config decides.
//   - after the safety phase (Workload.Finish): a barrier to every input
//     partition, answered in the processed stream; then the final reads
//     of the readings and, read_committed, of the processed stream and
//     the alerts.
//
// # Anomalies
//
// The queue anomalies on every topic, the transactional ones of package
// checker (aborted-read, precommitted-read, torn-transaction), and one
// file per property of this workload, judged on the committed outputs:
//
//   - vitals-alerts (check_alerts.go): every breach alerted exactly once,
//     no more and no fewer: the breaches are the rules replayed on the
//     complete final read of the input (the checker's own reading of the
//     rules, not the monitor's code); a breach below an answered barrier
//     with no alert, an alert raised twice, an alert for a reading that
//     is no breach.
//   - vitals-alert-latency (check_latency.go): an alert whose transaction
//     asked to commit more than Config.AlertBound after its reading's send
//     was acknowledged (history time: virtual in the simulation). Readings
//     whose send was not acknowledged are not judged here.
//   - vitals-event-order (check_order.go): a patient's in-order readings
//     going back in event time in the processed stream.
//   - vitals-unacked-alert (check_unacked.go): an alert for a reading the
//     cluster never took: not in the complete final read of the input,
//     or there though its send failed.
//
// A property that needs a final read that did not complete is unknown
// (final-read-incomplete); missing alerts of a partition whose barrier
// never came out are unknown (processing-incomplete). Both are liveness
// failures, never valid. The latency bound counts the time the cluster
// was faulted and the time before Finish: a run whose fault phase plus
// heal is longer than the bound needs a larger Config.AlertBound.
//
// # Planted defects (Config.Defects, off by default), one per property
//
//   - SkipLateAlerts: late readings are not checked at all, so a late
//     breach goes unalerted (vitals-alerts).
//   - HoldAlerts: alerts wait in the monitor's state for the next barrier
//     (a periodic report instead of a page); they come out late, or never
//     if the member goes (vitals-alert-latency, vitals-alerts).
//   - NoLateCheck: every reading joins the ordered stream
//     (vitals-event-order).
//   - Interpolate: between two in-order heart rates more than 10 seconds
//     of event time apart, the monitor invents the reading halfway and
//     checks its threshold (vitals-unacked-alert).
//
// TestDefectsCaught (checkers_test.go) shows each caught on a scripted
// run of the monitor's code in an in-memory cluster (package streamtest),
// the same history every time; TestCheckersOnForgedOutputs shows each
// checker naming a forged output; TestRandomSchedulesValid judges the
// correct monitor valid on random schedules (rapid), and
// TestDefectsFoundBySeededSchedules finds each defect within 100 seeded
// schedules that the correct monitor passes. Against a real broker,
// TestRunAgainstWeir judges a correct pipeline valid, and
// TestDefectsCaughtRealtime (on request: WEIR_REALTIME_DEFECTS=1) looks
// for each defect in short runs.
//
// The package keeps no package-level mutable state; all randomness comes
// from Config.Rand (or Config.Seed), split per worker before any starts.
package vitals
