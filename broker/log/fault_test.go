package log

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weir-dev/weir/env/memfs"
)

// failOnce fails the first operation op on a path ending in suffix.
type failOnce struct {
	mu     sync.Mutex
	op     memfs.Op
	suffix string
	fired  bool
}

var errInjected = errors.New("injected fault")

func (f *failOnce) MaybeError(op memfs.Op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.fired && op == f.op && strings.HasSuffix(path, f.suffix) {
		f.fired = true
		return errInjected
	}
	return nil
}

// TestWriteFaults: after any failed write-path operation the log refuses
// writes (the state of unsynced bytes is unknown) but still serves reads,
// never claims durability it does not have, and a crash and reopen bring
// back at least everything synced before the fault.
func TestWriteFaults(t *testing.T) {
	for _, c := range []struct {
		op     memfs.Op
		suffix string
	}{
		{memfs.OpSync, logSuffix},       // Sync or roll
		{memfs.OpWriteAt, logSuffix},    // Append
		{memfs.OpCreate, indexSuffix},   // roll
		{memfs.OpCreate, logSuffix},     // roll
		{memfs.OpSyncDir, "/topic-0"},   // roll
		{memfs.OpTruncate, logSuffix},   // TruncateTo
		{memfs.OpSync, timeIndexSuffix}, // roll
	} {
		t.Run(c.op.String()+c.suffix, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.op), 1))
			fs := memfs.New()
			const dir = "/data/topic-0"
			l := mustOpen(t, fs, dir, smallCfg)
			var m model
			fill(t, l, &m, rng, 10)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			synced := l.SyncedOffset()
			fs.SetInjector(&failOnce{op: c.op, suffix: c.suffix})
			var failed error
			for i := 0; i < 200 && failed == nil; i++ {
				switch {
				case c.op == memfs.OpTruncate && i%2 == 1:
					// Cut the last batch; when it is not alone in its
					// segment that is a file truncation.
					to := l.EndOffset() - 1
					if failed = l.TruncateTo(to); failed == nil {
						m.truncate(to)
						synced = l.SyncedOffset()
					}
				case i%5 == 4:
					if failed = l.Sync(); failed == nil {
						synced = l.SyncedOffset()
					}
				default:
					end := l.EndOffset()
					raw := batch(1+rng.IntN(4), rng.IntN(100), 0)
					if _, failed = l.Append(raw); failed == nil {
						m.batches, m.bases = append(m.batches, raw), append(m.bases, end)
					}
				}
			}
			if !errors.Is(failed, errInjected) {
				t.Fatalf("the fault never fired: %v", failed)
			}
			if got := l.SyncedOffset(); got > synced && c.op == memfs.OpSync && c.suffix == logSuffix {
				t.Fatalf("SyncedOffset %d advanced past %d through a failed fsync", got, synced)
			}
			if _, err := l.Append(batch(1, 1, 0)); err == nil {
				t.Fatal("Append succeeded after a write fault")
			}
			if err := l.Sync(); err == nil {
				t.Fatal("Sync succeeded after a write fault")
			}
			if _, err := l.Read(m.start, 1); err != nil {
				t.Fatalf("reads must go on after a write fault: %v", err)
			}
			synced = max(synced, l.SyncedOffset())
			fs.SetInjector(nil)
			fs2 := crash(t, fs, l, rng, rng.Float64())
			l = mustOpen(t, fs2, dir, smallCfg)
			defer l.Close()
			end := l.EndOffset()
			if end < synced {
				t.Fatalf("after the fault and a crash the log ends at %d, below the synced %d", end, synced)
			}
			m.truncate(end)
			m.check(t, l)
		})
	}
}

func TestSetConfig(t *testing.T) {
	clock := memfsClock()
	l, err := Open(memfs.New(), clock, "/d", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var m model
	m.add(t, l, batch(1, 1, 0))
	if err := l.SetConfig(Config{SegmentMs: time.Minute}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	m.add(t, l, batch(1, 1, 0))
	if l.Segments() != 2 {
		t.Fatalf("%d segments; SetConfig's SegmentMs did not apply", l.Segments())
	}
	if err := l.SetConfig(Config{SegmentBytes: 1}); err == nil {
		t.Fatal("SetConfig accepted an invalid config")
	}
	m.check(t, l)
}
