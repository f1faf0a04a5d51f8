// Package replica holds Kafka's replication rules for one partition as two
// sans-I/O state machines: Leader, on the broker that leads the partition,
// and Follower, on each broker that follows it. Like etcd-raft's RawNode,
// they take the state in (the metadata image's Assignment, the local log's
// offsets, a follower's fetch, the controller's answer, the time) and hand
// the decision out (the high watermark, an AlterPartition to send, the
// acks=all produces to answer, the truncation to make, the batches to
// append); the shell does the I/O. Package epoch is the leader-epoch cache
// they use; package fetcher is the follower's I/O shell.
//
// # The model
//
// A partition has replicas; the controller's metadata says who leads, in
// which leader epoch, and which replicas are in sync (the ISR), under a
// partition epoch that grows with every change. The leader appends
// produced batches, stamped with its leader epoch; followers fetch from
// their log end and append the leader's batches unchanged. A record is
// committed once it is below the high watermark: then, with clean
// elections (only from the ISR), no future leader lacks it.
//
// # Durability (Weir's fsync-on-ack default)
//
// Kafka counts a replica's log end, durable or not, and relies on
// replication alone. Weir counts only durable offsets, so that a committed
// record survives even if every replica loses power:
//   - the leader's own part is its log's synced offset (Local.Durable);
//   - a follower's part is its fetch offset, and a follower fsyncs what it
//     appended before it fetches past it (Follower.Next answers StepSync
//     while DurableOffset < EndOffset), so every fetch offset a leader
//     sees is durable on the follower.
//
// Without fsync-on-ack the shell passes the log end as the durable offset
// and the rules are Kafka's.
//
// # Invariants (checked under the `invariants` build tag where cheap, and
// by the property test in property_test.go)
//
//   - Every offset below a high watermark a leader reached is durable and
//     identical on every replica in the controller's ISR; hence no election
//     from the ISR loses or changes a committed record, and every acks=all
//     produce answered success is committed.
//   - The high watermark is min(leader's durable offset, log end of every
//     follower in the maximal ISR and of every caught-up, eligible
//     follower), only while the committed ISR is at least
//     min.insync.replicas (KIP-966), and never moves back on a replica
//     (a follower's only falls with a truncation an unclean election
//     forced, or with a recopy, below).
//   - The maximal ISR is the committed ISR plus a pending expansion; a
//     pending shrink does not count until the controller accepts it at the
//     partition epoch it was computed from (KIP-497).
//   - A follower joins the ISR only once its durable log end reaches the
//     high watermark and the start of the current leader epoch.
//   - A follower appends only whole, CRC-valid batches that start at or
//     after its log end, in increasing offsets (a gap only where the
//     leader's log has one: compaction keeps offsets, and the follower
//     copies the gaps), and carry leader epochs that
//     never decrease and never pass the leader's; before its first fetch
//     in a leader epoch it finds where its log diverges from the leader's
//     (OffsetForLeaderEpoch, or the diverging epoch a Fetch answers with)
//     and truncates there.
//   - No deleted key comes back: a follower that holds records and ends
//     below its leader's tombstone mark (TombstoneMark: every tombstone the
//     leader's log lacks is below it), and has not checked that mark in
//     this leader epoch, keeps none of its log but restarts it at the
//     leader's start (Action.Recopy), since the leader's cleaner may have
//     removed, with the tombstone, the older value of a key this log
//     holds below its end; and every follower takes its leader's mark
//     (Action.Tombstones) before it appends. The mark stays below every
//     high watermark reached, so a recopy never empties an ISR member.
//     While a follower outside the ISR fetches (Leader.FollowerCatchingUp)
//     the leader's cleaner removes no tombstone, so the mark does not move
//     under a recopy and restart it again.
//   - Leader epochs seen by a replica never decrease; each epoch cache is
//     strictly increasing.
//
// # What they must never do
//
// Advance the high watermark past a record some replica the controller
// could elect does not durably hold; take the leader's high watermark
// over records the follower has not yet checked against the leader's
// epochs; use an ISR shrink before the controller accepted it; act on an
// assignment older than the one they have; copy on from a log end below
// tombstones the leader removed. Defects plants exactly such
// bugs for the self-test; it is off by default.
//
// Neither machine is safe for concurrent use (the partition's lock guards
// it), starts a goroutine, reads a clock or keeps package-level state. The
// time the shell passes the Leader is steady time (a monotonic clock read
// as a date, env.SteadyClock), never the wall clock: ISR shrinks measure
// elapsed time, which a wall clock step would fake.
package replica
