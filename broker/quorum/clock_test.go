package quorum

import (
	"sync/atomic"
	"testing"
	"time"

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

// The active controller's wall clock jumping an hour ahead fences no broker
// (their sessions are timeouts on monotonic time, as in Kafka's
// BrokerHeartbeatManager), and a broker that stops heartbeating is fenced
// one session after its last heartbeat even after the clock is reset.
func TestSessionsIgnoreWallClockJumps(t *testing.T) {
	clock := &wallJumpClock{}
	c := newCluster(t, 1, func(cfg *Config) {
		cfg.Clock = clock
		cfg.Controller.SessionTimeout = 2 * time.Second
	})
	l := c.leader()
	epochs := activeBrokers(t, c.nodes[l], 2)
	clock.offset.Store(int64(time.Hour))
	// Many controller ticks (2 ms each) under the jump: no fence.
	time.Sleep(300 * time.Millisecond)
	for id := int32(1); id <= 2; id++ {
		if br, _ := c.nodes[l].Image().Broker(id); br.Fenced {
			t.Fatalf("broker %d fenced after the controller's wall clock jumped an hour ahead", id)
		}
	}
	// Back: broker 2 keeps heartbeating, broker 1 stopped; 1 is fenced
	// about a session after its last heartbeat, not an hour later.
	clock.offset.Store(0)
	c.waitFor("broker 1 fenced", 10*time.Second, func() bool {
		heartbeat(t, c.nodes[l], 2, epochs[2])
		br, _ := c.nodes[l].Image().Broker(1)
		return br.Fenced
	})
	if br, _ := c.nodes[l].Image().Broker(2); br.Fenced {
		t.Fatal("broker 2 fenced though it heartbeats")
	}
}
