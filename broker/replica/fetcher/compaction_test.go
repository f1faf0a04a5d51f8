package fetcher_test

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	wlog "github.com/weir-dev/weir/broker/log"
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

// keyed is a batch of key/value records (a nil value: a tombstone)
// placed at base in leaderEpoch.
func keyed(base int64, leaderEpoch int32, kvs ...recordtest.KV) []byte {
	return placed(recordtest.Keyed(recordtest.Options{}, kvs...), base, leaderEpoch)
}

func kv(k, v string) recordtest.KV {
	if v == "" {
		return recordtest.KV{Key: []byte(k)}
	}
	return recordtest.KV{Key: []byte(k), Value: []byte(v)}
}

// valuesOf returns the records of l by key, in offset order ("" for a
// tombstone).
func valuesOf(t *testing.T, l *wlog.Log) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var c record.Codecs
	defer c.Close()
	err := l.Batches(l.StartOffset(), func(b *record.Batch) error {
		data, err := b.RecordsData(&c, nil, 1<<20)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			var r record.Record
			if r, data, err = record.NextRecord(data); err != nil {
				return err
			}
			out[string(r.Key)] = append(out[string(r.Key)], string(r.Value))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFollowerKeepsNoDeletedKey is seed 23094 between a real leader log
// and a real fetcher: the follower holds k=old below its log end (2) and
// was away while the leader took k=new, then k's tombstone, and cleaned
// twice: the first pass removed both values and kept the tombstone, the
// second (past delete.retention.ms) removed the tombstone. Copying on from
// its end the follower would keep k=old for good; it must instead see the
// leader's tombstone mark past its end, copy the leader's log again from
// its start, and end with nothing of k, the leader's log byte for byte,
// and the leader's mark. With the planted defect (keep-deleted-keys) it
// keeps k=old: the test sees the bug it guards against.
func TestFollowerKeepsNoDeletedKey(t *testing.T) {
	for _, defect := range []bool{false, true} {
		t.Run(map[bool]string{false: "fixed", true: "keep-deleted-keys"}[defect], func(t *testing.T) {
			w := newWorld(t)
			leader := newFakeLeader(t, 1, w.net.Host("n1"), "n1:9092")
			leader.logCfg = wlog.Config{SegmentBytes: 200}
			shared := [][]byte{keyed(0, 1, kv("k", "old")), keyed(1, 1, kv("x", "1"))}
			existing := append(slices.Clone(shared), keyed(2, 1, kv("k", "new")), keyed(3, 1, kv("k", "")))
			for i := range 8 {
				existing = append(existing, keyed(int64(4+i), 1, kv("y", string(rune('a'+i)))))
			}
			// The follower is out of the ISR: it was away.
			lp := leader.lead(tp0, 1, []int32{1}, []int32{1, 2}, existing...)
			clean := func(pass string) wlog.CleanStats {
				st, err := lp.log.Clean(w.ctx, wlog.CleanConfig{MaxOffset: lp.log.EndOffset(), DeleteRetention: time.Millisecond})
				if err != nil || !st.Ran {
					t.Fatalf("%s pass: %+v, %v", pass, st, err)
				}
				return st
			}
			clean("first")
			time.Sleep(5 * time.Millisecond) // past the tombstone's horizon
			if st := clean("second"); st.TombstonesRemoved != 1 {
				t.Fatalf("the second pass removed %d tombstones, want k's", st.TombstonesRemoved)
			}
			if got := valuesOf(t, lp.log)["k"]; len(got) != 0 || lp.log.TombstoneMark().Below != 4 {
				t.Fatalf("the leader's log holds %q of k, mark %v; want nothing, below 4", got, lp.log.TombstoneMark())
			}

			p := newLogPartition(t, memfs.New(), "/f", shared...)
			logs := &lockedBuffer{}
			m := fetcher.NewManager(w.ctx, fetcher.Config{
				LocalID: 2, Net: w.net.Host("n2"), Clock: env.RealClock{},
				MaxWait: 50 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
				Follower: replica.FollowerConfig{TruncateOnFetch: true, Defects: replica.Defects{KeepDeletedKeys: defect}},
				OnError:  func(tp fetcher.TopicPartition, err error) { t.Errorf("%s failed: %v", tp, err) },
				Logger:   slog.New(slog.NewTextHandler(logs, nil)),
			})
			t.Cleanup(m.Close)
			a := replica.Assignment{Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1}}
			if err := m.Follow(tp0, fetcher.Broker{ID: 1, Addr: "n1:9092"}, a, 2, p); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the follower to catch up", func() bool { return p.EndOffset() == lp.log.EndOffset() })
			m.Stop(tp0)
			p.stopped.Store(true)
			got := valuesOf(t, p.log)["k"]
			if defect {
				if !slices.Equal(got, []string{"old"}) {
					t.Fatalf("with keep-deleted-keys the follower holds %q of k, want the resurrected old value", got)
				}
				return
			}
			if len(got) != 0 {
				t.Fatalf("the follower holds %q of deleted key k", got)
			}
			sameLog(t, p.log, lp.log)
			if p.log.TombstoneMark().Below != lp.log.TombstoneMark().Below {
				t.Fatalf("follower mark %v, leader's %v", p.log.TombstoneMark(), lp.log.TombstoneMark())
			}
			if told := logs.lines("copies the leader's log again"); len(told) != 1 || !strings.Contains(told[0], "log_end=2") || !strings.Contains(told[0], "tombstones_below=4") {
				t.Fatalf("recopy lines in the fetcher's log: %q, want one from log end 2 under mark 4", told)
			}
		})
	}
}
