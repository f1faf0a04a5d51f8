package log

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/weir-dev/weir/broker/record"
)

// The log cleaner (compaction), as Kafka's LogCleaner does it:
//
//   - The log is a clean part, [start, dirtyFrom), already compacted, and a
//     dirty part after it. A pass maps every key of the cleanable dirty
//     segments to the offset of its last record (keyMap), then rewrites
//     every rolled segment from the start to the end of what it mapped,
//     keeping a record only if no later record of its key was mapped.
//   - Cleanable: whole rolled segments below the first one that is active,
//     reaches MaxOffset (the high watermark) or has a record newer than
//     MinCompactionLag. A pass runs when the dirty bytes are more than
//     MinDirtyRatio of the clean and dirty bytes together, or when a kept
//     tombstone's delete horizon has passed.
//   - Batches keep their base and last offsets (and so the offsets of the
//     records they keep); a batch left with no record is removed, so a
//     compacted log has gaps. Two batches are kept even when empty: the
//     last batch of a producer that is still active (its sequence numbers;
//     Config.KeepProducerBatch) and the last batch of each rewritten group,
//     so that a cleaned segment still ends where the next one begins.
//   - Tombstones (null values) are kept until their delete horizon: the
//     first pass that keeps one sets it, in the batch, to that pass's time
//     plus DeleteRetention (KIP-534: the batch's base timestamp, with the
//     delete-horizon attribute bit, record timestamp deltas rewritten); a
//     pass after the horizon removes them, and raises the log's
//     TombstoneMark past them before the segment without them is swapped
//     in (a follower that was away must not keep the key's older value;
//     see TombstoneMark).
//   - Records without a key are kept. Kafka refuses them at produce time on
//     a compacted topic and drops any it finds; Weir does not refuse them
//     yet, so the cleaner does not delete what a producer was told is
//     stored.
//   - Transactional and control batches are kept as they are and their keys
//     are not mapped: the cleaner does not read the markers, so it cannot
//     tell committed from aborted records, and a transactional record must
//     neither be removed nor hide an older value of its key. That is safe
//     (read_committed readers skip aborted records, and a committed one is
//     read after the older value it replaces), only less compact than
//     Kafka, which removes aborted records and, after delete.retention.ms,
//     markers.
//   - A compressed batch whose records decompress past MaxBatchBytes (or do
//     not decompress) is kept whole and unmapped, like a transactional one.
//   - Compressed batches that change are recompressed with their codec.
//
// Rolled segments are grouped (total size at most SegmentBytes, offsets
// within a 31-bit span) and each group becomes one segment named after the
// group's first base; commitGroup swaps it in crash-safely.

// CleanConfig is one compaction pass's settings: a compacted topic's
// configs and what the partition knows.
type CleanConfig struct {
	// MinDirtyRatio is min.cleanable.dirty.ratio: a pass runs only when the
	// cleanable dirty bytes exceed this share of the clean and cleanable
	// dirty bytes (or a tombstone is due for removal).
	MinDirtyRatio float64
	// MinCompactionLag is min.compaction.lag.ms: a segment with a record
	// newer than this is not cleaned yet.
	MinCompactionLag time.Duration
	// DeleteRetention is delete.retention.ms: how long a tombstone is kept
	// after the pass that first keeps it.
	DeleteRetention time.Duration
	// MaxOffset: nothing at or above it is cleaned; the high watermark.
	MaxOffset int64
	// KeepProducerBatch reports whether the batch of producerID ending at
	// lastOffset is that producer's last, with the producer still known
	// (Kafka keeps it, emptied if need be, so that the producer's next
	// sequence number is still accepted after a restart). nil keeps none.
	KeepProducerBatch func(producerID, lastOffset int64) bool
	// MaxMapBytes bounds the key map of a pass (DefaultMaxMapBytes if 0): a
	// pass maps whole segments until the map holds this much, at least one
	// segment, and cleans up to there.
	MaxMapBytes int64
	// MaxBatchBytes bounds a batch's decompressed records
	// (DefaultMaxBatchBytes if 0); a larger batch is kept as it is.
	MaxBatchBytes int
	// KeepTombstones: remove no tombstone, even past its delete horizon,
	// and run no pass for due tombstones alone (a leader with a follower
	// catching up; see TombstoneMark). Horizons are still set.
	KeepTombstones bool
}

// Defaults of CleanConfig.
const (
	DefaultMaxMapBytes   = 64 << 20
	DefaultMaxBatchBytes = 64 << 20
)

