package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// rec is one record as appended or read back.
type rec struct {
	offset int64
	key    []byte // nil: no key
	value  []byte // nil: tombstone
}

func (r rec) String() string {
	v := string(r.value)
	if r.value == nil {
		v = "<tombstone>"
	}
	return fmt.Sprintf("%d:%s=%s", r.offset, r.key, v)
}

// kvModel is what a compacted log must hold: every record appended, at its
// offset.
type kvModel struct {
	recs []rec
}

// appendKV appends one batch of kvs (codec chosen by the caller) and
// records its records.
func (m *kvModel) appendKV(t tb, l *Log, opts recordtest.Options, kvs ...recordtest.KV) int64 {
	t.Helper()
	raw := recordtest.Keyed(opts, kvs...)
	base, err := l.Append(raw)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	for i, kv := range kvs {
		m.recs = append(m.recs, rec{offset: base + int64(i), key: kv.Key, value: kv.Value})
	}
	return base
}

// truncate forgets the records at and after end (a crash lost them).
func (m *kvModel) truncate(end int64) {
	i := len(m.recs)
	for i > 0 && m.recs[i-1].offset >= end {
		i--
	}
	m.recs = m.recs[:i]
}

// readRecords reads every record of l from its start, through Batches and
// the records inside each batch; records below the start are skipped. It
// also checks that batches and records come in strictly increasing offsets.
func readRecords(t tb, l *Log) []rec {
	t.Helper()
	var c record.Codecs
	defer c.Close()
	start := l.StartOffset()
	var out []rec
	lastBatch, lastRec := int64(-1), int64(-1)
	err := l.Batches(start, func(b *record.Batch) error {
		if b.FirstOffset <= lastBatch {
			return fmt.Errorf("batch at %d after one ending at %d", b.FirstOffset, lastBatch)
		}
		lastBatch = b.LastOffset()
		data, err := b.RecordsData(&c, nil, 1<<26)
		if err != nil {
			return err
		}
		n := int32(0)
		for len(data) > 0 {
			var r record.Record
			if r, data, err = record.NextRecord(data); err != nil {
				return err
			}
			n++
			o := b.FirstOffset + int64(r.OffsetDelta)
			if o <= lastRec || o > b.LastOffset() {
				return fmt.Errorf("record at %d after %d, in batch %d..%d", o, lastRec, b.FirstOffset, b.LastOffset())
			}
			lastRec = o
			if o >= start {
				out = append(out, rec{offset: o, key: bytes.Clone(r.Key), value: bytes.Clone(r.Value)})
			}
		}
		if n != b.NumRecords {
			return fmt.Errorf("batch %d says %d records, holds %d", b.FirstOffset, b.NumRecords, n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	return out
}

// checkCompacted checks what any compaction (finished, aborted or crashed
// half way) must keep: every record read is one appended at that offset; a
// record is missing only if a later record of its key was appended, or it
// is a tombstone; and the last record of each key is there, unless it is a
// tombstone whose key then has no record left at all, and which the log's
// tombstone mark covers.
func (m *kvModel) checkCompacted(t tb, l *Log) []rec {
	t.Helper()
	got := readRecords(t, l)
	start := l.StartOffset()
	byOffset := map[int64]rec{}
	for _, r := range m.recs {
		byOffset[r.offset] = r
	}
	present := map[int64]bool{}
	keysLeft := map[string]int{}
	for _, r := range got {
		want, ok := byOffset[r.offset]
		if !ok || !bytes.Equal(want.key, r.key) || (want.key == nil) != (r.key == nil) ||
			!bytes.Equal(want.value, r.value) || (want.value == nil) != (r.value == nil) {
			t.Fatalf("read %v, appended %v", r, want)
		}
		present[r.offset] = true
		if r.key != nil {
			keysLeft[string(r.key)]++
		}
	}
	last := map[string]rec{}
	for _, r := range m.recs {
		if r.key != nil && r.offset >= start {
			last[string(r.key)] = r
		}
	}
	for _, r := range m.recs {
		if r.offset < start || present[r.offset] {
			continue
		}
		switch {
		case r.key == nil:
			t.Fatalf("keyless record %v was removed", r)
		case last[string(r.key)].offset == r.offset && r.value != nil:
			t.Fatalf("the last value of key %s (%v) was removed", r.key, r)
		case last[string(r.key)].offset == r.offset && keysLeft[string(r.key)] > 0:
			t.Fatalf("tombstone %v was removed while %d older records of its key remain", r, keysLeft[string(r.key)])
		case last[string(r.key)].offset == r.offset && r.offset >= l.TombstoneMark().Below:
			t.Fatalf("tombstone %v was removed, but the tombstone mark (%v) does not cover it", r, l.TombstoneMark())
		}
	}
	return got
}

// checkExact checks what complete passes leave: below the cleaner's
// checkpoint exactly the keyless records and the last record of each key
// (a tombstone may be gone), and from the checkpoint on every record.
func (m *kvModel) checkExact(t tb, l *Log) {
	t.Helper()
	got := m.checkCompacted(t, l)
	l.mu.RLock()
	start, cleanedTo := l.start, l.cleanedTo
	l.mu.RUnlock()
	last := map[string]int64{}
	for _, r := range m.recs {
		if r.key != nil && r.offset < cleanedTo {
			last[string(r.key)] = r.offset
		}
	}
	var want []rec
	for _, r := range m.recs {
		if r.offset >= start && (r.offset >= cleanedTo || r.key == nil || last[string(r.key)] == r.offset) {
			want = append(want, r)
		}
	}
	i := 0
	for _, r := range want {
		if i < len(got) && got[i].offset == r.offset {
			i++
			continue
		}
		if r.value == nil && r.key != nil && r.offset < cleanedTo {
			continue // a tombstone past its horizon
		}
		t.Fatalf("record %v is missing (cleaned to %d); read %v", r, cleanedTo, got)
	}
	if i != len(got) {
		t.Fatalf("read %d records, expected %d; extra %v (cleaned to %d)", len(got), i, got[i:], cleanedTo)
	}
}

func kv(k, v string) recordtest.KV {
	var key []byte
	if k != "" {
		key = []byte(k)
	}
	return recordtest.KV{Key: key, Value: []byte(v)}
}

func tombstone(k string) recordtest.KV { return recordtest.KV{Key: []byte(k)} }

var cleanAll = CleanConfig{MaxOffset: math.MaxInt64, DeleteRetention: time.Hour}

var compactCfg = Config{SegmentBytes: 700, IndexIntervalBytes: 100}

func mustClean(t tb, l *Log, cfg CleanConfig) CleanStats {
	t.Helper()
	st, err := l.Clean(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	return st
}

// fillKeys appends n batches of 1-4 records over keys k0..k(keys-1), with a
// tombstone now and then, in rotating codecs.
func fillKeys(t tb, l *Log, m *kvModel, rng *rand.Rand, n, keys int) {
	for i := range n {
		var kvs []recordtest.KV
		for range 1 + rng.IntN(4) {
			k := fmt.Sprintf("k%d", rng.IntN(keys))
			if rng.IntN(10) == 0 {
				kvs = append(kvs, tombstone(k))
			} else {
				kvs = append(kvs, kv(k, fmt.Sprintf("v%d-%d", i, rng.IntN(1000))))
			}
		}
		m.appendKV(t, l, recordtest.Options{TimestampMs: int64(i), Compression: int8(i % 5)}, kvs...)
	}
}

func TestCleanKeepsLastValuePerKey(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		defer func() { l.Close() }()
		var m kvModel
		fillKeys(t, l, &m, rand.New(rand.NewPCG(1, 2)), 120, 8)
		if l.Segments() < 6 {
			t.Fatalf("%d segments; the test wants several", l.Segments())
		}
		before := l.Size()
		st := mustClean(t, l, cleanAll)
		if !st.Ran || st.Groups == 0 || st.BytesOut >= st.BytesIn {
			t.Fatalf("pass %+v", st)
		}
		if l.Size() >= before {
			t.Fatalf("size %d after compaction, %d before", l.Size(), before)
		}
		if st.CleanedTo != l.bases()[len(l.bases())-1] {
			t.Fatalf("cleaned to %d, want the active segment's base %d", st.CleanedTo, l.bases()[len(l.bases())-1])
		}
		m.checkExact(t, l)
		// Nothing new: no pass.
		if st := mustClean(t, l, cleanAll); st.Ran {
			t.Fatalf("second pass ran: %+v", st)
		}
		// More data, a second pass; then reopen (recovery meets the gaps)
		// and read again.
		fillKeys(t, l, &m, rand.New(rand.NewPCG(3, 4)), 60, 8)
		mustClean(t, l, cleanAll)
		m.checkExact(t, l)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, fs, dir, compactCfg)
		m.checkExact(t, l)
		// Appends after the reopen are dense again.
		fillKeys(t, l, &m, rand.New(rand.NewPCG(5, 6)), 10, 8)
		m.checkExact(t, l)
	})
}

// TestCleanReadsInGaps: a fetch at an offset whose batch the cleaner
// removed is served from the next batch, and a consumer moving on from
// each batch's last offset reads the whole log.
func TestCleanReadsInGaps(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		var m kvModel
		for i := range 60 {
			m.appendKV(t, l, recordtest.Options{}, kv("same", fmt.Sprint(i)), kv(fmt.Sprintf("u%d", i%3), "x"))
		}
		mustClean(t, l, cleanAll)
		got := readRecords(t, l)
		for o := l.StartOffset(); o < l.EndOffset(); o++ {
			data, err := l.Read(o, 1)
			if err != nil {
				t.Fatalf("Read(%d): %v", o, err)
			}
			b, err := record.Parse(data)
			if err != nil {
				t.Fatalf("Read(%d): %v", o, err)
			}
			if b.LastOffset() < o {
				t.Fatalf("Read(%d) gave a batch ending at %d", o, b.LastOffset())
			}
			// No record between o and the batch's base was kept.
			for _, r := range got {
				if r.offset >= o && r.offset < b.FirstOffset {
					t.Fatalf("Read(%d) skipped record %v", o, r)
				}
			}
		}
	})
}

