//go:build invariants

package broker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/internal/invariants"
)

// breachLog collects the breaches a broker reports.
type breachLog struct {
	mu    sync.Mutex
	names []string
}

func (l *breachLog) add(name, _ string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.names, name) {
		l.names = append(l.names, name)
	}
}

func (l *breachLog) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// groupBreachBroker is a group broker with the coordinator's defects,
// whose breaches go to the returned log instead of failing the test.
func groupBreachBroker(t *testing.T, d group.Defects) (*testBroker, *breachLog) {
	cfg := groupConfig(t)
	cfg.Defects.Group = d
	log := &breachLog{}
	tb := startBroker(t, cfg)
	tb.close()
	tb.deps.Breach = log.add
	tb.start()
	return tb, log
}

// TestGroupInvariantsCatchDefects: the coordinator's invariant checks
// catch its planted defects; the same requests on a healthy broker break
// none (startBroker fails the test on any breach).
func TestGroupInvariantsCatchDefects(t *testing.T) {
	t.Run("answer before durable", func(t *testing.T) {
		tb, log := groupBreachBroker(t, group.Defects{AnswerBeforeDurable: true})
		tb.createTopic("t", 1, nil)
		m := tb.joinGroup("g", "t")
		commitOffset(t, m.cl, "t", 0, 1)
		if got := log.seen(); !slices.Contains(got, invariants.UndurableGroupAnswer) {
			t.Fatalf("breaches %v, want %s", got, invariants.UndurableGroupAnswer)
		}
	})
	t.Run("forget parked sync", func(t *testing.T) {
		tb, log := groupBreachBroker(t, group.Defects{ForgetParkedSync: true})
		if err := parkedSyncLeaves(t, tb); err == nil {
			t.Error("the removed member's parked sync was answered")
		}
		if got := log.seen(); !slices.Contains(got, invariants.UnansweredGroupRequest) {
			t.Fatalf("breaches %v, want %s", got, invariants.UnansweredGroupRequest)
		}
	})
	t.Run("healthy", func(t *testing.T) {
		tb := startBroker(t, groupConfig(t))
		tb.createTopic("t", 1, nil)
		m := tb.joinGroup("g", "t")
		commitOffset(t, m.cl, "t", 0, 1)
		if err := parkedSyncLeaves(t, tb); err != nil {
			t.Errorf("the removed member's parked sync: %v", err)
		}
	})
}

// commitOffset waits for the member to hold its partition, then commits.
func commitOffset(t *testing.T, cl *kgo.Client, topic string, p int32, offset int64) {
	t.Helper()
	ctx := ctxT(t)
	for {
		if _, gen := cl.GroupMetadata(); gen > 0 {
			break
		}
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			t.Fatal("the member never joined")
		}
	}
	var err error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{topic: {p: {Epoch: -1, Offset: offset}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, e error) { err = e })
	if err != nil {
		t.Fatal(err)
	}
}

// parkedSyncLeaves forms group "p" of two members with raw requests, parks
// the follower's SyncGroup (the leader has not synced), then makes the
// follower leave. It returns the error of the parked SyncGroup: none if it
// was answered.
func parkedSyncLeaves(t *testing.T, tb *testBroker) error {
	t.Helper()
	ctx := ctxT(t)
	cl := tb.client()
	join := func(member string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version, req.Group, req.MemberID, req.ProtocolType = 3, "p", member, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("m")}}
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && resp.ErrorCode == kerr.MemberIDRequired.Code { // KIP-394: kgo sends the newest version
			req.MemberID = resp.MemberID
			resp, err = req.RequestWith(ctx, cl)
		}
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("join %q: %v %v", member, err, resp)
		}
		return resp
	}
	sync := func(member string, gen int32, leader bool) (*kmsg.SyncGroupResponse, error) {
		req := kmsg.NewPtrSyncGroupRequest()
		req.Version, req.Group, req.MemberID, req.Generation = 3, "p", member, gen
		if leader {
			req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: member, MemberAssignment: []byte("a")}}
		}
		return req.RequestWith(ctx, cl)
	}
	first := join("")
	if _, err := sync(first.MemberID, first.Generation, true); err != nil {
		t.Fatal(err)
	}
	// A second member joins; the first rejoins, and the join completes
	// for both.
	var second *kmsg.JoinGroupResponse
	done := make(chan struct{})
	go func() { defer close(done); second = join("") }()
	time.Sleep(200 * time.Millisecond)
	again := join(first.MemberID)
	<-done
	follower := second
	if second.MemberID == again.LeaderID {
		follower = again
	}
	// The follower's sync parks: the leader never syncs.
	answered := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		req := kmsg.NewPtrSyncGroupRequest()
		req.Version, req.Group, req.MemberID, req.Generation = 3, "p", follower.MemberID, follower.Generation
		_, err := req.RequestWith(sctx, tb.client())
		answered <- err
	}()
	time.Sleep(200 * time.Millisecond)
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version, leave.Group, leave.MemberID = 2, "p", follower.MemberID
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = follower.MemberID // v3+ (kgo sends the newest version)
	leave.Members = append(leave.Members, lm)
	if _, err := leave.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	return <-answered
}
