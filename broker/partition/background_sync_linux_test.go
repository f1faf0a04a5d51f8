package partition

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/internal/lowprio"
)

// syncNices is a memfs.Injector that fails nothing and records the nice
// value of the thread that fsyncs each .log file: memfs consults it on the
// caller's thread, before the operation.
type syncNices struct {
	mu    sync.Mutex
	nices []int
}

func (r *syncNices) MaybeError(op memfs.Op, path string) error {
	if op != memfs.OpSync || !strings.HasSuffix(path, ".log") {
		return nil
	}
	// getpriority's raw result is 20 - nice.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.nices = append(r.nices, 20-prio)
	r.mu.Unlock()
	return nil
}

// last returns the nice value of the latest .log fsync, and how many there were.
func (r *syncNices) last() (nice, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.nices) == 0 {
		return 0, 0
	}
	return r.nices[len(r.nices)-1], len(r.nices)
}

// watchQuietly is Watch without marking the partition watched: for tests
// that wait for a sync without changing its priority.
func (p *Partition) watchQuietly() <-chan struct{} {
	p.hwMu.Lock()
	defer p.hwMu.Unlock()
	return p.hwChanged
}

// TestBackgroundSyncPriority: the fsync after an acks=1 append runs on a
// thread of the Background pool (weir.log.background.sync.nice); the
// fsync an acks=-1 produce waits for, and one a fetch is watching for, run
// at the process's own priority. Once the high watermark has moved, nobody is watching again.
// An fsync that would cover bytes waiting longer than backgroundSyncMaxLag
// runs at normal priority too.
func TestBackgroundSyncPriority(t *testing.T) {
	own, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	ownNice := 20 - own
	if ownNice >= 15 {
		t.Skipf("the test process already runs at nice %d", ownNice)
	}
	fs := memfs.New()
	nices := &syncNices{}
	fs.SetInjector(nices)
	clock := testClock()
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := lowprio.Start(ctx, 4, 15)
	if pool == nil || err != nil {
		cancel()
		t.Skipf("no low-priority threads here: %v", err)
	}
	// Cleanups run last first: the pool stops after the partition closed.
	t.Cleanup(func() { cancel(); pool.Wait() })
	p := openTest(t, fs, clock, testConfig(0), Deps{Background: pool})
	p.lead(assignment(0, testNode))

	step := func(name string, awaited, watch bool, wantNice int) {
		t.Helper()
		if watch {
			p.Watch()
		}
		_, before := nices.last()
		batch, err := record.Parse(recordtest.Batch(recordtest.Options{}, []byte(name)))
		if err != nil {
			t.Fatal(err)
		}
		res := p.Append(&batch, false, awaited)
		if res.Err != nil {
			t.Fatalf("%s: append: %v", name, res.Err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for p.HighWatermark() < res.EndOffset {
			select {
			case <-p.watchQuietly():
			case <-time.After(time.Until(deadline)):
				t.Fatalf("%s: the high watermark did not reach %d", name, res.EndOffset)
			}
		}
		nice, n := nices.last()
		if n == before {
			t.Fatalf("%s: no fsync of the log", name)
		}
		if nice != wantNice {
			t.Errorf("%s: the log was fsynced at nice %d, want %d", name, nice, wantNice)
		}
	}
	step("acks=1, nobody watching", false, false, 15)
	step("acks=-1", true, false, ownNice)
	step("acks=1 with a fetch watching", false, true, ownNice)
	step("acks=1 after the watched change", false, false, 15)
	clock.Advance(backgroundSyncMaxLag + time.Millisecond)
	step("acks=1 after a quiet second", false, false, ownNice)
	step("acks=1 right after", false, false, 15)
}
