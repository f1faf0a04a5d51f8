package gen

import (
	"context"
	"sync"
)

// Group runs workers until they return; the first error cancels the
// others (errgroup's shape, with a hook to run when a set of workers is
// done).
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error
}

// NewGroup returns a group whose workers get a context derived from ctx.
func NewGroup(ctx context.Context) *Group {
	ctx, cancel := context.WithCancel(ctx)
	return &Group{ctx: ctx, cancel: cancel}
}

// Go runs f in its own goroutine.
func (g *Group) Go(f func(ctx context.Context) error) {
	g.GoAll([]func(context.Context) error{f}, nil)
}

// GoAll runs each of fs in its own goroutine and then, once all of them
// returned, done (if not nil): a client that several workers share is
// closed after the last of them.
func (g *Group) GoAll(fs []func(ctx context.Context) error, done func()) {
	var set sync.WaitGroup
	for _, f := range fs {
		set.Add(1)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer set.Done()
			if err := f(g.ctx); err != nil {
				g.fail(err)
			}
		}()
	}
	if done != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			set.Wait()
			done()
		}()
	}
}

func (g *Group) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
		g.cancel()
	}
}

// Wait waits for every worker and returns the first error.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