func TestCleanTombstonesGoAfterDeleteRetention(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		clock := env.NewManualClock(time.UnixMilli(1_000_000))
		l, err := Open(fs, clock, dir, compactCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var m kvModel
		for i := range 30 {
			m.appendKV(t, l, recordtest.Options{TimestampMs: int64(i)}, kv("a", fmt.Sprint(i)), kv("b", fmt.Sprint(i)))
		}
		m.appendKV(t, l, recordtest.Options{TimestampMs: 99}, tombstone("a"))
		for i := range 20 {
			m.appendKV(t, l, recordtest.Options{TimestampMs: int64(100 + i)}, kv("c", fmt.Sprint(i)))
		}
		cfg := CleanConfig{MaxOffset: math.MaxInt64, DeleteRetention: 10 * time.Minute}
		mustClean(t, l, cfg)
		m.checkExact(t, l)
		if n := countKey(readRecords(t, l), "a"); n != 1 {
			t.Fatalf("%d records of key a after the first pass, want its tombstone only", n)
		}
		horizon := l.horizon
		if horizon != clock.Now().Add(10*time.Minute).UnixMilli() {
			t.Fatalf("horizon %d, want now + delete.retention.ms", horizon)
		}
		// Before the horizon: no pass, and a forced one (dirty data)
		// keeps the tombstone.
		clock.Advance(9 * time.Minute)
		if st := mustClean(t, l, cfg); st.Ran {
			t.Fatalf("a pass ran before the horizon with nothing dirty: %+v", st)
		}
		// After it: the pass runs for the tombstone alone and removes it.
		clock.Advance(2 * time.Minute)
		st := mustClean(t, l, cfg)
		if !st.Ran {
			t.Fatal("no pass once the horizon passed")
		}
		got := m.checkCompacted(t, l)
		if n := countKey(got, "a"); n != 0 {
			t.Fatalf("%d records of key a after the horizon, want none", n)
		}
		if l.horizon != math.MaxInt64 {
			t.Fatalf("horizon %d with no tombstone left", l.horizon)
		}
		// The record timestamps survived the base timestamp's rewrite.
		checkRecordTimestamps(t, l)
	})
}

