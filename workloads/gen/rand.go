package gen

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// NewRand returns the generator a workload draws from when its
// configuration names only a seed.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Child derives an independent generator for one worker. Split every
// worker's generator off the parent before any worker starts: goroutines
// drawing from one generator would make the draws depend on scheduling.
func Child(r *rand.Rand) *rand.Rand { return rand.New(rand.NewPCG(r.Uint64(), r.Uint64())) }

// Sleep waits d or until ctx ends; it reports whether ctx is still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Exp draws an exponential gap with the given mean (Poisson arrivals).
func Exp(rng *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(mean))
}

// Pacer spreads operations as Poisson arrivals at Rate per second, shared
// by whichever processes are free to make them: a client reaches its rate
// as long as one of its processes is free. A zero Rate never waits.
type Pacer struct {
	Rate float64

	mu   sync.Mutex
	next time.Time
}

// Wait waits until the caller's next operation is due; it reports whether
// ctx is still live.
func (p *Pacer) Wait(ctx context.Context, rng *rand.Rand) bool {
	if p == nil || p.Rate <= 0 {
		return ctx.Err() == nil
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(Exp(rng, time.Duration(float64(time.Second)/p.Rate)))
	due := p.next
	p.mu.Unlock()
	return Sleep(ctx, time.Until(due))
}

// Counter hands out 1, 2, 3, ...: client incarnation ids, or anything a
// run numbers.
type Counter struct {
	mu sync.Mutex
	n  int
}

// Next returns the next number.
func (c *Counter) Next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

// Procs hands out process ids 0, 1, 2, ...; one per run, shared by every
// worker, so ids never repeat. Final reads use ids from FinalProcess up.
type Procs struct{ c Counter }

// New returns a process with a fresh id.
func (p *Procs) New() *Process { return &Process{ID: p.c.Next() - 1, procs: p} }

// Process is one logical client of the history: it never has two open
// operations. After an operation ends info it is considered crashed, and
// Crash gives it a fresh id.
type Process struct {
	ID    int
	procs *Procs
}

// Crash makes p a new process, as Jepsen does after an info.
func (p *Process) Crash() { p.ID = p.procs.c.Next() - 1 }

// Process ids of final reads: a final op and its reader per topic, far
// above any id Procs hands out. The i-th final read (from 0) uses
// FinalProcess+2i and FinalProcess+2i+1.
const FinalProcess = 1 << 30

// FinalProcesses returns the final op's process and its reader's for the
// i-th final read of a run.
func FinalProcesses(i int) (final, reader int) {
	return FinalProcess + 2*i, FinalProcess + 2*i + 1
}
