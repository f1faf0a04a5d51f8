// Package fetchsession models KIP-227's incremental fetch sessions on
// both ends, as state machines without I/O: Cache is a broker's session
// cache (Kafka's FetchSessionCache and FetchContext), Client a fetcher's
// session with one broker (Kafka's FetchSessionHandler).
//
// A session is opened by a full fetch with session id 0 and epoch 0: the
// broker answers every partition and, if the cache has a slot, a new
// session id. The client then sends the id with epochs 1, 2, ...; each
// such incremental request names only the partitions it adds or whose
// parameters (fetch offset, leader epochs, log start, max bytes) changed,
// and ForgottenTopics for those it drops. The broker reads every
// partition of the session, and answers only those with something new:
// records, an error, a diverging epoch, a preferred read replica, or a
// high watermark, last stable offset, log start offset or error that
// differs from its last answer. Epoch -1 (FinalEpoch) asks for a full
// fetch without a session, closing the named one; epoch 0 with an id
// closes it and opens a new one.
//
// The broker's shell calls Begin when a Fetch arrives (it checks the
// session and applies the request's changes; the Fetch it returns says
// what to read), reads, and calls Finish once the answer is final (after
// a long poll): Finish opens a full fetch's session from what was
// answered, or drops what an incremental answer need not carry and
// remembers the rest. Errors are Kafka's: FETCH_SESSION_ID_NOT_FOUND (no
// such session: never opened, evicted, closed, or an incremental epoch
// with id 0), INVALID_FETCH_SESSION_EPOCH (not the epoch the session
// expects, or a second request of the session finished while the first
// was waiting), FETCH_SESSION_TOPIC_ID_ERROR (a session opened with topic
// ids, Fetch v13+, used by a request with names, or the reverse). Fetch
// below v7 has no session fields: always sessionless.
//
// The cache holds at most Config.Slots sessions
// (max.incremental.fetch.session.cache.slots). A full fetch finding it
// full evicts, by Kafka's rules, the least recently used session if idle
// longer than Config.EvictAfter, or else the least valuable session it
// may evict (consumers' below followers', then fewer partitions), if the
// newcomer ranks above it; followers may evict consumers' sessions of
// any age, anyone a session older than EvictAfter. Otherwise the fetch is
// answered in full with session id 0. Partitions answered with records
// move to the end of the session's order (Kafka's round robin), so a
// response size limit does not always favour the same partitions.
//
// Differences from Kafka, on purpose: the last stable offset is compared
// too (a read_committed consumer learns that a transaction ended without
// records to read); an error's last answer is remembered with its code
// rather than as high watermark -1 (the same effect: the end of an error
// is answered); a full fetch of no partitions opens no session; one cache
// for the broker (recent Kafka versions shard theirs by session id).
//
// Invariants:
//   - Session ids are in [1, MaxInt32), never reused while held, drawn
//     from the IDSource passed in (seeded in the simulator), never from
//     package state or the clock.
//   - An incremental answer followed by the client's own bookkeeping
//     gives, partition by partition, what full fetches would (the rapid
//     property in property_test.go).
//   - A session's epoch moves once per request accepted; a request whose
//     epoch was overtaken before it finished is answered with an error,
//     never with data filtered against the other request's answers.
//   - Nothing the cache keeps aliases a request or response: topic names
//     are cloned (requests alias the connection's buffer).
//
// It must never do I/O, read a clock, start goroutines or lock: the
// broker holds one mutex around Begin and Finish, and gives them a time
// that never goes back (its steady clock), and the fetcher uses its
// Client from its one goroutine.
package fetchsession
