package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env/memfs"
)

var fuzzCfg = Config{SegmentBytes: 400, IndexIntervalBytes: 1}

// fuzzRolled writes, through the log itself, a rolled segment 0 (with the
// indexes roll writes) and an active segment, and returns the model of the
// rolled segment's batches and the active segment's base.
func fuzzRolled(t *testing.T, fs *memfs.FS, dir string) (*model, int64) {
	l := mustOpen(t, fs, dir, fuzzCfg)
	var m model
	for i := 0; l.Segments() == 1; i++ {
		m.add(t, l, batch(1+i%3, 30, int64(100-i*7)))
	}
	m.batches, m.bases = m.batches[:len(m.batches)-1], m.bases[:len(m.bases)-1]
	base := l.active().base
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return &m, base
}

// FuzzRecover writes arbitrary bytes as the active segment and, unless
// single, as the indexes of a valid rolled segment before it, and checks that
// Open never panics or fails, never serves a batch that fails record.Parse,
// keeps offsets dense, keeps the rolled segment whole, and only ever cuts the
// active segment (never invents bytes).
func FuzzRecover(f *testing.F) {
	one := batch(2, 5, 10)
	three := append(append(bytes.Clone(one), one...), one...)
	record.SetBaseOffset(three[len(one):], 2)
	record.SetBaseOffset(three[2*len(one):], 4)
	f.Add([]byte{}, []byte{}, []byte{}, true)
	f.Add(one, []byte{}, []byte{}, true)
	f.Add(three, []byte{}, []byte{}, true)
	f.Add(three[:len(three)-7], []byte{}, []byte{}, true)
	f.Add(three, []byte{0, 0, 0, 2, 0, 0, 0, 40}, []byte{0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0}, false)
	f.Add(compressed(batch(3, 1, 0)), []byte{1, 2, 3}, []byte{0xff}, false)

	f.Fuzz(func(t *testing.T, active, index, timeIndex []byte, single bool) {
		fs := memfs.New()
		const dir = "/d"
		rolled, base := &model{}, int64(0)
		if !single {
			rolled, base = fuzzRolled(t, fs, dir)
			// Keep the good index when the input gives none, so that both
			// the load and the rebuild paths get exercised.
			if len(index) > 0 {
				writeAll(t, fs, segmentName(dir, 0, indexSuffix), index)
			}
			if len(timeIndex) > 0 {
				writeAll(t, fs, segmentName(dir, 0, timeIndexSuffix), timeIndex)
			}
		} else if err := fs.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Lay the active segment out as the log would, with dense base
		// offsets from base, so that the fuzzer reaches valid sequences of
		// batches; out-of-sequence batches have their own unit test.
		rebase(active, base)
		writeAll(t, fs, segmentName(dir, base, logSuffix), active)

		l, err := Open(fs, env0(), dir, fuzzCfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		checkDense(t, l)
		if got := l.StartOffset(); got != 0 {
			t.Fatalf("StartOffset %d", got)
		}
		// The rolled segment is served whole and unchanged.
		for i, raw := range rolled.batches {
			got, err := l.Read(rolled.bases[i], 1)
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("rolled batch %d: %v", i, err)
			}
		}
		// The active segment is a prefix of what was written.
		kept := readAll(t, fs, segmentName(dir, base, logSuffix))
		if !bytes.HasPrefix(active, kept) || int64(len(kept)) != l.active().size {
			t.Fatalf("active segment is %d bytes, not a prefix of the %d written", len(kept), len(active))
		}
		// Every batch can be read by its first and last offset.
		err = l.Batches(0, func(b *record.Batch) error {
			for _, o := range []int64{b.FirstOffset, b.LastOffset()} {
				got, err := l.Read(o, 0)
				if err != nil {
					return err
				}
				if !bytes.Equal(got, b.Raw) {
					t.Fatalf("Read(%d) is not the batch at %d", o, b.FirstOffset)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		l.MaxTimestamp()
		l.OffsetForTimestamp(0)
		l.OffsetForTimestamp(1 << 40)
		// The recovered log is appendable and reopens as it is.
		end := l.EndOffset()
		if got, err := l.Append(batch(1, 1, 0)); err != nil || got != end {
			t.Fatalf("Append after recovery: %d, %v; want %d", got, err, end)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2, err := Open(fs, env0(), dir, fuzzCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l2.Close()
		if r := l2.Recovery(); r.TruncatedBytes != 0 || len(r.RebuiltIndexes) != 0 || l2.EndOffset() != end+1 {
			t.Fatalf("second open: %+v, end %d, want %d", r, l2.EndOffset(), end+1)
		}
	})
}

// rebase sets dense base offsets on the batches framed in b, from base.
func rebase(b []byte, base int64) {
	for len(b) >= hdrPrefix {
		size, err := record.PeekSize(b)
		if err != nil || size > len(b) {
			return
		}
		record.SetBaseOffset(b, base)
		base += int64(int32(binary.BigEndian.Uint32(b[hdrLastOffsetDelta:]))) + 1
		b = b[size:]
	}
}

// FuzzCheckpoints writes arbitrary bytes as the log-start-offset and
// cleaner-offset files of a valid log (gaps made by a real pass included)
// and checks that Open either refuses a start file it cannot read, or opens
// a log that reads back whole: never a panic, never a start below the first
// segment, every batch valid and in increasing offsets (a wrong cleaner
// checkpoint costs a pass, never data).
func FuzzCheckpoints(f *testing.F) {
	f.Add([]byte{}, []byte{}, false, false)
	f.Add(encodeCheckpoint(startMagic, 7), encodeCheckpoint(cleanerMagic, 50, 40, 1), true, true)
	f.Add(encodeCheckpoint(startMagic, 1<<40), encodeCheckpoint(cleanerMagic, -5, 1<<62, -1), true, true)
	f.Add(encodeCheckpoint(startMagic, 0), encodeCheckpoint(cleanerMagic, 0, 0, 0), true, true)
	f.Add([]byte("weirlso1garbage"), []byte("x"), true, true)
	f.Fuzz(func(t *testing.T, start, cleaner []byte, writeStart, writeCleaner bool) {
		fs := memfs.New()
		const dir = "/d"
		l := mustOpen(t, fs, dir, compactCfg)
		var m kvModel
		for i := range 60 {
			m.appendKV(t, l, recordtest.Options{}, kv(fmt.Sprintf("k%d", i%3), "v"))
		}
		mustClean(t, l, cleanAll)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if writeStart {
			writeAll(t, fs, filepath.Join(dir, startFile), start)
		}
		if writeCleaner {
			writeAll(t, fs, filepath.Join(dir, cleanerFile), cleaner)
		}
		l, err := Open(fs, env0(), dir, compactCfg)
		if err != nil {
			if !writeStart || !errors.Is(err, errBadCheckpoint) {
				t.Fatalf("Open: %v", err)
			}
			return
		}
		defer l.Close()
		if l.StartOffset() < l.bases()[0] || l.StartOffset() > l.EndOffset() {
			t.Fatalf("start %d outside [%d, %d]", l.StartOffset(), l.bases()[0], l.EndOffset())
		}
		last := int64(-1)
		err = l.Batches(l.StartOffset(), func(b *record.Batch) error {
			if b.FirstOffset <= last {
				return fmt.Errorf("batch %d after %d", b.FirstOffset, last)
			}
			last = b.LastOffset()
			return nil
		})
		if err != nil {
			t.Fatalf("Batches: %v", err)
		}
	})
}
