package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/env"
)

// sessionFetch runs one consumer fetch of partition 0 of topic through s:
// a full one that opens a session (id 0), or the next incremental one of
// session id at epoch. It returns the session id of the answer, or the
// session error.
func sessionFetch(t *testing.T, s *fetchSessions, topic string, id, epoch int32) (int32, int16) {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.SessionID, req.SessionEpoch = 12, -1, id, epoch
	if id == 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	f := s.begin(req)
	if f.Err != 0 {
		return 0, f.Err
	}
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	for _, rt := range f.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	s.finish(&f, resp)
	return resp.SessionID, resp.ErrorCode
}

// The fetch session cache's idle times are steady: a step of the wall
// clock back neither keeps a session idle past the eviction time (on the
// wall clock its idle time stays negative for the step) nor evicts, as
// the least recently used, a session used after the step over one used
// before it.
func TestFetchSessionsIgnoreWallClockStepsBack(t *testing.T) {
	const evictAfter = time.Minute
	start := time.Unix(1_700_000_000, 0)
	open := func(slots int) (*env.ManualClock, *fetchSessions) {
		clock := env.NewManualClock(start)
		cfg := DefaultConfig()
		cfg.FetchSessionCacheSlots, cfg.FetchSessionEvictAfter = slots, evictAfter
		s, err := newFetchSessions(cfg, clock)
		if err != nil {
			t.Fatal(err)
		}
		return clock, s
	}
	mustOpen := func(t *testing.T, s *fetchSessions, topic string) int32 {
		t.Helper()
		id, code := sessionFetch(t, s, topic, 0, 0)
		if code != 0 || id == 0 {
			t.Fatalf("full fetch of %s: session %d, %v; want a new session", topic, id, kerr.ErrorForCode(code))
		}
		return id
	}

	t.Run("idle session evicted", func(t *testing.T) {
		clock, s := open(1)
		a := mustOpen(t, s, "a")
		clock.Set(clock.Now().Add(-time.Hour))
		clock.Advance(2 * evictAfter)
		// a has been idle for twice the eviction time: b takes its slot.
		b := mustOpen(t, s, "b")
		if _, code := sessionFetch(t, s, "a", a, 1); code != kerr.FetchSessionIDNotFound.Code {
			t.Errorf("session a, idle past the eviction time: %v, want FETCH_SESSION_ID_NOT_FOUND", kerr.ErrorForCode(code))
		}
		if _, code := sessionFetch(t, s, "b", b, 1); code != 0 {
			t.Errorf("session b: %v", kerr.ErrorForCode(code))
		}
	})

	t.Run("recently used session kept", func(t *testing.T) {
		clock, s := open(2)
		a, b := mustOpen(t, s, "a"), mustOpen(t, s, "b")
		clock.Advance(2 * evictAfter)
		if _, code := sessionFetch(t, s, "a", a, 1); code != 0 {
			t.Fatalf("session a: %v", kerr.ErrorForCode(code))
		}
		clock.Advance(10 * time.Second)
		clock.Set(clock.Now().Add(-time.Hour))
		if _, code := sessionFetch(t, s, "b", b, 1); code != 0 {
			t.Fatalf("session b: %v", kerr.ErrorForCode(code))
		}
		// a was used 100 s ago, b 90 s ago (on the wall clock: b an hour
		// before a): c evicts a.
		clock.Advance(90 * time.Second)
		mustOpen(t, s, "c")
		if _, code := sessionFetch(t, s, "a", a, 2); code != kerr.FetchSessionIDNotFound.Code {
			t.Errorf("session a, the least recently used: %v, want FETCH_SESSION_ID_NOT_FOUND", kerr.ErrorForCode(code))
		}
		if _, code := sessionFetch(t, s, "b", b, 2); code != 0 {
			t.Errorf("session b, used after a: %v, want it kept", kerr.ErrorForCode(code))
		}
	})
}
