package env

import (
	"container/heap"
	"sync"
	"time"
)

// ManualClock is a Clock that moves only when told to, for native tests of
// timeouts, retention and delayed operations.
//
// Its timers follow Now; Monotonic counts how far the clock moved forward
// (Advance, and Set forward): a Set backwards does not take it back.
//
// Timers are due at an absolute instant of this clock (Now at creation plus
// the duration), so Set backwards delays them, as a wall-clock jump would if
// timers followed the wall clock. A timer created with a duration <= 0 fires
// at once, as with package time; waiting for an Advance that no one makes
// would hang the test instead.
//
// Advance and Set fire due timers in order of due time (creation order for
// ties) and move Now to each timer's due time before firing it, so a timer
// sees the instant it was due. AfterFunc callbacks run in their own
// goroutines, as with time.AfterFunc: Advance does not wait for them, and a
// timer a callback creates is due relative to the Now it reads.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	mono   time.Duration // how far the clock moved forward
	timers timerHeap
	seq    uint64 // creation order, to break ties deterministically
}

var _ Clock = (*ManualClock)(nil)

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ManualClock) Monotonic() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	return c.add(d, &manualTimer{f: f})
}

// NewTimer returns a timer whose channel has a buffer of 1, so firing never
// blocks Advance.
func (c *ManualClock) NewTimer(d time.Duration) Timer {
	return c.add(d, &manualTimer{ch: make(chan time.Time, 1)})
}

func (c *ManualClock) add(d time.Duration, t *manualTimer) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.clock = c
	t.when = c.now.Add(d)
	t.seq = c.seq
	c.seq++
	if d <= 0 {
		t.index = -1
		t.fire(c.now)
		return t
	}
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the clock forward by d, firing every timer due by then.
// It panics if d is negative: going back is Set's job, and a negative
// Advance is more likely a bug in the test.
func (c *ManualClock) Advance(d time.Duration) {
	if d < 0 {
		panic("env: ManualClock.Advance with a negative duration")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moveTo(c.now.Add(d))
}

// Set moves the clock to t, forward or back, firing every timer due by t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moveTo(t)
}

func (c *ManualClock) moveTo(target time.Time) {
	if d := target.Sub(c.now); d > 0 {
		c.mono += d
	}
	for len(c.timers) > 0 && !c.timers[0].when.After(target) {
		t := heap.Pop(&c.timers).(*manualTimer)
		if t.when.After(c.now) {
			c.now = t.when
		}
		t.fire(c.now)
	}
	c.now = target
}

// manualTimer fields other than clock, f and ch are guarded by clock.mu.
type manualTimer struct {
	clock *ManualClock
	when  time.Time
	seq   uint64
	index int // in clock.timers; -1 once fired or stopped
	f     func()
	ch    chan time.Time
}

func (t *manualTimer) fire(now time.Time) {
	if t.f != nil {
		go t.f()
		return
	}
	t.ch <- now // never blocks: the buffer is 1 and a timer fires once
}

func (t *manualTimer) C() <-chan time.Time {
	if t.ch == nil {
		return nil
	}
	return t.ch
}

// Stop follows time.Timer since Go 1.23: after Stop returns, no value will
// be received, and a fired value that no one received counts as not fired
// (Stop drains it and returns true). That keeps ManualClock and RealClock
// interchangeable for code written against the current semantics.
func (t *manualTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index >= 0 {
		heap.Remove(&c.timers, t.index)
		return true
	}
	if t.ch != nil {
		select {
		case <-t.ch:
			return true
		default:
		}
	}
	return false
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
