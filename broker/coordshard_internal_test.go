package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/env"
)

// A shard's timer fires once at its deadline; setting the same deadline
// again keeps the timer, a new one replaces it, none stops it, and after
// it fired the next set starts another.
func TestShardTimer(t *testing.T) {
	clock := env.NewManualClock(time.Unix(1000, 0))
	fires := make(chan int64, 10)
	var st shardTimer
	nowMs := func() int64 { return clock.Now().UnixMilli() }
	set := func(at int64, ok bool) {
		st.set(clock, nowMs(), at, ok, func() { fires <- at })
	}
	expect := func(want ...int64) {
		t.Helper()
		for _, w := range want {
			select {
			case got := <-fires:
				if got != w {
					t.Fatalf("fired for deadline %d, want %d", got, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no timer fired, want the one for %d", w)
			}
		}
		select {
		case got := <-fires:
			t.Fatalf("fired for deadline %d too", got)
		case <-time.After(20 * time.Millisecond):
		}
	}
	start := nowMs()
	set(start+100, true)
	first := st.timer
	set(start+100, true)
	if st.timer != first {
		t.Fatal("setting the same deadline again replaced the timer")
	}
	set(start+50, true) // an earlier deadline replaces it
	clock.Advance(60 * time.Millisecond)
	expect(start + 50)
	clock.Advance(time.Second)
	expect() // the replaced one never fires

	st.fired()
	set(start+2000, true)
	set(0, false) // no deadline
	clock.Advance(2 * time.Second)
	expect()

	set(nowMs()-10, true) // already past: at once
	expect(nowMs() - 10)
	st.stop()
	st.stop() // twice is fine
}

func TestShardStateUnavailableCode(t *testing.T) {
	for state, want := range map[shardState]int16{
		shardLoading:  kerr.CoordinatorLoadInProgress.Code,
		shardUnloaded: kerr.NotCoordinator.Code,
		shardFailed:   kerr.CoordinatorNotAvailable.Code,
		shardStopped:  kerr.CoordinatorNotAvailable.Code,
	} {
		if got := state.unavailableCode(); got != want {
			t.Errorf("state %d: %v, want %v", state, kerr.ErrorForCode(got), kerr.ErrorForCode(want))
		}
	}
}
