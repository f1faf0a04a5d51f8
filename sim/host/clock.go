package host

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-dev/weir/runfolder"
)

// Virtual clock constants. Changing any of them changes every trace.
const (
	// clockStartNs is the first reading. It must be above zero: a clock that
	// reads 0 makes the Go runtime abort.
	clockStartNs = runfolder.GuestClockStartNs
	// clockTickNs is what each read adds, so that a loop waiting for time
	// to pass (with no timer to sleep on) still sees it pass.
	clockTickNs = 1_000
	// wallEpochSec is what the guest's wall clock reads at virtual time 0:
	// 2025-01-01T00:00:00Z.
	wallEpochSec = runfolder.GuestWallEpochSec
)

// vclock is one run's virtual clock. The guest is single-threaded, so reads
// never race each other; the atomics are for the host reading Elapsed, or
// stopping the run, while it is going on.
//
// The clock is also how the host stops a guest: once stop was called,
// every read panics with errStopped, which wazero turns into an error of
// the guest's _start. The guest reads the clock hundreds of thousands of
// times per second of its CPU (the Go scheduler reads it whenever it looks
// at its timers), so it stops within microseconds. This replaces wazero's
// WithCloseOnContextDone, whose check at every loop head of the compiled
// code is a call out to Go: Go's wasm code enters such a loop on every
// function call and every backward jump, and the check cost about half of
// a run's CPU (docs/PERFORMANCE.md, "The simulator's own speed").
type vclock struct {
	ns      atomic.Int64
	limitNs int64 // past this, overrun is called once
	over    sync.Once
	overrun func()
	stopped atomic.Bool
}

// errStopped is the panic of a clock read after stop: the host's way of
// ending the guest. Why it stopped is the run context's cause.
var errStopped = errors.New("the host stopped the guest")

// stop makes every later read of the clock end the guest.
func (c *vclock) stop() { c.stopped.Store(true) }

func newVClock(limitNs int64, overrun func()) *vclock {
	c := &vclock{limitNs: clockStartNs + limitNs, overrun: overrun}
	c.ns.Store(clockStartNs)
	return c
}

func (c *vclock) advance(d int64) int64 {
	if c.stopped.Load() {
		panic(errStopped)
	}
	v := c.ns.Add(d)
	if v > c.limitNs {
		c.over.Do(c.overrun)
	}
	return v
}

// nanotime is WithNanotime's function.
func (c *vclock) nanotime() int64 { return c.advance(clockTickNs) }

// walltime is WithWalltime's function: the same clock, shifted to an epoch.
func (c *vclock) walltime() (sec int64, nsec int32) {
	v := c.advance(clockTickNs)
	return wallEpochSec + v/1e9, int32(v % 1e9)
}

// nanosleep is WithNanosleep's function: sleeping is advancing.
func (c *vclock) nanosleep(ns int64) {
	if ns > 0 {
		c.advance(ns)
	}
}

// elapsed is the virtual time simulated so far.
func (c *vclock) elapsed() int64 { return c.ns.Load() - clockStartNs }

// seedRand is the guest's random source: ChaCha8 keyed by the seed, so
// every random byte the runtime reads (map order, select, math/rand's
// global source) follows from the seed.
func seedRand(seed uint64) *rand.ChaCha8 {
	var key [32]byte
	copy(key[:], "weir-sim guest random source")
	binary.LittleEndian.PutUint64(key[24:], seed)
	return rand.NewChaCha8(key)
}

// GuestTimeOrigin is runfolder.GuestTimeOrigin.
func GuestTimeOrigin() time.Time { return runfolder.GuestTimeOrigin() }
