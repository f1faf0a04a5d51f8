package broker

import (
	"time"

	"github.com/weir-dev/weir/env"
)

// coordClock is the time the group and transaction coordinators give their
// shards, in Unix milliseconds: the wall clock when the coordinator was
// made plus the clock's monotonic time since. A shard takes an earlier
// time as the latest one it saw and keeps its timeouts on that time, so it
// must never be given the wall clock: a wall clock that went back (a
// reset after a jump ahead) would stand the shard's time, and every
// timeout with it, still for as long as the jump. Issue 14 (seed 3 of the
// stream workloads): a JoinGroup parked while its coordinator's clock was
// 94 s ahead was due 94 s after the reset, past the liveness phase, and the
// group never formed. Kafka keeps these timers on System.nanoTime.
type coordClock struct {
	clock     env.Clock
	startMs   int64
	startMono time.Duration
}

func newCoordClock(clock env.Clock) coordClock {
	return coordClock{clock: clock, startMs: clock.Now().UnixMilli(), startMono: clock.Monotonic()}
}

// nowMs never goes back and does not follow steps of the wall clock.
func (c coordClock) nowMs() int64 {
	return c.startMs + (c.clock.Monotonic() - c.startMono).Milliseconds()
}
