package broker

// What the group and transaction coordinators' shells (groups.go, txns.go)
// keep alike for each shard, whatever its state machine: the lock, the
// serving state and its answer to requests it does not take, one clock
// timer at the state machine's next deadline, the count of failed loads,
// and the goroutine that tells the state machine how far its partition is
// durable. How a shard appends what its state machine emits and carries
// out the rest of a decision is each shell's own (a group shard writes
// transactional batches too; a transaction shard sends markers and queues
// the decisions that follow at once).

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/env"
)

type shardState int

const (
	shardLoading shardState = iota
	shardServing
	shardFailed   // its partition failed (a write): COORDINATOR_NOT_AVAILABLE until restart
	shardUnloaded // given up (leadership moved): NOT_COORDINATOR
	shardStopped  // the broker is stopping
)

// unavailableCode is what a shard in state s answers a request it does
// not take (it takes them only while serving).
func (s shardState) unavailableCode() int16 {
	switch s {
	case shardLoading:
		return kerr.CoordinatorLoadInProgress.Code
	case shardUnloaded:
		return kerr.NotCoordinator.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}

// shardCore is the part of a coordinator shard its shell keeps whatever the
// state machine. mu guards it and the shard's state machine.
type shardCore struct {
	mu    sync.Mutex
	state shardState
	timer shardTimer
	// loads counts the loads that failed (coordload.go).
	loads coordLoadRetry
}

// stop marks the shard stopped with its broker and ends its timer.
func (c *shardCore) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = shardStopped
	c.timer.stop()
}

// watchDurable calls durable with p's high watermark, under mu, at once
// and each time it moves (records a state machine wrote with no answer
// waiting must count as durable too, or a later answer would wait for an
// fsync that went by), until the shard stops serving or done is closed. A
// partition that failed fails the shard instead (fail, under mu).
func (c *shardCore) watchDurable(p *partition.Partition, done <-chan struct{}, durable func(hw int64), fail func(error)) {
	for {
		ch := p.Watch()
		failed := p.Err()
		c.mu.Lock()
		if c.state != shardServing {
			c.mu.Unlock()
			return
		}
		if failed != nil {
			fail(failed)
			c.mu.Unlock()
			return
		}
		durable(p.HighWatermark())
		c.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			return
		}
	}
}

// shardTimer keeps one env.Clock timer at a shard's next deadline, in the
// shard's time (Unix milliseconds of its coordinator's env.SteadyClock).
// Its shard's mu guards it.
type shardTimer struct {
	timer env.Timer
	at    int64
}

// set keeps the timer at deadline at (ok false: there is none), to call
// fire then; nowMs is the shard's time now. A timer already set for at is
// kept.
func (t *shardTimer) set(clock env.Clock, nowMs, at int64, ok bool, fire func()) {
	if t.timer != nil && (!ok || at != t.at) {
		t.stop()
	}
	if !ok || t.timer != nil {
		return
	}
	t.at = at
	t.timer = clock.AfterFunc(max(time.Duration(at-nowMs)*time.Millisecond, 0), fire)
}

// fired forgets the timer that fired, so that the next set starts one.
func (t *shardTimer) fired() { t.timer = nil }

// stop stops the timer if one is set.
func (t *shardTimer) stop() {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}
