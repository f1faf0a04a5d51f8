package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// smallCfg rolls every few batches and indexes almost every batch, so that
// short tests cross segment and index boundaries; on the OS FS its segments
// are preallocated (capped at SegmentBytes) and released at roll.
var smallCfg = Config{SegmentBytes: 1000, IndexIntervalBytes: 150, PreallocateBytes: 600}

// fill appends n batches of varying record counts and sizes.
func fill(t tb, l *Log, m *model, rng *rand.Rand, n int) {
	for range n {
		m.add(t, l, batch(1+rng.IntN(5), rng.IntN(80), rng.Int64N(1000)))
	}
}

func TestHeaderLayout(t *testing.T) {
	raw := batch(3, 10, 777)
	record.SetBaseOffset(raw, 1234)
	b, err := record.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	fs := memfs.New()
	writeAll(t, fs, "/b", raw)
	f, err := fs.Open("/b")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr [hdrPrefix]byte
	h, err := readHeader(f, 0, int64(len(raw)), hdr[:])
	if err != nil {
		t.Fatal(err)
	}
	if h.base != b.FirstOffset || h.last != b.LastOffset() || h.size != len(raw) {
		t.Fatalf("header %+v, parse says %d..%d size %d", h, b.FirstOffset, b.LastOffset(), len(raw))
	}
	if got := int64(binary.BigEndian.Uint64(raw[hdrMaxTimestamp:])); got != b.MaxTimestamp {
		t.Fatalf("max timestamp at %d reads %d, parse says %d", hdrMaxTimestamp, got, b.MaxTimestamp)
	}
}

func TestAppendReadAcrossRolls(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(1, 2)), 60)
		if l.Segments() < 5 {
			t.Fatalf("only %d segments; the test wants several rolls", l.Segments())
		}
		m.check(t, l)
		// Every offset: the first batch returned is the one holding it, and
		// a large maxBytes returns consecutive batches of the same segment.
		for o := m.start; o < m.end(); o++ {
			i := m.containing(o)
			got, err := l.Read(o, 1<<20)
			if err != nil {
				t.Fatalf("Read(%d): %v", o, err)
			}
			if !bytes.HasPrefix(got, m.batches[i]) {
				t.Fatalf("Read(%d) does not start with batch %d", o, i)
			}
			var want []byte
			for j := i; j < len(m.batches) && l.segments[l.segmentFor(m.bases[j])] == l.segments[l.segmentFor(o)]; j++ {
				want = append(want, m.batches[j]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Read(%d) gave %d bytes, want the rest of its segment, %d bytes", o, len(got), len(want))
			}
		}
	})
}

func TestReadMaxBytes(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, Config{})
		defer l.Close()
		var m model
		for i := range 5 {
			m.add(t, l, batch(2, 100, int64(i)))
		}
		sz := len(m.batches[0]) // all the same size
		for _, c := range []struct{ maxBytes, batches int }{
			{0, 1}, {1, 1}, {sz - 1, 1}, {sz, 1}, {sz + 1, 1}, {2*sz - 1, 1}, {2 * sz, 2}, {3*sz + 5, 3}, {1 << 20, 5},
		} {
			got, err := l.Read(0, c.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if want := bytes.Join(m.batches[:c.batches], nil); !bytes.Equal(got, want) {
				t.Errorf("Read(0, %d): %d bytes, want %d batches (%d bytes)", c.maxBytes, len(got), c.batches, len(want))
			}
		}
	})
}

func TestReadOversizeFirstBatch(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		// A batch larger than SegmentBytes still goes, alone, into a segment.
		l := mustOpen(t, fs, dir, Config{SegmentBytes: 500})
		defer l.Close()
		var m model
		m.add(t, l, batch(1, 10, 0))
		m.add(t, l, batch(3, 400, 0)) // > 500 bytes
		m.add(t, l, batch(1, 10, 0))
		got, err := l.Read(1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, m.batches[1]) {
			t.Fatalf("KIP-74: got %d bytes, want the whole %d-byte batch", len(got), len(m.batches[1]))
		}
		if l.Segments() != 3 {
			t.Fatalf("%d segments, want 3", l.Segments())
		}
		m.check(t, l)
	})
}