// CleanStats reports a pass.
type CleanStats struct {
	// Ran: a pass ran (there was enough to clean); false leaves the other
	// fields zero.
	Ran bool
	// Aborted: the pass stopped early (a truncation, a start offset move,
	// Close, or ctx); the groups swapped in before that stay.
	Aborted bool
	// DirtyRatio is the cleanable dirty share that was measured.
	DirtyRatio float64
	// Segments read and Groups rewritten (a group whose bytes would not
	// change is not rewritten).
	Segments, Groups int
	// BytesRead is the segment bytes read to map keys and to rewrite;
	// BytesIn and BytesOut the size of the rewritten groups before and
	// after.
	BytesRead, BytesIn, BytesOut int64
	// Records read while rewriting and kept.
	RecordsRead, RecordsKept int64
	// TombstonesRemoved: tombstones removed because their delete horizon
	// had passed (each raised the log's TombstoneMark past it).
	TombstonesRemoved int64
	// CleanedTo is the log's cleaner checkpoint after the pass.
	CleanedTo int64
}

// Clean runs one compaction pass if the log has enough to clean (see the
// cleaner's rules above). It holds maintMu throughout, so retention, start
// moves and truncations wait or, by asking (abortClean), stop it between
// batches (an aborted pass reports CleanStats.Aborted, not an error);
// appends and reads go on, and take mu only for the moment a cleaned
// segment replaces the ones it was made from. Time is the log's clock. An
// error means the pass could not read a segment or write its output: the
// groups swapped in before it stay, the one under way is dropped, and if
// Err reports the log failed (a swap half done, which only a reopen can
// settle) the log refuses writes.
func (l *Log) Clean(ctx context.Context, cfg CleanConfig) (CleanStats, error) {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	if cfg.MaxMapBytes <= 0 {
		cfg.MaxMapBytes = DefaultMaxMapBytes
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	now := l.clock.Now()
	plan, err := l.planClean(cfg, now)
	if err != nil || !plan.run {
		return CleanStats{DirtyRatio: plan.ratio}, err
	}
	p := &cleanPass{l: l, cfg: cfg, ctx: ctx, nowMs: now.UnixMilli(), plan: plan, horizon: math.MaxInt64,
		stats: CleanStats{Ran: true, DirtyRatio: plan.ratio}}
	defer p.codecs.Close()
	err = p.run()
	l.mu.RLock()
	p.stats.CleanedTo = l.cleanedTo
	l.mu.RUnlock()
	if errors.Is(err, errCleanAborted) {
		p.stats.Aborted = true
		err = nil
	}
	return p.stats, err
}

var errCleanAborted = errors.New("log: cleaning aborted")

// cleanPlan is what a pass works on: a copy of the rolled segments it may
// read (immutable, and not removed while maintMu is held).
type cleanPlan struct {
	run   bool
	ratio float64
	// segs[first:] are the segments to rewrite, segs[dirty:mapEnd] the
	// ones whose keys are mapped, bounded later by the map's size.
	segs        []*segment
	first       int
	dirty       int
	cleanable   int     // segs[:cleanable] may be cleaned
	ends        []int64 // ends[i]: the offset after segs[i] (the next base)
	segmentSize int64
}

// planClean decides whether a pass runs. Call with maintMu held.
func (l *Log) planClean(cfg CleanConfig, now time.Time) (cleanPlan, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.writable(); err != nil {
		return cleanPlan{}, err
	}
	n := len(l.segments) - 1 // never the active one
	plan := cleanPlan{segs: make([]*segment, n), ends: make([]int64, n), segmentSize: l.cfg.SegmentBytes}
	copy(plan.segs, l.segments[:n])
	for i := range n {
		plan.ends[i] = l.segments[i+1].base
	}
	// The first segment holding anything at or after the start.
	for plan.first < n && plan.ends[plan.first] <= l.start {
		plan.first++
	}
	dirtyFrom := max(l.dirtyFrom, l.start)
	plan.dirty = plan.first
	for plan.dirty < n && plan.ends[plan.dirty] <= dirtyFrom {
		plan.dirty++
	}
	lagMs := cfg.MinCompactionLag.Milliseconds()
	plan.cleanable = plan.dirty
	for i := plan.dirty; i < n; i++ {
		seg := plan.segs[i]
		if plan.ends[i] > cfg.MaxOffset || (lagMs > 0 && seg.maxTs > now.UnixMilli()-lagMs) {
			break
		}
		plan.cleanable = i + 1
	}
	var clean, dirty int64
	for i := plan.first; i < plan.cleanable; i++ {
		if i < plan.dirty {
			clean += plan.segs[i].size
		} else {
			dirty += plan.segs[i].size
		}
	}
	if clean+dirty > 0 {
		plan.ratio = float64(dirty) / float64(clean+dirty)
	}
	due := l.horizon <= now.UnixMilli() && plan.first < plan.cleanable && !cfg.KeepTombstones
	plan.run = (dirty > 0 && plan.ratio > cfg.MinDirtyRatio) || due
	return plan, nil
}

// cleanPass is one pass's working state.
type cleanPass struct {
	l     *Log
	cfg   CleanConfig
	ctx   context.Context
	nowMs int64
	plan  cleanPlan
	keys  keyMap
	// horizon is the earliest delete horizon among the batches this pass
	// kept with tombstones.
	horizon int64
	// tombstonesBelow is the offset after the last tombstone the group
	// being rewritten removed (its delete horizon passed), 0 for none;
	// groupTombstones counts them.
	tombstonesBelow, groupTombstones int64
	stats                            CleanStats

	codecs   record.Codecs
	sc       scanner
	dataBuf  []byte          // decompressed records
	kept     []record.Record // the records of a batch that stay
	recBuf   []byte          // kept records, encoded
	batchBuf []byte          // a rebuilt batch
	batches  int             // since the last abort check
}

func (p *cleanPass) run() error {
	mapEnd, err := p.mapKeys()
	if err != nil {
		return err
	}
	segs, ends := p.plan.segs[p.plan.first:mapEnd], p.plan.ends[p.plan.first:mapEnd]
	for len(segs) > 0 {
		n := p.groupSize(segs, ends)
		if err := p.cleanGroup(segs[:n], ends[n-1]); err != nil {
			return err
		}
		segs, ends = segs[n:], ends[n:]
	}
	// Every segment below the map's end was read (and kept tombstones
	// counted) by this pass: the horizon is now exactly this pass's.
	cleanedTo := p.plan.ends[mapEnd-1]
	return p.l.advanceCleaner(cleanedTo, p.horizon, 0, true)
}

// groupSize returns how many of segs (first first) become one cleaned
// segment: at least one; more while the total stays within SegmentBytes and
// the offsets within a 31-bit span of the group's base, as Kafka groups.
func (p *cleanPass) groupSize(segs []*segment, ends []int64) int {
	size := segs[0].size
	n := 1
	for n < len(segs) && size+segs[n].size <= p.plan.segmentSize && ends[n]-1-segs[0].base <= math.MaxInt32 {
		size += segs[n].size
		n++
	}
	return n
}

// checkAbort stops the pass when asked to (see Log.lockMaint) or when ctx
// ends, checked every few batches.
func (p *cleanPass) checkAbort() error {
	if p.batches++; p.batches < 64 {
		return nil
	}
	p.batches = 0
	if p.l.abortClean.Load() > 0 || p.ctx.Err() != nil {
		return errCleanAborted
	}
	return nil
}

// mapKeys maps the keys of the cleanable dirty segments, whole segments
// while the map stays within MaxMapBytes (at least one), and returns the
// index after the last mapped one; with no dirty segment to map (a pass for
// due tombstones only), the end of the cleanable ones.
func (p *cleanPass) mapKeys() (int, error) {
	p.keys = newKeyMap()
	end := p.plan.dirty
	if end == p.plan.cleanable {
		return end, nil
	}
	for end < p.plan.cleanable && (end == p.plan.dirty || p.keys.bytes < p.cfg.MaxMapBytes) {
		seg := p.plan.segs[end]
		if err := p.scanSegment(seg, func(b *record.Batch, _ int64) error {
			if !mappable(b) {
				return nil
			}
			data, err := b.RecordsData(&p.codecs, p.dataBuf, p.cfg.MaxBatchBytes)
			if err != nil {
				return nil // kept whole, unmapped
			}
			if b.Compression() != record.CodecNone {
				p.dataBuf = data[:0] // an uncompressed batch's records alias the scan buffer
			}
			for len(data) > 0 {
				var r record.Record
				if r, data, err = record.NextRecord(data); err != nil {
					return nil // the same: this batch is kept whole
				}
				if r.HasKey() {
					p.keys.put(r.Key, b.FirstOffset+int64(r.OffsetDelta), p.l.cfg.Defects.CompactKeepsFirst)
				}
			}
			return nil
		}); err != nil {
			return 0, err
		}
		end++
	}
	return end, nil
}

// mappable: a batch whose keys count, and whose records may be removed.
func mappable(b *record.Batch) bool { return !b.IsControl() && !b.IsTransactional() }

// scanSegment calls fn for every batch of a rolled segment, which must frame
// exactly to its end: anything else fails the pass (and is not swapped).
func (p *cleanPass) scanSegment(seg *segment, fn func(b *record.Batch, pos int64) error) error {
	p.sc.gapsBelow = math.MaxInt64 // rolled segments may hold gaps
	var ferr error
	res, err := p.sc.scan(seg.f, 0, seg.size, seg.base, func(b *record.Batch, pos int64) {
		if ferr == nil {
			if ferr = p.checkAbort(); ferr == nil {
				ferr = fn(b, pos)
			}
		}
	})
	p.stats.BytesRead += res.end
	switch {
	case err != nil:
		return err
	case ferr != nil:
		return ferr
	case res.stop != nil || res.end != seg.size:
		return fmt.Errorf("log: cleaning segment %d: %w at position %d: %v", seg.base, record.ErrCorrupt, res.end, res.stop)
	}
	return nil
}

// keyMap maps each key to the offset of its last record seen. The map
// holds an index into offsets, so that updating a known key (most records of
// a compacted topic) allocates nothing: Go copies a []byte key into a string
// for a map assignment, but not for a lookup. bytes estimates its memory:
// the key and about 64 bytes of overhead.
type keyMap struct {
	m       map[string]int
	offsets []int64
	bytes   int64
}

const keyMapOverhead = 64

func newKeyMap() keyMap { return keyMap{m: map[string]int{}} }

// put maps key to offset; keepFirst (the CompactKeepsFirst defect) keeps
// the offset the key already has.
func (k *keyMap) put(key []byte, offset int64, keepFirst bool) {
	if i, ok := k.m[string(key)]; ok {
		if !keepFirst {
			k.offsets[i] = offset
		}
		return
	}
	k.m[string(key)] = len(k.offsets)
	k.offsets = append(k.offsets, offset)
	k.bytes += int64(len(key)) + keyMapOverhead
}

// latest returns the offset of the key's last mapped record, or -1.
func (k *keyMap) latest(key []byte) int64 {
	if i, ok := k.m[string(key)]; ok {
		return k.offsets[i]
	}
	return -1
}

// cleanGroup rewrites segs, consecutive rolled segments whose last ends at
// end (the next segment's base), into one segment named after the first,
// and swaps it in (commitGroup); unless no byte would change.
func (p *cleanPass) cleanGroup(segs []*segment, end int64) error {
	l := p.l
	path := segmentName(l.dir, segs[0].base, logSuffix) + cleanedSuffix
	f, err := l.fs.Create(path)
	if err != nil {
		return err
	}
	out := newSegment(segs[0].base, f)
	w := groupWriter{f: f, out: out, interval: l.cfg.IndexIntervalBytes}
	p.tombstonesBelow, p.groupTombstones = 0, 0
	changed := len(segs) > 1
	var in int64
	for gi, seg := range segs {
		last := gi == len(segs)-1
		in += seg.size
		err = p.scanSegment(seg, func(b *record.Batch, pos int64) error {
			raw, ch, err := p.filter(b, last && pos+int64(len(b.Raw)) == seg.size)
			changed = changed || ch
			if err != nil || raw == nil {
				return err
			}
			return w.add(raw, b)
		})
		if err != nil {
			break
		}
	}
	if err == nil {
		err = w.flush()
	}
	if err == nil && changed && out.next != end {
		err = fmt.Errorf("log: cleaned segment %d ends at %d, the group at %d", out.base, out.next, end)
	}
	if err == nil && changed && out.size > math.MaxInt32 {
		err = fmt.Errorf("log: cleaned segment %d would be %d bytes", out.base, out.size)
	}
	if err == nil && changed {
		err = f.Sync()
	}
	if err != nil || !changed {
		f.Close()
		if rerr := removeIfExists(l.fs, path); err == nil {
			err = rerr
		}
		return err
	}
	out.appendTimeEntry() // the max timestamp, as a rolled segment's last entry
	out.cachedFrom = out.size
	p.stats.Groups++
	p.stats.Segments += len(segs)
	p.stats.BytesIn += in
	p.stats.BytesOut += out.size
	p.stats.TombstonesRemoved += p.groupTombstones
	return l.commitGroup(segs, out, end, p.horizon, p.tombstonesBelow)
}

// groupWriter appends a cleaned segment's batches through a buffer and keeps
// its indexes.
type groupWriter struct {
	f        io.WriterAt
	out      *segment
	interval int
	buf      []byte
	flushed  int64
}

const groupWriteChunk = 1 << 20

func (w *groupWriter) add(raw []byte, b *record.Batch) error {
	pos := w.out.size
	w.buf = append(w.buf, raw...)
	w.out.track(b.FirstOffset, b.LastOffset(), b.MaxTimestamp, pos, len(raw), w.interval)
	if len(w.buf) >= groupWriteChunk {
		return w.flush()
	}
	return nil
}

func (w *groupWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.f.WriteAt(w.buf, w.flushed); err != nil {
		return err
	}
	w.flushed += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// filter decides what becomes of one batch: the bytes to write (b.Raw
// itself when nothing changes, nil to drop it) and whether it changed.
// keepEmpty: the batch is the group's last, kept even with no record left.
func (p *cleanPass) filter(b *record.Batch, keepEmpty bool) ([]byte, bool, error) {
	p.stats.RecordsRead += int64(b.NumRecords)
	if !mappable(b) {
		p.stats.RecordsKept += int64(b.NumRecords)
		return b.Raw, false, nil
	}
	data, err := b.RecordsData(&p.codecs, p.dataBuf, p.cfg.MaxBatchBytes)
	if err != nil {
		p.stats.RecordsKept += int64(b.NumRecords)
		return b.Raw, false, nil // kept whole, as it was never mapped
	}
	if b.Compression() != record.CodecNone {
		p.dataBuf = data[:0] // reuse; an uncompressed batch's records alias the scan buffer
	}
	hasHorizon := b.Attributes&record.DeleteHorizonBit != 0
	expired := hasHorizon && p.nowMs >= b.FirstTimestamp && !p.cfg.KeepTombstones
	kept := p.kept[:0]
	keptTombstone, dropped := false, false
	for len(data) > 0 {
		var r record.Record
		if r, data, err = record.NextRecord(data); err != nil {
			p.stats.RecordsKept += int64(b.NumRecords)
			return b.Raw, false, nil // records that do not frame: keep all
		}
		if r.HasKey() {
			offset := b.FirstOffset + int64(r.OffsetDelta)
			if p.l.cfg.Defects.superseded(p.keys.latest(r.Key), offset) {
				dropped = true
				continue
			}
			if r.IsTombstone() && expired {
				// The last record of its key, gone: the log now lacks it
				// (see TombstoneMark).
				dropped = true
				p.tombstonesBelow = max(p.tombstonesBelow, offset+1)
				p.groupTombstones++
				continue
			}
			keptTombstone = keptTombstone || r.IsTombstone()
		}
		kept = append(kept, r)
	}
	p.kept = kept[:0]
	p.stats.RecordsKept += int64(len(kept))
	setHorizon := keptTombstone && !hasHorizon
	horizon := b.FirstTimestamp
	if setHorizon {
		horizon = p.nowMs + p.cfg.DeleteRetention.Milliseconds()
	}
	if keptTombstone {
		p.horizon = min(p.horizon, horizon)
	}
	if !dropped && !setHorizon {
		return b.Raw, false, nil
	}
	h := record.HeaderOf(b)
	if len(kept) == 0 {
		keepProducer := b.HasProducerID() && p.cfg.KeepProducerBatch != nil && p.cfg.KeepProducerBatch(b.ProducerID, b.LastOffset())
		if !keepEmpty && !keepProducer {
			return nil, true, nil
		}
		// An empty batch keeps the offsets and the producer's sequence
		// (Kafka's RETAIN_EMPTY): no records, so no codec and no horizon.
		h.Attributes &^= record.CompressionMask | record.DeleteHorizonBit
		h.FirstTimestamp = h.MaxTimestamp
		p.batchBuf, err = record.AppendBatch(p.batchBuf[:0], nil, h, nil, 0)
		return p.batchBuf, true, err
	}
	recs := p.recBuf[:0]
	for i := range kept {
		r := &kept[i]
		if setHorizon {
			// The base timestamp becomes the horizon; each record keeps its
			// own timestamp through its delta.
			if recs, err = record.AppendWithTimestampDelta(recs, r, b.FirstTimestamp+r.TimestampDelta-horizon); err != nil {
				return b.Raw, false, nil
			}
		} else {
			recs = append(recs, r.Raw...)
		}
	}
	p.recBuf = recs[:0]
	if setHorizon {
		h.FirstTimestamp = horizon
		h.Attributes |= record.DeleteHorizonBit
	}
	p.batchBuf, err = record.AppendBatch(p.batchBuf[:0], &p.codecs, h, recs, int32(len(kept)))
	return p.batchBuf, true, err
}
