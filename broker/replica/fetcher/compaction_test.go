package fetcher_test

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// lockedBuffer is a log sink the fetcher goroutine and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// plain is a batch of n records (no producer id) placed at base in
// leaderEpoch.
func plain(base int64, leaderEpoch int32, n int) []byte {
	values := make([][]byte, n)
	for i := range values {
		values[i] = []byte{byte(base), byte(i)}
	}
	return placed(recordtest.Batch(recordtest.Options{}, values...), base, leaderEpoch)
}

// A follower that comes back after a failover with a divergent suffix
// finds the new leader's log compacted: it truncates, then copies the
// leader's batches across the gaps the cleaner left, at the leader's
// offsets, and ends with the leader's log (the high watermark is the log
// end here, so the whole of it). The fetcher says so in the log once for
// the leader epoch it follows, however many gaps the answers cross.
func TestFollowerCopiesCompactedLogAfterTruncation(t *testing.T) {
	for _, onFetch := range []bool{false, true} {
		t.Run(map[bool]string{false: "offset-for-leader-epoch", true: "truncate-on-fetch"}[onFetch], func(t *testing.T) {
			w := newWorld(t)
			leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
			// The leader's log: epoch 1 at [0,2), then its own epoch 3 with
			// [2,4) and [5,8) cleaned away.
			lp := leader.lead(tp0, 3, []int32{1, 2}, []int32{1, 2}, plain(0, 1, 2), plain(4, 3, 1), plain(8, 3, 2))
			// The follower led epoch 2 and wrote [2,5), which no one else has.
			p := newLogPartition(t, memfs.New(), "/f", plain(0, 1, 2), plain(2, 2, 3))
			logs := &lockedBuffer{}
			m := fetcher.NewManager(w.ctx, fetcher.Config{
				LocalID: 2, Net: w.net.Host("n2"), Clock: env.RealClock{},
				MaxWait: 50 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
				Follower: replica.FollowerConfig{TruncateOnFetch: onFetch},
				OnError:  func(tp fetcher.TopicPartition, err error) { t.Errorf("%s failed: %v", tp, err) },
				Logger:   slog.New(slog.NewTextHandler(logs, nil)),
			})
			t.Cleanup(m.Close)
			if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, assignment(1, 3), 2, p); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the follower to copy the compacted log", func() bool { return p.hw.Load() == 10 })
			leader.produce(tp0, plain(10, 3, 3))
			eventually(t, "the follower to copy what followed", func() bool {
				return leader.highWatermark(tp0) == 13 && p.hw.Load() == 13
			})
			m.Stop(tp0)
			p.stopped.Store(true)
			if p.log.EndOffset() != lp.log.EndOffset() {
				t.Fatalf("follower log ends at %d, leader's at %d", p.log.EndOffset(), lp.log.EndOffset())
			}
			sameLog(t, p.log, lp.log)
			var offsets []int64
			if err := p.log.Batches(0, func(b *record.Batch) error {
				offsets = append(offsets, b.FirstOffset)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := []int64{0, 4, 8, 10}; !slices.Equal(offsets, want) {
				t.Fatalf("follower batches at %v, want %v (the leader's gaps kept)", offsets, want)
			}
			told := logs.lines("compaction gap")
			if len(told) != 1 || !strings.Contains(told[0], "gap_from=2 gap_to=4") || !strings.Contains(told[0], "leader_epoch=3") {
				t.Fatalf("gap lines in the fetcher's log: %q, want one for [2,4) in epoch 3", told)
			}
		})
	}
}