func TestReadOutOfRange(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, Config{})
		defer l.Close()
		if got, err := l.Read(0, 100); got != nil || err != nil {
			t.Fatalf("empty log Read(0) = %v, %v", got, err)
		}
		var m model
		m.add(t, l, batch(3, 1, 0))
		if err := l.TruncateFullyAndStartAt(100); err != nil {
			t.Fatal(err)
		}
		m = model{start: 100}
		m.add(t, l, batch(2, 1, 0)) // 100-101
		m.check(t, l)
		for _, o := range []int64{-1, 0, 99, 103, 1 << 40} {
			if _, err := l.Read(o, 100); !errors.Is(err, ErrOffsetOutOfRange) {
				t.Errorf("Read(%d) on log [100, 102): %v", o, err)
			}
		}
		if got, err := l.Read(102, 100); got != nil || err != nil {
			t.Errorf("Read(end) = %d bytes, %v", len(got), err)
		}
	})
}

func TestTruncateFully(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		rng := rand.New(rand.NewPCG(3, 4))
		fill(t, l, &m, rng, 20)
		if err := l.TruncateFullyAndStartAt(500); err != nil {
			t.Fatal(err)
		}
		m = model{start: 500}
		m.check(t, l)
		fill(t, l, &m, rng, 20)
		m.check(t, l)
		// TruncateTo at or below the start empties the log and restarts it
		// there, as Kafka's truncateTo does.
		if err := l.TruncateTo(300); err != nil {
			t.Fatal(err)
		}
		m = model{start: 300}
		m.check(t, l)
		fill(t, l, &m, rng, 20)
		if err := l.TruncateFullyAndStartAt(-1); err == nil {
			t.Fatal("negative start accepted")
		}
		l.Close()
		l = mustOpen(t, fs, dir, smallCfg)
		m.check(t, l)
		// Durable on return: a crash right after keeps the new start.
		if err := l.TruncateFullyAndStartAt(7); err != nil {
			t.Fatal(err)
		}
		fs = crash(t, fs, l, rng, 1)
		l = mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		m = model{start: 7}
		m.check(t, l)
	})
}

func TestReadBounded(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, Config{})
		defer l.Close()
		var m model
		for range 4 {
			m.add(t, l, batch(3, 5, 0)) // offsets 0-2, 3-5, 6-8, 9-11
		}
		for _, c := range []struct {
			offset, maxOffset int64
			want              int // batches from the one holding offset
		}{
			{0, 12, 4}, {0, 9, 3}, {0, 7, 3}, {0, 6, 2}, {0, 1, 1}, {2, 1, 0}, {4, 5, 1}, {4, 4, 0}, {3, 3, 0}, {0, 0, 0}, {11, 100, 1},
		} {
			got, err := l.ReadBounded(c.offset, 1<<20, c.maxOffset)
			if err != nil {
				t.Fatal(err)
			}
			i := m.containing(c.offset)
			if want := bytes.Join(m.batches[i:i+c.want], nil); !bytes.Equal(got, want) {
				t.Errorf("ReadBounded(%d, max %d): %d bytes, want %d batches", c.offset, c.maxOffset, len(got), c.want)
			}
		}
	})
}

