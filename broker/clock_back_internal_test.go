package broker

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/group"
	"github.com/weir-dev/weir/env"
)

// wallJumpClock is the simulation's node clock in small: Now reads the real
// time plus an offset (a jump of the wall clock), which neither timers nor
// Monotonic see.
type wallJumpClock struct {
	env.RealClock
	offset atomic.Int64
}

func (c *wallJumpClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// openJumpBroker opens a single broker on clock whose group coordinator
// serves group, with an initial rebalance delay of delayMs.
func openJumpBroker(t *testing.T, clock env.Clock, groupID string, delayMs int32) *Broker {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListenAddr, cfg.DataDir = "127.0.0.1:1", t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Groups.Coordinator.InitialRebalanceDelayMs = delayMs
	b, err := Open(cfg, Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	mustBeActive(t, b)
	if code := b.groups.ensure(context.Background()); code != 0 {
		t.Fatalf("ensure: %d", code)
	}
	waitCoordinating(t, b, groupID)
	return b
}

func joinRequest(groupID, memberID string) *kmsg.JoinGroupRequest {
	r := kmsg.NewPtrJoinGroupRequest()
	r.SetVersion(9)
	r.Group, r.MemberID, r.ProtocolType = groupID, memberID, "consumer"
	r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = 6000, 10000
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte{}
	r.Protocols = append(r.Protocols, p)
	return r
}

// A JoinGroup parked while the coordinator's wall clock was an hour ahead
// is answered once the group's initial rebalance delay has passed, not an
// hour after the clock is reset (issue 14, seed 3 of clickstream, payments
// and vitals under --faults all: n1's clock jumped +94 s, a vitals member
// joined, the clock was reset, and the group's first generation was due
// 94 s later, past the whole liveness phase).
func TestGroupJoinSurvivesWallClockGoingBack(t *testing.T) {
	clock := &wallJumpClock{}
	b := openJumpBroker(t, clock, "g", 200)
	join := func(memberID string) *waiter {
		t.Helper()
		w, code := b.groups.callShard("g", func(sm *group.Shard, nowMs int64, w group.Waiter) group.Output {
			return sm.Join(nowMs, joinRequest("g", memberID), group.Client{ID: "c", Host: "/127.0.0.1"}, w)
		})
		if code != 0 {
			t.Fatalf("join: code %d", code)
		}
		return w
	}
	answer := func(w *waiter, within time.Duration) *kmsg.JoinGroupResponse {
		t.Helper()
		select {
		case r := <-w.ch:
			return r.(*kmsg.JoinGroupResponse)
		case <-time.After(within):
			t.Fatalf("no JoinGroup answer within %v", within)
		}
		return nil
	}

	clock.offset.Store(int64(time.Hour))
	first := answer(join(""), 5*time.Second)
	if first.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: code %d, want MEMBER_ID_REQUIRED", first.ErrorCode)
	}
	w := join(first.MemberID) // parked for the initial rebalance delay
	clock.offset.Store(0)
	resp := answer(w, 5*time.Second)
	if resp.ErrorCode != 0 || resp.LeaderID != first.MemberID || resp.Generation != 1 {
		t.Fatalf("join: code %d leader %q generation %d; want the member leading generation 1", resp.ErrorCode, resp.LeaderID, resp.Generation)
	}
}

// Transaction verification stops asking a busy coordinator verifyRetryMax
// after it began even if the wall clock went back an hour meanwhile, instead
// of asking every verifyRetryBackoff for the hour.
func TestVerifyRetrySurvivesWallClockGoingBack(t *testing.T) {
	clock := &wallJumpClock{}
	clock.offset.Store(int64(time.Hour))
	calls := 0
	done := make(chan int16, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- retryWhileConcurrent(ctx, clock, func() int16 {
			calls++
			clock.offset.Store(0) // reset after the first answer
			return kerr.ConcurrentTransactions.Code
		})
	}()
	select {
	case code := <-done:
		if code != kerr.ConcurrentTransactions.Code {
			t.Fatalf("code %d, want CONCURRENT_TRANSACTIONS", code)
		}
		if limit := int(verifyRetryMax/verifyRetryBackoff) + 1; calls > limit {
			t.Fatalf("%d calls, want at most %d", calls, limit)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still retrying after 5s (deadline %v)", verifyRetryMax)
	}
}
