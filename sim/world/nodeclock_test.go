package world

import (
	"testing"
	"time"

	"github.com/weir-dev/weir/env"
)

var clockStart = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func newTestClock() (*env.ManualClock, *nodeClock) {
	base := env.NewManualClock(clockStart)
	return base, newNodeClock(base, clockStart)
}

// fired waits for t's channel; the base clock's callbacks run in their own
// goroutines.
func fired(t *testing.T, tm env.Timer) time.Time {
	t.Helper()
	select {
	case at := <-tm.C():
		return at
	case <-time.After(5 * time.Second):
		t.Fatal("the timer did not fire")
	}
	return time.Time{}
}

// notFired fails the test if tm fired; it waits until tm is pending or
// held by a pause (the base clock's callbacks run in their own goroutines).
func notFired(t *testing.T, c *nodeClock, tm env.Timer) {
	t.Helper()
	nt := tm.(*nodeTimer)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		_, pending := c.pending[nt]
		done, late := nt.done, false
		for _, x := range c.late {
			late = late || x == nt
		}
		c.mu.Unlock()
		switch {
		case done:
			t.Fatal("the timer fired")
		case pending || late:
			return
		case time.Now().After(deadline):
			t.Fatal("the timer is in no state")
		}
		time.Sleep(time.Millisecond)
	}
}

// heldByPause waits until every timer fell due and is held by the pause.
func heldByPause(t *testing.T, c *nodeClock, tms ...env.Timer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		held := 0
		for _, tm := range tms {
			for _, x := range c.late {
				if x == tm.(*nodeTimer) {
					held++
				}
			}
		}
		c.mu.Unlock()
		if held == len(tms) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d timers are held by the pause", held, len(tms))
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNodeClockDriftAndJumps(t *testing.T) {
	base, c := newTestClock()
	if !c.Now().Equal(clockStart) {
		t.Fatalf("Now = %v, want the world's %v", c.Now(), clockStart)
	}
	tm := c.NewTimer(10 * time.Second)
	c.SetDrift(1) // twice as fast: due in 5 s of world time
	base.Advance(4 * time.Second)
	notFired(t, c, tm)
	if got, want := c.Now(), clockStart.Add(8*time.Second); !got.Equal(want) {
		t.Fatalf("drifting Now = %v, want %v", got, want)
	}
	if got := c.Monotonic(); got != 8*time.Second {
		t.Fatalf("drifting Monotonic = %v, want 8s", got)
	}
	base.Advance(time.Second)
	fired(t, tm)

	// A timer jump brings pending timers nearer and Now later; a due
	// timer fires at once.
	c.SetDrift(0)
	near, far := c.NewTimer(3*time.Second), c.NewTimer(20*time.Second)
	before := c.Now()
	c.JumpTimers(5 * time.Second)
	fired(t, near)
	if got := c.Now().Sub(before); got != 5*time.Second {
		t.Fatalf("a timer jump of 5s moved Now by %v", got)
	}
	base.Advance(14 * time.Second)
	notFired(t, c, far)
	base.Advance(time.Second)
	fired(t, far)

	// An offset moves Now only; Reset makes Now the world's time and
	// leaves timers where they are.
	c.SetOffset(-time.Hour)
	tm = c.NewTimer(time.Second)
	// The world is 20 s in; the node's monotonic time 30 s (5 s gained
	// drifting, 5 s jumped).
	if got, want := c.Now(), clockStart.Add(30*time.Second-time.Hour); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
	if got := c.Monotonic(); got != 30*time.Second {
		t.Fatalf("Monotonic under a wall-clock offset = %v, want 30s (it never sees the offset)", got)
	}
	c.Reset()
	if got := c.Now(); !got.Equal(base.Now()) {
		t.Fatalf("after Reset Now = %v, want the world's %v", got, base.Now())
	}
	if got := c.Monotonic(); got != 30*time.Second {
		t.Fatalf("after Reset Monotonic = %v, want 30s (Now went back 10s, the monotonic time does not)", got)
	}
	base.Advance(time.Second)
	fired(t, tm)
	if got := c.Monotonic(); got != 31*time.Second {
		t.Fatalf("Monotonic = %v, want 31s", got)
	}
}

func TestNodeClockPause(t *testing.T) {
	base, c := newTestClock()
	first, second := c.NewTimer(2*time.Second), c.NewTimer(time.Second)
	stopped := c.NewTimer(time.Second)
	var order []string
	done := make(chan struct{})
	fn := c.AfterFunc(1500*time.Millisecond, func() { order = append(order, "func"); close(done) })
	c.Pause()
	select {
	case <-c.Unpaused():
		t.Fatal("Unpaused is closed during a pause")
	default:
	}
	base.Advance(3 * time.Second)
	heldByPause(t, c, first, second, stopped, fn)
	if !stopped.Stop() {
		t.Fatal("Stop of a timer that fell due during the pause reported it fired")
	}
	c.Resume()
	at2 := fired(t, second)
	at1 := fired(t, first)
	<-done
	if !at1.Equal(at2) || !at1.Equal(base.Now()) {
		t.Fatalf("late timers fired at %v and %v, want the resume instant %v", at2, at1, base.Now())
	}
	select {
	case <-stopped.C():
		t.Fatal("a timer stopped during the pause fired")
	default:
	}
	if stopped.Stop() || first.Stop() {
		t.Fatal("Stop after firing or stopping reported a pending timer")
	}
	select {
	case <-c.Unpaused():
	default:
		t.Fatal("Unpaused is open after Resume")
	}
	if len(order) != 1 {
		t.Fatalf("the AfterFunc ran %d times", len(order))
	}
}
