package world

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/weir-dev/weir/env"
)

// nodeClock is a node's env.Clock: the world's clock as the node sees it
// under clock faults and pauses. It lives as long as the node (every
// incarnation gets the same clock).
//
//   - The node has its own monotonic time, which runs 1+rate times as fast
//     as the world's (drift), and which JumpTimers moves forward at once
//     (a VM that was suspended, a monotonic clock that leapt).
//   - A timer of d fires when the node's monotonic time has advanced by d:
//     with drift, after d/(1+rate) of world time; a timer jump makes every
//     pending timer that much nearer (due ones fire at once).
//   - Now is the node's monotonic time as a date, plus an offset (a jump
//     of the wall clock only, which no timer sees). Reset sets the offset
//     and the drift to zero and makes Now read the world's time again; the
//     monotonic time never goes back.
//   - While the node is paused no timer fires: one that falls due fires at
//     Resume, in due order, as in a process stopped with SIGSTOP.
//
// Timers are visited in creation order wherever the order matters, so
// runs stay a function of their seed.
type nodeClock struct {
	base  env.Clock
	start time.Time // the world's start: monotonic time 0

	mu          sync.Mutex
	offset      time.Duration // Now's jump
	correction  time.Duration // subtracted from Now, so that Reset makes Now the world's time
	rate        float64       // the drift
	anchorWorld time.Time     // when rate last changed (or a timer jump)
	anchorMono  time.Duration // the monotonic time then
	paused      bool
	unpaused    chan struct{} // closed while not paused
	pending     map[*nodeTimer]struct{}
	late        []*nodeTimer // fell due while paused
	seq         uint64
}

func newNodeClock(base env.Clock, start time.Time) *nodeClock {
	unpaused := make(chan struct{})
	close(unpaused)
	return &nodeClock{base: base, start: start, anchorWorld: start, unpaused: unpaused, pending: map[*nodeTimer]struct{}{}}
}

var _ env.Clock = (*nodeClock)(nil)

// monoLocked is the node's monotonic time at the world's instant now.
func (c *nodeClock) monoLocked(now time.Time) time.Duration {
	return c.anchorMono + time.Duration(float64(now.Sub(c.anchorWorld))*(1+c.rate))
}

func (c *nodeClock) Now() time.Time {
	now := c.base.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(c.monoLocked(now) + c.offset - c.correction)
}

// Monotonic is the node's monotonic time, which its timers run on: drift
// and timer jumps move it, wall-clock jumps (SetOffset) do not.
func (c *nodeClock) Monotonic() time.Duration {
	now := c.base.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.monoLocked(now)
}

func (c *nodeClock) AfterFunc(d time.Duration, f func()) env.Timer {
	return c.add(d, &nodeTimer{f: f})
}

// NewTimer's channel has a buffer of 1, so firing never blocks.
func (c *nodeClock) NewTimer(d time.Duration) env.Timer {
	return c.add(d, &nodeTimer{ch: make(chan time.Time, 1)})
}

// nodeTimer is a timer of a nodeClock; its fields other than f and ch are
// guarded by the clock's mutex.
type nodeTimer struct {
	c    *nodeClock
	f    func()
	ch   chan time.Time
	seq  uint64
	due  time.Duration // monotonic time at which it fires
	base env.Timer     // the world's timer standing for it now
	gen  uint64        // which base timer is the current one
	done bool          // fired or stopped
}

func (t *nodeTimer) C() <-chan time.Time { return t.ch }

func (t *nodeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	delete(c.pending, t)
	c.late = slices.DeleteFunc(c.late, func(x *nodeTimer) bool { return x == t })
	if t.base != nil {
		t.base.Stop()
	}
	return true
}

func (c *nodeClock) add(d time.Duration, t *nodeTimer) env.Timer {
	now := c.base.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	t.c, t.seq = c, c.seq
	c.seq++
	t.due = c.monoLocked(now) + max(d, 0)
	c.pending[t] = struct{}{}
	c.scheduleLocked(t, now)
	return t
}