func TestRollByTime(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		clock := env.NewManualClock(t0)
		l, err := Open(fs, clock, dir, Config{SegmentMs: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var m model
		m.add(t, l, batch(1, 1, 0))
		clock.Advance(30 * time.Minute)
		m.add(t, l, batch(1, 1, 0))
		clock.Advance(30 * time.Minute) // exactly SegmentMs: not "longer ago"
		m.add(t, l, batch(1, 1, 0))
		if n := l.Segments(); n != 1 {
			t.Fatalf("%d segments after 1h, want 1", n)
		}
		clock.Advance(time.Millisecond)
		m.add(t, l, batch(1, 1, 0))
		if n := l.Segments(); n != 2 {
			t.Fatalf("%d segments after 1h+1ms, want 2", n)
		}
		// The new segment's clock starts at its first append.
		clock.Advance(59 * time.Minute)
		m.add(t, l, batch(1, 1, 0))
		if n := l.Segments(); n != 2 {
			t.Fatalf("%d segments, want 2", n)
		}
		// An idle log does not roll: there is nothing to roll without an
		// append, and an empty active segment never rolls.
		l.Close()
		clock.Advance(10 * time.Hour)
		l, err = Open(fs, clock, dir, Config{SegmentMs: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		// After a restart the clock restarts at Open: the segment's first
		// append time was not persisted.
		m.add(t, l, batch(1, 1, 0))
		if n := l.Segments(); n != 2 {
			t.Fatalf("%d segments right after reopen, want 2", n)
		}
		clock.Advance(time.Hour + 1)
		m.add(t, l, batch(1, 1, 0))
		if n := l.Segments(); n != 3 {
			t.Fatalf("%d segments an hour after reopen, want 3", n)
		}
		m.check(t, l)
	})
}

// recordTimes lists every record's (offset, timestamp) in the model, as the
// brute-force answer for timestamp queries.
func recordTimes(t tb, m *model) (offsets, times []int64, compressedBatch []bool) {
	for _, raw := range m.batches {
		b, err := record.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i <= int64(b.LastOffsetDelta); i++ {
			offsets = append(offsets, b.FirstOffset+i)
			times = append(times, b.FirstTimestamp+i) // recordtest: +1 ms per record
			compressedBatch = append(compressedBatch, b.Compression() != 0)
		}
	}
	return offsets, times, compressedBatch
}

func checkTimestamps(t *testing.T, l *Log, m *model) {
	t.Helper()
	offsets, times, _ := recordTimes(t, m)
	// Records below the start offset are not there for ListOffsets.
	for len(offsets) > 0 && offsets[0] < l.StartOffset() {
		offsets, times = offsets[1:], times[1:]
	}
	for ts := int64(-2); ts < 1100; ts++ {
		wantOff, wantTs, wantOK := int64(-1), int64(-1), false
		for i := range offsets {
			if times[i] >= ts {
				wantOff, wantTs, wantOK = offsets[i], times[i], true
				break
			}
		}
		off, got, ok := l.OffsetForTimestamp(ts)
		if off != wantOff || got != wantTs || ok != wantOK {
			t.Fatalf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", ts, off, got, ok, wantOff, wantTs, wantOK)
		}
	}
	wantOff, wantTs := int64(-1), int64(-1)
	for i := range offsets {
		if wantOff < 0 || times[i] > wantTs {
			wantOff, wantTs = offsets[i], times[i]
		}
	}
	if off, ts := l.MaxTimestamp(); off != wantOff || ts != wantTs {
		t.Fatalf("MaxTimestamp = %d, %d; want %d, %d", off, ts, wantOff, wantTs)
	}
}

func TestTimestamps(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		if off, ts := l.MaxTimestamp(); off != -1 || ts != -1 {
			t.Fatalf("empty MaxTimestamp = %d, %d", off, ts)
		}
		if _, _, ok := l.OffsetForTimestamp(0); ok {
			t.Fatal("empty log found a timestamp")
		}
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(5, 6)), 80)
		checkTimestamps(t, l, &m)
		// The same answers from indexes loaded from disk...
		l.Close()
		l = mustOpen(t, fs, dir, smallCfg)
		checkTimestamps(t, l, &m)
		// ... and rebuilt from the data.
		l.Close()
		for _, s := range l.segments {
			_ = fs.Remove(segmentName(dir, s.base, timeIndexSuffix))
		}
		l = mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		if len(l.Recovery().RebuiltIndexes) != len(l.segments)-1 {
			t.Fatalf("rebuilt %v of %d rolled segments", l.Recovery().RebuiltIndexes, len(l.segments)-1)
		}
		checkTimestamps(t, l, &m)
		// From a start offset inside a segment and a batch, at every
		// offset of the first few segments.
		limit := l.bases()[3]
		for o := l.StartOffset(); o < limit; o += 3 {
			if _, err := l.AdvanceStartOffset(o); err != nil {
				t.Fatal(err)
			}
			m.advanceStart(o)
			checkTimestamps(t, l, &m)
		}
	})
}

func TestTimestampsCompressed(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, Config{})
		defer l.Close()
		var m model
		m.add(t, l, batch(3, 1, 100))              // 0-2 at 100-102
		m.add(t, l, compressed(batch(3, 1, 200)))  // 3-5 at 200-202, compressed
		m.add(t, l, batch(3, 1, 50))               // 6-8 at 50-52
		m.add(t, l, compressed(batch(2, 1, 1000))) // 9-10 at 1000-1001
		for _, c := range []struct{ ts, off, got int64 }{
			{101, 1, 101}, {103, 3, 202}, {201, 3, 202}, {203, 9, 1001}, {1001, 9, 1001},
		} {
			off, got, ok := l.OffsetForTimestamp(c.ts)
			if !ok || off != c.off || got != c.got {
				t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d", c.ts, off, got, ok, c.off, c.got)
			}
		}
		if off, ts := l.MaxTimestamp(); off != 9 || ts != 1001 {
			t.Errorf("MaxTimestamp = %d, %d; want the compressed batch's base 9, 1001", off, ts)
		}
	})
}

