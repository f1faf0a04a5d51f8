// Package clickstream is the website-activity workload: page views and
// clicks keyed by user, from several idempotent, pipelined producer
// clients into a partitioned topic, and a sessionizer (a consumer group,
// run by package stream) that rebuilds each user's sessions and writes a
// summary of every closed session to an output topic, committing input
// offsets after writing (at-least-once). This comment is the workload's
// specification: model, operations, anomalies.
//
// # Model
//
// The input topic (Config.Topic) holds events "ev|<user>|<seq>|<kind>|<ms>"
// keyed by user, so a user's events share a partition and sit there in the
// order its producer gave them to the cluster. seq numbers a user's events
// in the order its client was handed them; ms is the event time
// (milliseconds since the run's start, spread by up to Config.Jitter
// either way: device clocks). Each user is produced through one client;
// users are drawn with Zipf skew Config.Skew, each client at Config.Rate
// events per second (Poisson).
//
// A session is defined on the input log, partition by partition, in
// offset order: an event first closes every open session of its partition
// whose latest event time is more than Config.Gap before its own (the
// inactivity window), then joins its user's open session, or opens one. A
// barrier record (see below) closes every open session. So the sessions
// are a function of the log; a session is named "<user>@<offset of its
// first event>".
//
// The sessionizer writes, for each closed session, a summary
// {sid, user, offs: the input offsets of its events in the order counted,
// t0, t1, w: a tag unique to the write} to the same partition of the
// output topic (Config.Output), keyed by user. It commits, per input
// partition, the first offset an open session still needs (or one past
// the batch): a member that takes a partition over replays from there,
// first reading the partition's summaries (its restore) to skip every
// event already counted, so an event is counted once even though input is
// read again. A summary written again with the same events (a replay that
// crashed after writing) is the same session.
//
// # Operations
//
//   - send {client, topic, key=user, value=event}: gen.Sender, as in the
//     queue workload (invoke recorded and record handed to the client under
//     one lock, info crashes the process and the client incarnation).
//   - txn (not transactional) by a sessionizer member: the summaries one
//     batch wrote; ok when all were acknowledged, info otherwise (the
//     member then crashes). Restores are an assign and polls of the
//     member's process. Members join, leave and crash as Config decides
//     (package stream).
//   - after the safety phase (Workload.Finish): a barrier "barrier|p|n" to
//     every input partition; the sessionizer (no churn) closes every
//     session at it and answers with a summary {barrier, offset}; then the
//     final reads of both topics (gen.FinalRead).
//
// # Anomalies
//
// The queue anomalies on both topics (package checker), and one file per
// property of this workload:
//
//   - clickstream-order (check_order.go): a user's events out of the order
//     they were produced: into the input (two acknowledged events of one
//     user, one given to the same client before the other or acknowledged
//     before the other was sent, at offsets the other way round), or out of
//     the sessionizer (a summary not in input offset order, two sessions of
//     a user interleaving).
//   - clickstream-lost-event (check_lost.go): an event in the input below a
//     barrier the sessionizer answered that no summary counts.
//   - clickstream-double-count (check_double_count.go): an event in two
//     different summaries, or twice in one.
//   - clickstream-session-window (check_session_window.go): a summary that
//     is not one of the sessions the inactivity window defines on the
//     complete final read of the input.
//
// A property that needs a final read that did not complete is unknown
// (final-read-incomplete); lost events of a partition whose barrier never
// came out are unknown (processing-incomplete). Both are liveness
// failures, never valid.
//
// # Planted defects (Config.Defects, off by default)
//
//   - CommitBeforeWrite: commit the consumed offsets before writing (found
//     by clickstream-lost-event).
//   - SkipRestore: a member that takes a partition over does not read its
//     summaries first, so a replay counts again the tail of sessions that
//     were already written (clickstream-double-count).
//   - EventTimeOrder: list a session's events by event time (clickstream-
//     order, with device clocks that disagree).
//   - GapFromFirst: measure inactivity from a session's first event
//     (clickstream-session-window).
//
// TestDefectsCaughtScripted (script_test.go) shows each one caught on a
// scripted run of the sessionizer's code in an in-memory cluster (package
// streamtest): the crash and the takeover sit where the defect shows, so
// the history is the same every time. TestRandomSchedulesValid judges the
// correct sessionizer valid on random schedules (rapid), and
// TestDefectsFoundBySeededSchedules finds each defect on a seeded
// schedule the correct sessionizer passes (SkipRestore first at seed 128). Against a real broker a defect shows
// only when a crash or a partition move happens to land there, so
// TestDefectsCaughtRealtime runs on request (WEIR_REALTIME_DEFECTS=1).
// SkipRestore is the rarest: the committed offset is the first event of
// the oldest open session, so a takeover replays whole sessions, which the
// replay rebuilds identically (a rewrite, not a double count); only a
// session that began before the committed offset, reached past it and
// closed before the takeover is counted twice. Measured on a 2-core
// machine: caught in 3 of 6 six-second runs (seeds 1-6) with skew 0.8 and
// with skew 0.01 alike, so a streak of misses on a loaded machine is
// chance, not a checker gap.
//
// The package keeps no package-level mutable state; all randomness comes
// from Config.Rand (or Config.Seed), split per worker before any starts.
package clickstream
