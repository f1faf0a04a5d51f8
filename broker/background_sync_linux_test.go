package broker

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
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

// watchQuietly is watch without marking the partition watched: for tests
// that wait for a sync without changing its priority.
func (p *partition) watchQuietly() <-chan struct{} {
	p.hwMu.Lock()
	defer p.hwMu.Unlock()
	return p.hwChanged
}

// TestBackgroundSyncPriority: the fsync after an acks=1 append runs on a
// thread at weir.log.background.sync.nice; the fsync an acks=-1 produce
// waits for, and one a fetch is watching for, run at the broker's own
// priority. Once the high watermark has moved, nobody is watching again.
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
	cfg := DefaultConfig()
	cfg.DataDir = "/data"
	cfg.BackgroundSyncNice = 15
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := env.NewManualClock(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	b, err := Open(cfg, Deps{FS: fs, Net: env.OSNet{}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustCreateTopic(t, b, "t", 1, nil)
	p := b.topicByName("t").partition(0)

	step := func(name string, awaited, watch bool, wantNice int) {
		t.Helper()
		if watch {
			p.watch()
		}
		_, before := nices.last()
		batch, err := record.Parse(recordtest.Batch(recordtest.Options{}, []byte(name)))
		if err != nil {
			t.Fatal(err)
		}
		res := p.append(&batch, false, awaited)
		if res.err != nil {
			t.Fatalf("%s: append: %v", name, res.err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for p.highWatermark() < res.endOffset {
			select {
			case <-p.watchQuietly():
			case <-time.After(time.Until(deadline)):
				t.Fatalf("%s: the high watermark did not reach %d", name, res.endOffset)
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
