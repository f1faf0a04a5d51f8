package env

import "time"

// Clock tells time and schedules work. The broker never calls time.Now,
// time.After or time.Sleep directly: in simulation each node's clock may be
// offset or jump, and native tests drive a ManualClock.
type Clock interface {
	// Now returns the current time: the wall clock, which may be stepped
	// back or ahead (in simulation it carries no monotonic reading, so
	// Now().Sub of an earlier Now follows every step).
	Now() time.Time
	// Monotonic returns the time the clock's timers run on, as the time
	// elapsed since an instant fixed for the clock's lifetime. It never
	// goes back and does not follow steps of the wall clock (Now): measure
	// durations and keep deadlines on it, as Kafka keeps its timers on
	// System.nanoTime, so a clock stepped back neither stretches a timeout
	// nor, stepped ahead, cuts one short.
	Monotonic() time.Duration
	// AfterFunc calls f in its own goroutine after d has elapsed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a Timer whose channel receives once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a pending event of a Clock.
type Timer interface {
	// C is the channel a NewTimer timer fires on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether it had not
	// fired yet.
	Stop() bool
}

// RealClock is the operating system's clock.
type RealClock struct{}

var _ Clock = RealClock{}

func (RealClock) Now() time.Time { return time.Now() }

// realClockStart is the instant RealClock's Monotonic counts from, set once
// when the process starts and never changed: its monotonic reading is what
// makes Monotonic monotonic.
var realClockStart = time.Now()

func (RealClock) Monotonic() time.Duration { return time.Since(realClockStart) }

func (RealClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{t: time.AfterFunc(d, f)}
}

func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{t: time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// SteadyClock reads a Clock's Monotonic time as a date: the wall clock when
// it was made plus the monotonic time since, as Go's time.Now does with its
// monotonic reading. It never goes back and does not follow steps of the
// wall clock, for state machines that take the time as a date and keep
// timeouts on it (the controller's broker sessions, the group and
// transaction coordinators): given the wall clock, such a machine would
// take a step ahead for elapsed time, and one that keeps its time from
// going back would stand still after a step back for as long as the step.
type SteadyClock struct {
	clock     Clock
	start     time.Time
	startMono time.Duration
}

// NewSteadyClock starts a SteadyClock on c at c's wall clock.
func NewSteadyClock(c Clock) SteadyClock {
	return SteadyClock{clock: c, start: c.Now(), startMono: c.Monotonic()}
}

// Now is the steady time: start plus the monotonic time since.
func (s SteadyClock) Now() time.Time { return s.start.Add(s.clock.Monotonic() - s.startMono) }
