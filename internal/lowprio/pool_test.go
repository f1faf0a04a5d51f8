package lowprio

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// startPool starts a pool stopped at the end of the test. A pool whose
// priority could not be set still runs jobs, so only the test of the
// priority itself needs that to have worked (prioErr).
func startPool(t *testing.T, workers, nice int) (p *Pool, stop context.CancelFunc, prioErr error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, workers, nice)
	if p == nil {
		cancel()
		t.Fatalf("Start returned no pool: %v", err)
	}
	t.Cleanup(func() { cancel(); p.Wait() })
	return p, cancel, err
}

func TestDoRunsAtLowerPriority(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread nice values are Linux's")
	}
	before, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := startPool(t, 2, 7)
	if err != nil {
		t.Skipf("this process may not set nice 7 (it runs at %d): %v", before, err)
	}
	var got int
	var niceErr error
	if err := p.Do(context.Background(), func() { got, niceErr = threadNice() }); err != nil {
		t.Fatal(err)
	}
	if niceErr != nil {
		t.Fatal(niceErr)
	}
	if got != 7 {
		t.Fatalf("worker nice %d, want 7 (caller's is %d)", got, before)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	after, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("caller's thread nice changed from %d to %d", before, after)
	}
}

func TestDoRunsEveryJobOnce(t *testing.T) {
	p, _, _ := startPool(t, 2, 10)
	const callers, each = 8, 50
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range each {
				if err := p.Do(context.Background(), func() { ran.Add(1) }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if ran.Load() != callers*each {
		t.Fatalf("ran %d jobs, want %d", ran.Load(), callers*each)
	}
}

func TestDoWaitsForTheJob(t *testing.T) {
	p, _, _ := startPool(t, 1, 10)
	release := make(chan struct{})
	finished := false
	go func() { close(release) }()
	if err := p.Do(context.Background(), func() { <-release; finished = true }); err != nil {
		t.Fatal(err)
	}
	if !finished { // Do returned before fn did
		t.Fatal("Do returned before the job finished")
	}
}

func TestDoRefusesAfterContextsEnd(t *testing.T) {
	p, stop, _ := startPool(t, 1, 10)
	// The only worker is busy, so the next job cannot be taken.
	busy, release := make(chan struct{}), make(chan struct{})
	go p.Do(context.Background(), func() { close(busy); <-release })
	<-busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := p.Do(ctx, func() { ran = true }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with an ended context: %v, want context.Canceled", err)
	}
	close(release)
	stop()
	p.Wait()
	if err := p.Do(context.Background(), func() { ran = true }); !errors.Is(err, ErrStopped) {
		t.Fatalf("Do on a stopped pool: %v, want ErrStopped", err)
	}
	if ran {
		t.Fatal("a refused job ran")
	}
}

func TestStartRejectsBadArguments(t *testing.T) {
	for _, c := range []struct{ workers, nice int }{{0, 10}, {1, 0}, {1, 20}, {-1, 5}} {
		if _, err := Start(context.Background(), c.workers, c.nice); err == nil {
			t.Errorf("Start(%d workers, nice %d) succeeded", c.workers, c.nice)
		}
	}
}
