package broker

// What the group and transaction coordinators' shells (groups.go, txns.go)
// keep alike, whatever their state machines: the set of shards of the
// coordinator's topic (one per partition this broker leads, made and
// given up as leadership moves, and the routing of a key to its shard),
// and for each shard the lock, the serving state and its answer to
// requests it does not take, one clock timer at the state machine's next
// deadline, the count of failed loads, and the goroutine that tells the
// state machine how far its partition is durable. How a shard appends what its state machine emits and carries
// out the rest of a decision is each shell's own (a group shard writes
// transactional batches too; a transaction shard sends markers and queues
// the decisions that follow at once).

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/group"
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
// state machine: the partition of the coordinator's topic it serves, in
// the leader epoch it was loaded in, and what mu guards (with the shard's
// state machine).
type shardCore struct {
	index int32
	p     *partition.Partition
	epoch int32

	mu    sync.Mutex
	state shardState
	timer shardTimer
	// loads counts the loads that failed (coordload.go).
	loads coordLoadRetry
}

func (c *shardCore) core() *shardCore { return c }

// stop marks the shard stopped with its broker and ends its timer.
func (c *shardCore) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = shardStopped
	c.timer.stop()
}

// leads reports whether this broker still leads the shard's partition in
// the leader epoch the shard was loaded in. The reconciler resigns the
// partition (Partition.SetRole) before it unloads the shard (follow), and
// between the two it carries out every other step of the image: opening
// the partitions of a topic created meanwhile can take seconds (sweep seed
// 68192: a broker paused for 11 s applied, on resuming, an image with the
// 50 partitions of __transaction_state; its shard of a __consumer_offsets
// partition led elsewhere served for 1.4 s more, its partition a follower
// that had truncated the shard's records and copied the new leader's). A
// shard that no longer leads must not answer: its state holds records
// the new leader's log lacks, and the high watermark it would wait for is
// a follower's, of other records. So each step of a serving shard first
// checks leads (serving, and watchDurable), and a shard that lost its
// partition unloads itself.
func (c *shardCore) leads() bool { return c.p.Leading() && c.p.LeaderEpoch() == c.epoch }

// serving reports whether the shard serves, unloading it first (unload,
// the shell's, with mu held) if its partition no longer leads in the
// shard's epoch. Call with mu held, before each step of a shard.
func (c *shardCore) serving(unload func()) bool {
	if c.state == shardServing && !c.leads() {
		unload()
	}
	return c.state == shardServing
}

// watchDurable calls durable with p's high watermark, under mu, at once
// and each time it moves (records a state machine wrote with no answer
// waiting must count as durable too, or a later answer would wait for an
// fsync that went by), until the shard stops serving or done is closed. A
// partition that failed fails the shard instead (fail, under mu); a
// partition this broker no longer leads in the shard's epoch unloads it
// (lost, under mu): its high watermark is then a follower's.
func (c *shardCore) watchDurable(p *partition.Partition, done <-chan struct{}, durable func(hw int64), fail func(error), lost func()) {
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
		// The high watermark first: if the partition still leads in the
		// shard's epoch after it was read, it was the leader's (an epoch
		// is led once, without a break).
		hw := p.HighWatermark()
		if !c.leads() {
			lost()
			c.mu.Unlock()
			return
		}
		durable(hw)
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

// coordinatorShard is a shard of either coordinator (*coordShard,
// *txnShard).
type coordinatorShard interface {
	comparable
	core() *shardCore
	// load reads the shard's partition and serves it.
	load()
	// unload gives the shard up: NOT_COORDINATOR from then on.
	unload()
}

// shardSet is a coordinator's shards: one entry per partition of its
// topic (none before the topic exists), a shard where this broker leads
// the partition and nil elsewhere. mu guards shards.
type shardSet[S coordinatorShard] struct {
	mu     sync.Mutex
	shards []S
}

// follow makes the shards match the partitions of the coordinator's topic
// t this broker leads (t nil: the topic does not exist): a partition it
// now leads, or leads in a new leader epoch, gets a new shard from
// newShard, loaded from the log in the background
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile; a new leader finishes what the
// old one left, from the log); a shard whose partition it no longer leads
// is unloaded (NOT_COORDINATOR). The reconciler calls it after every
// image.
func (s *shardSet[S]) follow(b *Broker, t *topic, newShard func(index int32, p *partition.Partition, epoch int32) S) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if t != nil {
		n = len(t.info.Partitions)
	}
	var none S
	next := make([]S, n)
	var load []S
	for i := range n {
		p := t.partitions[i]
		cs := none
		if i < len(s.shards) {
			cs = s.shards[i]
		}
		leading := p != nil && p.Leading()
		epoch := int32(-1)
		if leading {
			epoch = p.LeaderEpoch()
		}
		if cs != none && cs.core().p == p && cs.core().epoch == epoch && leading {
			next[i] = cs
			continue
		}
		if cs != none {
			cs.unload()
		}
		if leading {
			cs = newShard(int32(i), p, epoch)
			next[i] = cs
			load = append(load, cs)
		}
	}
	for i := n; i < len(s.shards); i++ {
		if s.shards[i] != none {
			s.shards[i].unload()
		}
	}
	s.shards = next
	if len(load) == 0 || b.ctx.Err() != nil {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for _, cs := range load {
			if b.ctx.Err() != nil {
				return
			}
			cs.load()
		}
	}()
}

// route finds the shard of key (a group id, a transactional id: Kafka's
// abs(hashCode) % partitions). Before the topic exists, or when another
// broker leads the key's partition, this broker coordinates nothing:
// NOT_COORDINATOR sends the client back to FindCoordinator.
func (s *shardSet[S]) route(key string) (S, int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var none S
	if len(s.shards) == 0 {
		return none, kerr.NotCoordinator.Code
	}
	cs := s.shards[group.PartitionFor(key, int32(len(s.shards)))]
	if cs == none {
		return none, kerr.NotCoordinator.Code
	}
	return cs, 0
}

// shardAt is the shard of partition index, or nil.
func (s *shardSet[S]) shardAt(index int32) S {
	s.mu.Lock()
	defer s.mu.Unlock()
	var none S
	if index < 0 || int(index) >= len(s.shards) {
		return none
	}
	return s.shards[index]
}

// partitions is how many partitions the coordinator's topic has, or 0.
func (s *shardSet[S]) partitions() int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int32(len(s.shards))
}

// allShards is every shard this broker has, for requests about all keys.
func (s *shardSet[S]) allShards() []S {
	s.mu.Lock()
	defer s.mu.Unlock()
	var none S
	var out []S
	for _, cs := range s.shards {
		if cs != none {
			out = append(out, cs)
		}
	}
	return out
}

// stop ends every shard's timer; after it returns no shard appends again.
// The broker's context is already done, so watchers, loaders and marker
// senders are ending.
func (s *shardSet[S]) stop() {
	for _, cs := range s.allShards() {
		cs.core().stop()
	}
}
