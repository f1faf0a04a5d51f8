package lowprio

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ErrStopped means the Pool's context ended before a worker took the job.
var ErrStopped = errors.New("lowprio: pool stopped")

// MaxNice is the lowest priority a Pool's threads can have (Linux's nice 19).
const MaxNice = 19

// Pool runs functions on a fixed set of low-priority workers.
type Pool struct {
	ctx  context.Context
	jobs chan job
	wg   sync.WaitGroup
}

type job struct {
	fn   func()
	done chan struct{}
}

// Start starts workers goroutines, each on its own OS thread whose nice value
// is set to nice (1..MaxNice; Linux's default is 0). They end when ctx ends.
// The error says the priority could not be set (an OS without per-thread
// priorities, or a process already nicer than that, which only a privileged
// one may undo); the pool is usable anyway, at the process's priority.
func Start(ctx context.Context, workers, nice int) (*Pool, error) {
	if workers < 1 || nice < 1 || nice > MaxNice {
		return nil, fmt.Errorf("lowprio: %d workers at nice %d: want at least 1 worker and nice in [1, %d]", workers, nice, MaxNice)
	}
	p := &Pool{ctx: ctx, jobs: make(chan job)}
	errs := make(chan error, workers)
	p.wg.Add(workers)
	for range workers {
		go p.work(nice, errs)
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return p, first
}

func (p *Pool) work(nice int, started chan<- error) {
	defer p.wg.Done()
	// Never unlocked: the thread exits with this goroutine instead of going
	// back to the runtime with its lowered priority.
	runtime.LockOSThread()
	started <- lowerThreadPriority(nice)
	for {
		select {
		case <-p.ctx.Done():
			return
		case j := <-p.jobs:
			j.fn()
			close(j.done)
		}
	}
}

// Do runs fn on a worker and waits for it. It returns ctx.Err() or
// ErrStopped, without running fn, if ctx or the pool ends before a worker is
// free to take it.
func (p *Pool) Do(ctx context.Context, fn func()) error {
	j := job{fn: fn, done: make(chan struct{})}
	select {
	case p.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return ErrStopped
	}
	<-j.done
	return nil
}

// Wait waits for every worker to end; call it after the Pool's context ends.
func (p *Pool) Wait() { p.wg.Wait() }
