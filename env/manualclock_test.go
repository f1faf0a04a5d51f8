package env

import (
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// waitFor is how long a test waits for something that must happen; the
// happy path never waits that long.
const waitFor = 5 * time.Second

// fired reports whether the timer's channel holds a value now, and which.
func fired(tm Timer) (time.Time, bool) {
	select {
	case v := <-tm.C():
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestManualClockAdvanceFiresDueTimersInOrder(t *testing.T) {
	c := NewManualClock(epoch)
	delays := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second}
	timers := make([]Timer, len(delays))
	for i, d := range delays {
		timers[i] = c.NewTimer(d)
	}
	steps := []struct {
		advance   time.Duration
		wantFired []int // indexes of timers that fire during this step
	}{
		{999 * time.Millisecond, nil},
		{time.Millisecond, []int{1}},
		{1500 * time.Millisecond, []int{2, 3}},
		{500 * time.Millisecond, []int{0}},
		{time.Hour, []int{4}},
		{time.Hour, nil},
	}
	elapsed := time.Duration(0)
	for i, s := range steps {
		c.Advance(s.advance)
		elapsed += s.advance
		if got := c.Now(); !got.Equal(epoch.Add(elapsed)) {
			t.Fatalf("step %d: Now = %v, want %v", i, got, epoch.Add(elapsed))
		}
		want := map[int]bool{}
		for _, j := range s.wantFired {
			want[j] = true
		}
		for j, tm := range timers {
			v, ok := fired(tm)
			if ok != want[j] {
				t.Fatalf("step %d: timer %d (%v) fired = %v, want %v", i, j, delays[j], ok, want[j])
			}
			// A timer sees the instant it was due, not the end of the
			// Advance that passed it.
			if ok && !v.Equal(epoch.Add(delays[j])) {
				t.Fatalf("step %d: timer %d sent %v, want %v", i, j, v, epoch.Add(delays[j]))
			}
		}
	}
}

func TestManualClockAfterFunc(t *testing.T) {
	c := NewManualClock(epoch)
	release := make(chan struct{})
	ran := make(chan time.Time, 1)
	tm := c.AfterFunc(time.Second, func() {
		// Blocks until Advance has returned, which it cannot if it runs
		// f itself instead of in a goroutine.
		<-release
		ran <- c.Now()
	})
	if tm.C() != nil {
		t.Fatal("AfterFunc timer has a channel")
	}
	c.Advance(999 * time.Millisecond)
	if !tm.Stop() {
		t.Fatal("Stop before the due time returned false: the timer fired early")
	}
	// A stopped timer must stay stopped.
	c.Advance(time.Hour)

	tm = c.AfterFunc(time.Second, func() {
		<-release
		ran <- c.Now()
	})
	advanced := make(chan struct{})
	go func() {
		c.Advance(time.Second)
		close(advanced)
	}()
	select {
	case <-advanced:
	case <-time.After(waitFor):
		t.Fatal("Advance waited for the callback instead of running it in its own goroutine")
	}
	close(release)
	select {
	case now := <-ran:
		if want := epoch.Add(time.Hour + time.Second + 999*time.Millisecond); !now.Equal(want) {
			t.Fatalf("callback saw Now = %v, want %v", now, want)
		}
	case <-time.After(waitFor):
		t.Fatal("AfterFunc callback did not run")
	}
	if tm.Stop() {
		t.Fatal("Stop after firing returned true")
	}
	select {
	case <-ran:
		t.Fatal("the stopped AfterFunc ran")
	default:
	}
}

func TestManualClockStop(t *testing.T) {
	tests := []struct {
		name     string
		advance  time.Duration
		receive  bool // receive the fired value before Stop
		wantStop bool
	}{
		{"pending", 0, false, true},
		// As time.Timer since Go 1.23: an unreceived value is drained and
		// the timer counts as stopped.
		{"fired, not received", time.Second, false, true},
		{"fired and received", time.Second, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewManualClock(epoch)
			tm := c.NewTimer(time.Second)
			c.Advance(tt.advance)
			if tt.receive {
				if _, ok := fired(tm); !ok {
					t.Fatal("timer did not fire")
				}
			}
			if got := tm.Stop(); got != tt.wantStop {
				t.Fatalf("Stop = %v, want %v", got, tt.wantStop)
			}
			if got := tm.Stop(); got {
				t.Fatal("second Stop returned true")
			}
			c.Advance(time.Hour)
			if v, ok := fired(tm); ok {
				t.Fatalf("stopped timer delivered %v", v)
			}
		})
	}
}

func TestManualClockNonPositiveDurationFiresAtOnce(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		c := NewManualClock(epoch)
		tm := c.NewTimer(d)
		if v, ok := fired(tm); !ok || !v.Equal(epoch) {
			t.Fatalf("NewTimer(%v) = %v, %v without Advance; want %v at once", d, v, ok, epoch)
		}
		ran := make(chan struct{})
		c.AfterFunc(d, func() { close(ran) })
		select {
		case <-ran:
		case <-time.After(waitFor):
			t.Fatalf("AfterFunc(%v) did not run without Advance", d)
		}
	}
}

func TestManualClockSet(t *testing.T) {
	c := NewManualClock(epoch)
	tm := c.NewTimer(time.Minute)

	// Back: nothing fires, and the timer is now further away.
	c.Set(epoch.Add(-time.Hour))
	if got := c.Now(); !got.Equal(epoch.Add(-time.Hour)) {
		t.Fatalf("Now after Set back = %v", got)
	}
	c.Advance(time.Hour)
	if _, ok := fired(tm); ok {
		t.Fatal("timer fired before its due instant after the clock went back")
	}
	if got := c.Monotonic(); got != time.Hour {
		t.Fatalf("Monotonic after Set back and Advance(1h) = %v, want 1h (a Set back does not take it back)", got)
	}
	// Forward past the due instant.
	c.Set(epoch.Add(time.Hour))
	if v, ok := fired(tm); !ok || !v.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("after Set forward: fired %v at %v; want at %v", ok, v, epoch.Add(time.Minute))
	}
	if got := c.Now(); !got.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("Now after Set forward = %v", got)
	}
	if got := c.Monotonic(); got != 2*time.Hour {
		t.Fatalf("Monotonic after Set forward by 1h = %v, want 2h", got)
	}
}

func TestManualClockAdvanceNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Advance(-1) did not panic")
		}
	}()
	NewManualClock(epoch).Advance(-1)
}

func TestManualClockConcurrentUse(t *testing.T) {
	// Run with -race: timers are created and stopped while time moves.
	const workers, perWorker = 4, 200
	c := NewManualClock(epoch)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stopped int
		timers  []Timer
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				tm := c.NewTimer(time.Duration(1+i%10) * time.Millisecond)
				if (w+i)%2 == 0 && tm.Stop() {
					mu.Lock()
					stopped++
					mu.Unlock()
					continue
				}
				mu.Lock()
				timers = append(timers, tm)
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			c.Advance(time.Millisecond)
		}
	})
	wg.Wait()
	c.Advance(time.Hour)
	// Every timer not stopped has fired exactly once by now.
	for i, tm := range timers {
		if _, ok := fired(tm); !ok {
			t.Fatalf("timer %d never fired", i)
		}
	}
	// No one receives, so every Stop finds its timer pending or its value
	// unreceived, and must report true.
	if stopped != workers*perWorker/2 {
		t.Fatalf("%d Stops returned true, want %d", stopped, workers*perWorker/2)
	}
}