func TestTruncateTo(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		rng := rand.New(rand.NewPCG(7, 8))
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		fill(t, l, &m, rng, 50)
		for range 12 {
			// Any offset: batch boundaries, mid-batch, segment bases, the end.
			var to int64
			switch rng.IntN(3) {
			case 0:
				to = m.bases[rng.IntN(len(m.bases))]
			case 1:
				to = l.segments[rng.IntN(len(l.segments))].base
			default:
				to = m.start + rng.Int64N(m.end()-m.start+2)
			}
			if to <= m.start {
				to = m.start + 1 // keep something; TestTruncateFully covers the rest
			}
			if err := l.TruncateTo(to); err != nil {
				t.Fatalf("TruncateTo(%d): %v", to, err)
			}
			m.truncate(to)
			m.check(t, l)
			if got := l.SyncedOffset(); got != l.EndOffset() {
				t.Fatalf("SyncedOffset %d after truncation to end %d: truncation must be durable", got, l.EndOffset())
			}
			checkTimestamps(t, l, &m)
			fill(t, l, &m, rng, 1+rng.IntN(10))
			m.check(t, l)
			if rng.IntN(2) == 0 {
				l.Close()
				l = mustOpen(t, fs, dir, smallCfg)
				m.check(t, l)
			}
		}
		l.Close()
	})
}

// TestTruncateSurvivesCrash: truncated data must not come back, since a
// follower that diverged would serve it again.
func TestTruncateSurvivesCrash(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		rng := rand.New(rand.NewPCG(9, 10))
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		fill(t, l, &m, rng, 30)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		to := m.bases[len(m.bases)/2] + 1
		if err := l.TruncateTo(to); err != nil {
			t.Fatal(err)
		}
		m.truncate(to)
		fs = crash(t, fs, l, rng, 0)
		l = mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		m.check(t, l)
	})
}

func TestReopenIdentical(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(11, 12)), 40)
		segs, size := l.Segments(), l.Size()
		mo, mts := l.MaxTimestamp()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(batch(1, 1, 0)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Append after Close: %v", err)
		}
		if _, err := l.Read(0, 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
		l = mustOpen(t, fs, dir, smallCfg)
		defer l.Close()
		m.check(t, l)
		r := l.Recovery()
		if r.TruncatedBytes != 0 || len(r.RebuiltIndexes) != 0 || len(r.RemovedFiles) != 0 || r.Segments != segs {
			t.Fatalf("clean reopen did work: %+v", r)
		}
		if l.Segments() != segs || l.Size() != size {
			t.Fatalf("reopen: %d segments %d bytes, was %d, %d", l.Segments(), l.Size(), segs, size)
		}
		if o, ts := l.MaxTimestamp(); o != mo || ts != mts {
			t.Fatalf("MaxTimestamp %d,%d was %d,%d", o, ts, mo, mts)
		}
		if got := l.SyncedOffset(); got != m.end() {
			t.Fatalf("SyncedOffset %d after reopen, want %d", got, m.end())
		}
		fill(t, l, &m, rand.New(rand.NewPCG(11, 13)), 10)
		m.check(t, l)
	})
}