// scheduleLocked (re)starts the world's timer that stands for t.
func (c *nodeClock) scheduleLocked(t *nodeTimer, now time.Time) {
	if t.base != nil {
		t.base.Stop()
	}
	t.gen++
	gen := t.gen
	wait := time.Duration(float64(t.due-c.monoLocked(now)) / (1 + c.rate))
	t.base = c.base.AfterFunc(max(wait, 0), func() { c.due(t, gen) })
}

// due runs when the world's timer of t fires, in its own goroutine.
func (c *nodeClock) due(t *nodeTimer, gen uint64) {
	c.mu.Lock()
	if t.done || t.gen != gen {
		c.mu.Unlock()
		return
	}
	delete(c.pending, t)
	if c.paused {
		c.late = append(c.late, t)
		c.mu.Unlock()
		return
	}
	t.done = true
	c.mu.Unlock()
	t.fire(c.Now())
}

func (t *nodeTimer) fire(now time.Time) {
	if t.f != nil {
		t.f()
		return
	}
	select {
	case t.ch <- now:
	default:
	}
}

// sortedPendingLocked is the pending timers in creation order.
func (c *nodeClock) sortedPendingLocked() []*nodeTimer {
	return slices.SortedFunc(maps.Keys(c.pending), func(a, b *nodeTimer) int { return cmp.Compare(a.seq, b.seq) })
}

// rescheduleLocked moves the anchor to now (after which the monotonic time
// follows the new rate or jump) and restarts every pending timer.
func (c *nodeClock) rescheduleLocked(now time.Time) {
	for _, t := range c.sortedPendingLocked() {
		c.scheduleLocked(t, now)
	}
}

// SetOffset makes Now read off later than the monotonic time (earlier if
// negative): a jump of the wall clock, which timers do not see.
func (c *nodeClock) SetOffset(off time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = off
}

// SetDrift makes the node's time run 1+rate times as fast as the world's
// from now on. rate must be above -1.
func (c *nodeClock) SetDrift(rate float64) {
	now := c.base.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.anchorMono, c.anchorWorld = c.monoLocked(now), now
	c.rate = rate
	c.rescheduleLocked(now)
}

// JumpTimers moves the node's monotonic time forward by d (d > 0): every
// pending timer is d nearer, and Now is d later.
func (c *nodeClock) JumpTimers(d time.Duration) {
	if d <= 0 {
		return
	}
	now := c.base.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.anchorMono, c.anchorWorld = c.monoLocked(now)+d, now
	c.rescheduleLocked(now)
}

// Reset ends the clock faults: no offset, no drift, and Now reads the
// world's time again. The monotonic time goes on from where it is.
func (c *nodeClock) Reset() {
	now := c.base.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.anchorMono, c.anchorWorld = c.monoLocked(now), now
	c.rate, c.offset = 0, 0
	c.correction = c.anchorMono - now.Sub(c.start)
	c.rescheduleLocked(now)
}

// Pause stops the node's timers from firing until Resume.
func (c *nodeClock) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.paused {
		c.paused = true
		c.unpaused = make(chan struct{})
	}
}

// Paused reports whether the node is paused.
func (c *nodeClock) Paused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// Resume fires, in due order, the timers that fell due during the pause.
func (c *nodeClock) Resume() {
	c.mu.Lock()
	if !c.paused {
		c.mu.Unlock()
		return
	}
	c.paused = false
	close(c.unpaused)
	late := c.late
	c.late = nil
	for _, t := range late {
		t.done = true
	}
	c.mu.Unlock()
	slices.SortFunc(late, func(a, b *nodeTimer) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.seq, b.seq)) })
	now := c.Now()
	for _, t := range late {
		if t.f != nil {
			go t.f()
		} else {
			t.fire(now)
		}
	}
}

// Unpaused returns a channel that is closed while the node is not paused.
func (c *nodeClock) Unpaused() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unpaused
}
