package fetcher_test

import (
	"testing"

	"github.com/weir-dev/weir/broker/fetchsession"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env/memfs"
)

// A follower of several partitions fetches in an incremental session
// once its first full fetch opened one: later requests name only the
// partitions whose offsets moved. When the leader loses its sessions (a
// restart, an eviction), the next fetch is answered
// FETCH_SESSION_ID_NOT_FOUND and the fetcher fetches in full at once, on
// the same connection, opening a new session; nothing is lost.
func TestFetcherUsesSessionAndFallsBack(t *testing.T) {
	w := newWorld(t)
	leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
	leader.useSessions(1)
	tps := []fetcher.TopicPartition{tp0, {Topic: "payments", TopicID: topicID, Partition: 1}, {Topic: "payments", TopicID: topicID, Partition: 2}}
	for _, tp := range tps {
		leader.lead(tp, 1, []int32{1, 2}, []int32{1, 2})
	}
	m := w.manager(t, 2, replica.FollowerConfig{})
	var parts []*logPartition
	for _, tp := range tps {
		p := newLogPartition(t, memfs.New(), "/"+tp.String())
		parts = append(parts, p)
		if err := m.Follow(tp, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 1), 0, p); err != nil {
			t.Fatal(err)
		}
	}
	// Only partition 0 gets records: the idle ones must not be sent again.
	for i := range 5 {
		leader.produce(tp0, idempotent(int32(i), 1))
	}
	eventually(t, "the follower to catch up", func() bool { return parts[0].log.EndOffset() == 5 && parts[0].hw.Load() == 5 })
	leader.mu.Lock()
	incremental, full, sent, errs := leader.kinds[fetchsession.Incremental], leader.kinds[fetchsession.Full], leader.partsSent, leader.sessionErrors
	leader.mu.Unlock()
	if incremental == 0 {
		t.Fatalf("no incremental fetch: %d full", full)
	}
	// A full fetch names all three partitions; an incremental one at
	// most partition 0 (its offset moved), usually none.
	if maxSent := 3*full + incremental; sent > maxSent {
		t.Fatalf("requests named %d partitions over %d full and %d incremental fetches: the idle ones were sent again", sent, full, incremental)
	}
	if errs != 0 {
		t.Fatalf("%d session errors before the leader lost its sessions", errs)
	}

	// The leader forgets every session.
	leader.useSessions(2)
	leader.mu.Lock()
	conns, fullBefore := leader.conns, leader.kinds[fetchsession.Full]
	leader.mu.Unlock()
	for i := 5; i < 8; i++ {
		leader.produce(tps[1], idempotent(int32(i), 1))
	}
	eventually(t, "the follower to catch up again", func() bool { return parts[1].log.EndOffset() == 3 && parts[1].hw.Load() == 3 })
	leader.mu.Lock()
	defer leader.mu.Unlock()
	if leader.sessionErrors != 1 {
		t.Fatalf("%d session errors answered, want 1", leader.sessionErrors)
	}
	if leader.kinds[fetchsession.Full] != fullBefore+1 {
		t.Fatalf("%d full fetches after the session error, want 1", leader.kinds[fetchsession.Full]-fullBefore)
	}
	if leader.conns != conns {
		t.Fatalf("the fetcher reconnected (%d connections, was %d): a session error is no connection fault", leader.conns, conns)
	}
	if leader.sessions.Len() != 1 {
		t.Fatalf("the leader holds %d sessions, want the new one", leader.sessions.Len())
	}
}