func TestIndexRebuild(t *testing.T) {
	damage := map[string]func(b []byte) []byte{
		"missing":   nil,
		"empty":     func([]byte) []byte { return nil },
		"torn":      func(b []byte) []byte { return b[:len(b)-3] },
		"short":     func(b []byte) []byte { return b[:len(b)/2/24*24] }, // whole entries, but too few
		"garbage":   func(b []byte) []byte { return bytes.Repeat([]byte{0xa5}, len(b)) },
		"bad order": func(b []byte) []byte { copy(b, b[len(b)-24:]); return b },
		"too large": func(b []byte) []byte { return make([]byte, 1<<20) },
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		for name, f := range damage {
			t.Run(suffix+"/"+name, func(t *testing.T) {
				forEachFS(t, func(t *testing.T, k fsKind) {
					fs, dir := k.newDir(t)
					cfg := Config{SegmentBytes: 4000, IndexIntervalBytes: 150}
					l := mustOpen(t, fs, dir, cfg)
					var m model
					for i := range 60 {
						// Rising timestamps, so the time index has many entries.
						m.add(t, l, batch(1+i%4, 40, int64(i*10)))
					}
					l.Close()
					victim := l.segments[1].base
					path := segmentName(dir, victim, suffix)
					old := readAll(t, fs, path)
					if len(old) < 24 {
						t.Fatalf("%s has only %d bytes; the damage needs entries", path, len(old))
					}
					if f == nil {
						if err := fs.Remove(path); err != nil {
							t.Fatal(err)
						}
					} else {
						writeAll(t, fs, path, f(bytes.Clone(old)))
					}
					l = mustOpen(t, fs, dir, cfg)
					defer l.Close()
					// A prefix of a valid offset index (even an empty one) is
					// a valid, sparser index: reads just scan further.
					sparser := suffix == indexSuffix && (name == "short" || name == "empty")
					if r := l.Recovery().RebuiltIndexes; !sparser && (len(r) != 1 || r[0] != victim) {
						t.Fatalf("rebuilt %v, want [%d]", r, victim)
					}
					if got := readAll(t, fs, path); !sparser && !bytes.Equal(got, old) {
						t.Fatalf("rebuilt %s differs from the one written at roll", suffix)
					}
					m.check(t, l)
					checkTimestamps(t, l, &m)
				})
			})
		}
	}
}

func readAll(t tb, fs env.FS, name string) []byte {
	t.Helper()
	b, err := readFileLimit(fs, name, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeAll(t tb, fs env.FS, name string, data []byte) {
	t.Helper()
	if err := env.WriteFileSync(fs, name, data); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentReadsDuringAppends(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		cfg := smallCfg
		cfg.DropBehindBytes = 500 // reader 0's syncs drop cache under the other readers
		l := mustOpen(t, fs, dir, cfg)
		defer l.Close()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for r := range 3 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(r), 99))
				for {
					select {
					case <-stop:
						return
					default:
					}
					end := l.EndOffset()
					if end == 0 {
						continue
					}
					o := rng.Int64N(end)
					got, err := l.Read(o, rng.IntN(2000))
					if err != nil {
						t.Errorf("Read(%d): %v", o, err)
						return
					}
					b, err := record.Parse(got)
					if err != nil || b.FirstOffset > o || b.LastOffset() < o {
						t.Errorf("Read(%d): first batch %d..%d, %v", o, b.FirstOffset, b.LastOffset(), err)
						return
					}
					if r == 0 {
						_ = l.Sync()
					}
				}
			})
		}
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(15, 16)), 300)
		close(stop)
		wg.Wait()
		m.check(t, l)
	})
}

func TestAppendRejectsNonBatch(t *testing.T) {
	l := mustOpen(t, env.OSFS{}, t.TempDir(), Config{})
	defer l.Close()
	good := batch(2, 3, 0)
	for _, raw := range [][]byte{nil, good[:60], good[:len(good)-1], append(bytes.Clone(good), 0)} {
		if _, err := l.Append(raw); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("Append(%d bytes): %v", len(raw), err)
		}
	}
	if l.EndOffset() != 0 || l.Size() != 0 {
		t.Fatal("a rejected append changed the log")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{SegmentBytes: 10}, {SegmentBytes: 1 << 31}, {IndexIntervalBytes: -1}, {SegmentMs: -1}} {
		if _, err := Open(env.OSFS{}, env.RealClock{}, t.TempDir(), c); err == nil {
			t.Errorf("Open accepted %+v", c)
		}
	}
}

func TestDelete(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		fill(t, l, &m, rand.New(rand.NewPCG(17, 18)), 20)
		if err := l.Delete(); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Stat(dir); err == nil {
			t.Fatal("directory survived Delete")
		}
		if _, err := l.Append(batch(1, 1, 0)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Append after Delete: %v", err)
		}
	})
}

func TestSyncedOffset(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, Config{SegmentBytes: 1000})
		defer l.Close()
		var m model
		m.add(t, l, batch(3, 10, 0))
		if got := l.SyncedOffset(); got != 0 {
			t.Fatalf("SyncedOffset %d before Sync", got)
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if got := l.SyncedOffset(); got != 3 {
			t.Fatalf("SyncedOffset %d after Sync, want 3", got)
		}
		for l.Segments() == 1 {
			m.add(t, l, batch(3, 100, 0))
		}
		// A roll syncs the segment it seals.
		if got, want := l.SyncedOffset(), l.active().base; got != want {
			t.Fatalf("SyncedOffset %d after roll, want the new segment's base %d", got, want)
		}
	})
}