func countKey(recs []rec, key string) int {
	n := 0
	for _, r := range recs {
		if string(r.key) == key {
			n++
		}
	}
	return n
}

// checkRecordTimestamps: each record's timestamp (base + delta) is one the
// tests' batches give (below 10^6) and batches with the delete-horizon bit
// have their horizon as base timestamp.
func checkRecordTimestamps(t tb, l *Log) {
	t.Helper()
	var c record.Codecs
	defer c.Close()
	err := l.Batches(0, func(b *record.Batch) error {
		data, err := b.RecordsData(&c, nil, 1<<26)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			var r record.Record
			if r, data, err = record.NextRecord(data); err != nil {
				return err
			}
			if ts := b.FirstTimestamp + r.TimestampDelta; ts < 0 || ts > b.MaxTimestamp {
				return fmt.Errorf("record at %d has timestamp %d, batch max %d", b.FirstOffset+int64(r.OffsetDelta), ts, b.MaxTimestamp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCleanDirtyRatioAndLag(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		clock := env.NewManualClock(time.UnixMilli(10_000))
		l, err := Open(fs, clock, dir, compactCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var m kvModel
		fillKeys(t, l, &m, rand.New(rand.NewPCG(7, 8)), 80, 5)
		mustClean(t, l, cleanAll)
		// A little more: below a high ratio, no pass.
		fillKeys(t, l, &m, rand.New(rand.NewPCG(9, 10)), 8, 5)
		if st := mustClean(t, l, CleanConfig{MinDirtyRatio: 0.99, MaxOffset: math.MaxInt64}); st.Ran || st.DirtyRatio <= 0 {
			t.Fatalf("pass %+v below the ratio", st)
		}
		// A lag longer than the records' age (their timestamps are near 0,
		// the clock at 10 s): nothing is old enough.
		if st := mustClean(t, l, CleanConfig{MinCompactionLag: time.Minute, MaxOffset: math.MaxInt64}); st.Ran {
			t.Fatalf("pass %+v inside the compaction lag", st)
		}
		if st := mustClean(t, l, CleanConfig{MinCompactionLag: time.Second, MaxOffset: math.MaxInt64}); !st.Ran {
			t.Fatalf("no pass past the compaction lag: %+v", st)
		}
		m.checkExact(t, l)
	})
}

// TestCleanStopsAtMaxOffset: nothing at or above the high watermark, and
// never the active segment, is cleaned.
func TestCleanStopsAtMaxOffset(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		var m kvModel
		fillKeys(t, l, &m, rand.New(rand.NewPCG(11, 12)), 100, 4)
		bases := l.bases()
		hw := bases[len(bases)/2] + 1 // inside a segment: that segment is not cleanable
		st := mustClean(t, l, CleanConfig{MaxOffset: hw})
		if st.CleanedTo != bases[len(bases)/2] {
			t.Fatalf("cleaned to %d with the high watermark at %d; want the base of its segment %d", st.CleanedTo, hw, bases[len(bases)/2])
		}
		m.checkExact(t, l)
		for _, r := range m.recs {
			if r.offset >= st.CleanedTo && !slices.ContainsFunc(readRecords(t, l), func(g rec) bool { return g.offset == r.offset }) {
				t.Fatalf("record %v above the cleanable part is gone", r)
			}
		}
	})
}

// TestCleanKeepsProducerState: a producer's last batch stays, emptied, with
// its producer id, epoch and sequence; other emptied batches go, except the
// last of each cleaned segment.
func TestCleanKeepsProducerState(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		var m kvModel
		seq := int32(0)
		var lastOfProducer int64
		for i := range 12 {
			opts := recordtest.Options{Idempotent: true, ProducerID: 7, ProducerEpoch: 3, BaseSequence: seq}
			lastOfProducer = m.appendKV(t, l, opts, kv("p", fmt.Sprint(i)), kv("q", fmt.Sprint(i)))
			seq += 2
		}
		for i := range 40 {
			m.appendKV(t, l, recordtest.Options{}, kv("p", fmt.Sprint(100+i)), kv("q", "z"))
		}
		cfg := cleanAll
		cfg.KeepProducerBatch = func(pid, last int64) bool { return pid == 7 && last == lastOfProducer+1 }
		mustClean(t, l, cfg)
		m.checkExact(t, l)
		// Other emptied producer batches may stay as the last of a cleaned
		// segment; each keeps its own sequence numbers (here equal to its
		// offsets).
		found := false
		err := l.Batches(0, func(b *record.Batch) error {
			if b.ProducerID != 7 {
				return nil
			}
			if b.NumRecords != 0 || b.ProducerEpoch != 3 || int64(b.FirstSequence) != b.FirstOffset || b.LastOffset() != b.FirstOffset+1 || b.LastSequence() != b.FirstSequence+1 {
				return fmt.Errorf("producer batch %+v", b.RecordBatch)
			}
			found = found || b.FirstOffset == lastOfProducer
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatal("the producer's last batch was not kept")
		}
	})
}

// TestCleanKeepsTransactionalAndUnreadable: batches the cleaner cannot judge
// are kept whole and do not hide older values.
func TestCleanKeepsUnreadable(t *testing.T) {
	fs := memfs.New()
	l := mustOpen(t, fs, "/d/t-0", compactCfg)
	defer l.Close()
	var m kvModel
	big := bytes.Repeat([]byte("z"), 5000)
	m.appendKV(t, l, recordtest.Options{}, kv("k", "old"))
	m.appendKV(t, l, recordtest.Options{Compression: record.CodecZstd}, recordtest.KV{Key: []byte("k"), Value: big})
	for i := range 30 {
		m.appendKV(t, l, recordtest.Options{}, kv("other", fmt.Sprint(i)))
	}
	cfg := cleanAll
	cfg.MaxBatchBytes = 1000 // the zstd batch inflates past it
	mustClean(t, l, cfg)
	got := m.checkCompacted(t, l)
	if countKey(got, "k") != 2 {
		t.Fatalf("key k has %d records; the unreadable batch must be kept and must not hide the older value", countKey(got, "k"))
	}
}

// TestCleanCrashAtEveryStep crashes the disk before every write, sync,
// rename and removal of a cleaning pass (memfs.CrashClone, keeping a random
// part of what was not synced) and reopens each crashed disk: the log opens,
// holds either the old or the new segments of each group (checkCompacted),
// and can be cleaned again to the exact result.
func TestCleanCrashAtEveryStep(t *testing.T) {
	for seed := range uint64(3) {
		fs := memfs.New()
		dir := "/d/t-0"
		l := mustOpen(t, fs, dir, compactCfg)
		var m kvModel
		rng := rand.New(rand.NewPCG(seed, 99))
		fillKeys(t, l, &m, rng, 100, 6)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		crasher := &stepCrasher{fs: fs, rng: rng}
		fs.SetInjector(crasher)
		mustClean(t, l, cleanAll)
		fs.SetInjector(nil)
		l.Close()
		if len(crasher.clones) < 10 {
			t.Fatalf("only %d crash points", len(crasher.clones))
		}
		for i, c := range crasher.clones {
			t.Run(fmt.Sprintf("seed%d/step%d", seed, i), func(t *testing.T) {
				l := mustOpen(t, c, dir, compactCfg)
				defer l.Close()
				m.checkCompacted(t, l)
				mustClean(t, l, cleanAll)
				m.checkExact(t, l)
			})
		}
	}
}

// stepCrasher takes a crash clone of the disk before every operation that
// changes it.
type stepCrasher struct {
	fs     *memfs.FS
	rng    *rand.Rand
	clones []*memfs.FS
}

func (c *stepCrasher) MaybeError(op memfs.Op, _ string) error {
	switch op {
	case memfs.OpCreate, memfs.OpRemove, memfs.OpRemoveAll, memfs.OpRename, memfs.OpSyncDir,
		memfs.OpWrite, memfs.OpWriteAt, memfs.OpSync, memfs.OpTruncate:
		c.clones = append(c.clones, c.fs.CrashClone(c.rng, c.rng.Float64()))
	}
	return nil
}

// TestDeletionCrashAtEveryStep: the same for retention and DeleteRecords:
// after a crash at any step the start is the old or the new one, never
// lower, and the log reads as before from it.
func TestDeletionCrashAtEveryStep(t *testing.T) {
	for _, op := range []string{"advance", "retention"} {
		fs := memfs.New()
		dir := "/d/t-0"
		l := mustOpen(t, fs, dir, smallCfg)
		var m model
		rng := rand.New(rand.NewPCG(1, 2))
		fill(t, l, &m, rng, 50)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		oldStart := l.StartOffset()
		crasher := &stepCrasher{fs: fs, rng: rng}
		fs.SetInjector(crasher)
		switch op {
		case "advance":
			if _, err := l.AdvanceStartOffset(l.bases()[4] + 1); err != nil {
				t.Fatal(err)
			}
		case "retention":
			if _, err := l.EnforceRetention(RetentionPolicy{RetentionMs: -1, RetentionBytes: l.Size() / 2, MaxOffset: math.MaxInt64}); err != nil {
				t.Fatal(err)
			}
		}
		fs.SetInjector(nil)
		newStart := l.StartOffset()
		l.Close()
		if len(crasher.clones) < 3 {
			t.Fatalf("%s: only %d crash points", op, len(crasher.clones))
		}
		for i, c := range crasher.clones {
			t.Run(fmt.Sprintf("%s/step%d", op, i), func(t *testing.T) {
				l := mustOpen(t, c, dir, smallCfg)
				defer l.Close()
				s := l.StartOffset()
				if s != oldStart && s != newStart {
					t.Fatalf("start %d after the crash, want %d or %d", s, oldStart, newStart)
				}
				mm := m
				mm.advanceStart(s)
				mm.check(t, l)
			})
		}
	}
}

// TestCleanConcurrent runs a pass while appends, syncs and reads go on,
// then stops a second one half way with a start offset move; run it with
// -race.
func TestCleanConcurrent(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		var m kvModel
		rng := rand.New(rand.NewPCG(21, 22))
		fillKeys(t, l, &m, rng, 400, 20)
		for _, abort := range []bool{false, true} {
			done := make(chan error, 1)
			go func() {
				_, err := l.Clean(context.Background(), cleanAll)
				done <- err
			}()
			// The model is only touched here.
			for i := range 100 {
				fillKeys(t, l, &m, rng, 1, 20)
				if i%10 == 0 {
					if err := l.Sync(); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := l.Read(l.StartOffset()+rng.Int64N(l.EndOffset()-l.StartOffset()), 4096); err != nil {
					t.Fatal(err)
				}
			}
			if abort {
				// Waits for the pass or stops it.
				if _, err := l.AdvanceStartOffset(l.StartOffset() + 5); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			m.checkCompacted(t, l)
		}
		mustClean(t, l, cleanAll)
		m.checkExact(t, l)
	})
}

// TestCleanAbortedByClose: Close stops a running pass (or the pass finds
// the log closed) and the log reopens consistent.
func TestCleanAbortedByClose(t *testing.T) {
	fs := memfs.New()
	dir := "/d/t-0"
	l := mustOpen(t, fs, dir, compactCfg)
	var m kvModel
	fillKeys(t, l, &m, rand.New(rand.NewPCG(25, 26)), 2000, 50)
	type result struct {
		st  CleanStats
		err error
	}
	res := make(chan result, 1)
	go func() {
		st, err := l.Clean(context.Background(), cleanAll)
		res <- result{st, err}
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil && !errors.Is(r.err, ErrClosed) {
		t.Fatalf("pass: %v", r.err)
	}
	l = mustOpen(t, fs, dir, compactCfg)
	defer l.Close()
	m.checkCompacted(t, l)
}

// TestCleanedSegmentsReopenWithoutRebuild: the indexes written for cleaned
// segments (which may begin and be cut by gaps) are found valid at the next
// Open, not rebuilt each time.
func TestCleanedSegmentsReopenWithoutRebuild(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		fs, dir := k.newDir(t)
		l := mustOpen(t, fs, dir, compactCfg)
		var m kvModel
		fillKeys(t, l, &m, rand.New(rand.NewPCG(31, 32)), 150, 3)
		mustClean(t, l, cleanAll)
		l.Close()
		l = mustOpen(t, fs, dir, compactCfg)
		defer l.Close()
		if r := l.Recovery(); len(r.RebuiltIndexes) != 0 {
			t.Fatalf("rebuilt the indexes of %v", r.RebuiltIndexes)
		}
		m.checkExact(t, l)
	})
}

