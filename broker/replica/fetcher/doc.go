// Package fetcher is the I/O shell of replication on a follower: one
// goroutine per leader broker, fetching every partition this broker
// follows from that leader in one Fetch request per round (Kafka's
// ReplicaFetcherManager and ReplicaFetcherThread), with the decisions left
// to a replica.Follower per partition.
//
// A round: for each partition, take the follower's local steps (fsync the
// log so the fetch offset is durable; truncate when there are no epochs to
// compare), then send OffsetForLeaderEpoch for the partitions that must
// find their divergence point, then one Fetch (v15: ReplicaState with the
// broker id and epoch, current and last fetched leader epochs), and hand
// each partition's answer to its Follower and carry out the Action on the
// broker's Partition: truncate, restart the log, append the leader's
// batches as they are, set the high watermark. Batches past the log end
// (a compacted leader log: its cleaner removed what was between) are
// appended at their offsets, gaps included; the first such gap a
// partition crosses in each leader epoch it follows is logged at Info
// ("follower copied a compaction gap of the leader's log", with the gap,
// how many the answer crossed, the log end and the high watermark), so a
// run's trace shows followers copying compacted logs without a line per
// fetch.
//
// The leader's tombstone mark (replica.TombstoneMark) rides in a tag of
// the Fetch response's partition (SetTombstoneMark, TombstoneMarkOf: a
// Weir extension Kafka's clients skip); an answer whose tag does not hold
// a mark is refused as CORRUPT_MESSAGE. The fetcher raises the
// partition's own mark to the leader's before anything else an answer
// asks, and logs at Info when a follower restarts its log because the
// leader's cleaner removed tombstones past its end ("follower copies the
// leader's log again").
//
// The Fetch goes in a KIP-227 fetch session with the leader
// (fetchsession.Client): the first is full and opens it; later ones name
// only the partitions whose fetch offset or epochs moved and forget those
// not fetched this round (in backoff, truncating), and the answer carries
// only the partitions with something new: an idle partition costs neither
// side encoding. A partition left out of an answer had nothing new. A
// session error (FETCH_SESSION_ID_NOT_FOUND after the leader restarted or
// evicted the session, INVALID_FETCH_SESSION_EPOCH,
// FETCH_SESSION_TOPIC_ID_ERROR) is answered at once by a full fetch on
// the same connection that opens a new session; only a second failure
// backs off. A lost connection, a partition followed, removed or
// restarted, or an answer dropped because its partition changed
// meanwhile, starts a new session with the next fetch, so the leader's
// session never counts as told what the Follower did not take.
//
// Invariants:
//   - Every goroutine ends when the Manager's context ends or Close runs; a
//     request blocked on a silent leader is ended by closing its
//     connection (from the context or from a timer on Config.Clock), never
//     by a deadline from another clock.
//   - No spinning: after an error the fetcher waits on a Config.Clock timer
//     (doubling from BackoffMin to BackoffMax) before it dials or sends
//     again; a partition answered with a retriable error waits BackoffMax;
//     with nothing to send it blocks until a partition changes. Backoffs
//     are kept on Config.Clock's Monotonic time, never its Now: a wall
//     clock stepped back (a reset after a jump forward) neither stretches
//     them nor, stepped ahead, cuts them short.
//   - The fetcher calls a Partition only with its fetcher's lock held, so
//     Manager.Stop (which takes it) returns only when no call is in
//     progress, and none starts after.
//   - An answer to a request sent before the partition restarted (new
//     leader epoch, re-added, moved) is dropped; so is one whose fetch
//     offset no longer matches the log (the Follower checks).
//   - Requests use kmsg for every wire type; a response frame is bounded
//     (MaxBytes plus headroom) and its header tags by the bytes left.
//   - All I/O goes through env.Net and the Partition; time through
//     env.Clock; no package-level mutable state.
//
// It must never append a batch the Follower did not hand out, nor call a
// Partition after Stop returned for it.
package fetcher