// swapProbe, at the rename of a cleaned segment's .swap file to its .log
// name (after the old segments went), reads the log at offset and asks
// Durable about what it served.
type swapProbe struct {
	l       *Log
	offset  int64
	probed  bool
	durable bool
	err     error
}

func (p *swapProbe) MaybeError(op memfs.Op, path string) error {
	if op != memfs.OpRename || !strings.HasSuffix(path, logSuffix+swapSuffix) || p.probed {
		return nil
	}
	p.probed = true
	data, span, err := p.l.ReadBoundedSpan(p.offset, 1<<20, math.MaxInt64)
	if err == nil {
		p.durable, err = p.l.Durable(span, len(data))
	}
	p.err = err
	return nil
}

// A read of a cleaned segment while it is being swapped in (its file still
// named .log.swap, <base>.log the old first segment, which is shorter than
// what the read serves) is durable: the cleaned file was fsynced before the
// swap's commit point, from which recovery finishes the swap. The
// broker's undurable-read invariant asks Durable (seed 52 of
// --compaction on --txn on --faults all called such a read undurable).
func TestDurableWhileSwapping(t *testing.T) {
	fs := memfs.New()
	dir := "/d/t-0"
	l := mustOpen(t, fs, dir, Config{SegmentBytes: 300, IndexIntervalBytes: 100})
	var m kvModel
	for i := range 20 {
		m.appendKV(t, l, recordtest.Options{}, kv(fmt.Sprintf("u%d", i), "value"))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// Larger segments now: the cleaner merges the small rolled ones.
	l = mustOpen(t, fs, dir, Config{SegmentBytes: 4000, IndexIntervalBytes: 100})
	defer l.Close()
	bases := l.bases()
	if len(bases) < 3 {
		t.Fatalf("segments %v; the test wants several", bases)
	}
	probe := &swapProbe{l: l, offset: bases[1]}
	fs.SetInjector(probe)
	st := mustClean(t, l, cleanAll)
	fs.SetInjector(nil)
	if !st.Ran || st.Groups == 0 || !probe.probed {
		t.Fatalf("pass %+v, probed %v: no swap to look into", st, probe.probed)
	}
	if probe.err != nil || !probe.durable {
		t.Fatalf("a read of the segment being swapped in: durable %v, err %v", probe.durable, probe.err)
	}
	// Once swapped in, the bytes are durable under their own name.
	data, span, err := l.ReadBoundedSpan(bases[1], 1<<20, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Durable(span, len(data)); err != nil || !ok || span.seg.swapping.Load() {
		t.Fatalf("after the swap: durable %v, err %v", ok, err)
	}
	m.checkExact(t, l)
}
