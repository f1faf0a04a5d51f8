package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

var (
	// ErrOffsetOutOfRange means the offset is below StartOffset or above
	// EndOffset (Kafka's OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("log: offset out of range")
	// ErrClosed means the log was closed.
	ErrClosed = errors.New("log: closed")
	// ErrInvalidBatch means Append was given bytes that are not one whole
	// v2 batch: the caller skipped record.Parse.
	ErrInvalidBatch = errors.New("log: not one whole record batch")
)

// Defaults of Config.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultIndexIntervalBytes = 4096
)

// Config tunes a Log. The zero value means the defaults.
type Config struct {
	// SegmentBytes: roll before an append would make the active segment
	// exceed this. A batch larger than this still goes alone into a fresh
	// segment. At most math.MaxInt32, because index positions are 4 bytes.
	SegmentBytes int64
	// SegmentMs: roll when the active segment's first batch was appended
	// longer ago than this; 0 never rolls by time.
	SegmentMs time.Duration
	// IndexIntervalBytes: bytes of log between two offset index entries.
	IndexIntervalBytes int
	// DropBehindBytes: after each Sync, the page cache of what this Log
	// wrote more than this many bytes behind the synced end is dropped
	// (env.DropCache), so that a partition written at hundreds of MB/s
	// reuses a bounded set of cache pages instead of touching new ones for
	// every byte. Consumers within the window read from the cache; older
	// reads go to the disk. 0 keeps everything, as Kafka does.
	DropBehindBytes int64
	// PreallocateBytes: reserve the active segment's disk blocks ahead of
	// its end (env.Preallocate), in steps of at most this many bytes and at
	// most what the segment already holds (at least 64 KiB), never past
	// SegmentBytes; the reservation left when the segment rolls or the log
	// closes is released. Appends into reserved blocks skip the file
	// system's block allocation. 0 reserves nothing.
	PreallocateBytes int64
	// CleanShutdown: Close leaves a clean-shutdown marker (see cleanFile),
	// and Open opens the active segment of a cleanly closed log by checking
	// its indexes instead of scanning it. Off, every Open scans it, as after
	// a crash; a marker found is removed either way.
	CleanShutdown bool
	// Defects plants known bugs for the simulator (see Defects); never set
	// outside tests and `weir sim --defect`.
	Defects Defects
}

func (c Config) withDefaults() (Config, error) {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.IndexIntervalBytes == 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if c.SegmentBytes < record.HeaderSize || c.SegmentBytes > math.MaxInt32 {
		return c, fmt.Errorf("log: SegmentBytes %d outside [%d, %d]", c.SegmentBytes, record.HeaderSize, math.MaxInt32)
	}
	if c.IndexIntervalBytes < 0 || c.SegmentMs < 0 || c.DropBehindBytes < 0 || c.PreallocateBytes < 0 {
		return c, fmt.Errorf("log: negative IndexIntervalBytes, SegmentMs, DropBehindBytes or PreallocateBytes")
	}
	return c, nil
}

// Recovery reports what Open did to bring the log to a consistent state.
type Recovery struct {
	// Segments is the number of segments after recovery.
	Segments int
	// CleanShutdown: the log was closed cleanly, so the active segment was
	// opened like a rolled one (its indexes checked) instead of scanned.
	CleanShutdown bool
	// TruncatedBytes were cut from the active segment's tail: a torn,
	// corrupt or out-of-sequence batch and everything after it.
	TruncatedBytes int64
	// TruncateReason says why the scan of the active segment stopped early;
	// nil when its tail was clean.
	TruncateReason error
	// RemovedBelowStart lists the base offsets of segments wholly below
	// the log start offset that a crash left behind (retention or
	// DeleteRecords had recorded the new start but not yet removed them).
	RemovedBelowStart []int64
	// CompletedSwaps lists the base offsets of cleaned segments whose swap
	// a crash interrupted after its commit point and Open finished.
	CompletedSwaps []int64
	// CleanerCheckpointLost: the cleaner's checkpoint was unreadable, so
	// gaps in offsets were allowed anywhere in the segments found.
	CleanerCheckpointLost bool
	// RebuiltIndexes lists the base offsets of rolled segments whose
	// .index/.timeindex were missing or inconsistent and were rebuilt.
	RebuiltIndexes []int64
	// RemovedFiles lists stray files removed (temp files, orphan indexes).
	RemovedFiles []string
}

// Log is one partition's log. It is safe for concurrent use: reads share a
// read lock; Append, roll and truncation take the write lock. It starts no
// goroutines.
//
// Lock order: maintMu, then ckptMu or syncMu (never both), then mu. maintMu serializes the
// operations that remove or replace rolled segments (Clean, EnforceRetention,
// AdvanceStartOffset, the truncations, Close, Delete), so that the cleaner
// can read rolled segments without holding mu; a caller other than Clean
// raises abortClean while it waits, and a running Clean stops early. syncMu
// serializes the operations that fsync or close a segment's file (Sync, the
// truncations, segment removal, Close, Delete) so that Sync can fsync without
// holding mu, letting appends and reads go on.
type Log struct {
	fs    env.FS
	clock env.Clock
	dir   string
	cfg   Config

	maintMu    sync.Mutex
	abortClean atomic.Int32

	// ckptMu serializes writes of the cleaner's checkpoint (cleanerFile):
	// the cleaner's (advanceCleaner) and a follower's (AllowGapsBelow).
	ckptMu sync.Mutex

	syncMu sync.Mutex

	mu       sync.RWMutex
	segments []*segment // sorted by base; the last is the active one; never empty while open
	end      int64      // next offset to assign
	// start is the log start offset: offsets below it are gone (retention,
	// DeleteRecords), even where their batches still sit in the first
	// segment. It never goes back, except by an explicit truncation below
	// it, and is durable (startFile) before anything relies on it.
	start int64
	// cleanedTo is the cleaner's checkpoint (cleanerFile): the cleaner has
	// rewritten nothing at or above it. Rolled segments may have gaps
	// anywhere (the cleaner removed whole batches); the active segment
	// only below cleanedTo (a truncation made a cleaned segment active).
	cleanedTo int64
	// dirtyFrom is where the cleaner's next pass starts mapping keys
	// (Kafka's first dirty offset); cleanedTo unless its file was lost.
	dirtyFrom int64
	// horizon is the earliest delete horizon (ms) of a batch the cleaner
	// kept with tombstones in it; math.MaxInt64 when there is none.
	horizon int64
	// tombstones is the tombstone mark (cleanerFile). It is never lowered,
	// not even by a truncation: it stays below every high watermark the
	// partition reached, and one too high costs a lagging follower a
	// restart, never a record.
	tombstones TombstoneMark
	size       int64 // bytes in all segments
	synced     int64 // offsets below this are durable
	closed     bool
	// failed is set by the first I/O error on the write path. After it the
	// state of unsynced bytes is unknown (a failed fsync may have dropped
	// them), so the log refuses appends and syncs until reopened; recovery
	// then finds out what is really on disk. Reads go on.
	failed   error
	recovery Recovery
	// noPrealloc is set once preallocating failed: see preallocate.
	noPrealloc bool
}

func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

// writable reports why the log cannot be written, if it cannot. Call with mu
// held.
func (l *Log) writable() error {
	if l.closed {
		return ErrClosed
	}
	return l.failed
}

// fail records a write-path I/O error. Call with mu held for writing.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = fmt.Errorf("log %s: failed, reopen to recover: %w", l.dir, err)
	}
	return err
}

// Append writes one batch, already accepted by record.Parse, at the end of
// the log. It rewrites the batch's base offset in raw (in place) to
// EndOffset(), rolls to a new segment first if needed, updates the indexes
// and returns the base offset. It does not fsync: see Sync. raw stays owned
// by the caller once Append returns.
func (l *Log) Append(raw []byte) (int64, error) { return l.appendBatch(raw, -1) }

// appendBatch is Append; with keepBase >= 0 (a replicated batch, see
// AppendReplicated) the batch keeps that base offset and its bytes are
// written unchanged: it must not start below EndOffset(), and may start
// above it (a gap the leader's cleaner left) only below cleanedTo, which
// AppendReplicated raised first; else ErrUnexpectedOffset. A batch after a
// gap that rolls the log goes into a segment based at the old end, so that
// every segment still begins where the one before it ends.
func (l *Log) appendBatch(raw []byte, keepBase int64) (int64, error) {
	if len(raw) < record.HeaderSize {
		return 0, ErrInvalidBatch
	}
	if n, err := record.PeekSize(raw); err != nil || n != len(raw) {
		return 0, ErrInvalidBatch
	}
	delta := int64(int32(binary.BigEndian.Uint32(raw[hdrLastOffsetDelta:])))
	maxTs := int64(binary.BigEndian.Uint64(raw[hdrMaxTimestamp:]))
	if delta < 0 {
		return 0, ErrInvalidBatch
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return 0, err
	}
	base := l.end
	if keepBase >= 0 {
		if keepBase < l.end || (keepBase > l.end && keepBase >= l.cleanedTo) {
			return 0, fmt.Errorf("%w: batch at %d, log ends at %d", ErrUnexpectedOffset, keepBase, l.end)
		}
		base = keepBase
	}
	if base > math.MaxInt64-delta-1 {
		return 0, fmt.Errorf("log: offsets exhausted")
	}
	var now time.Time
	if l.cfg.SegmentMs > 0 {
		now = l.clock.Now()
	}
	seg := l.active()
	roll := seg.size > 0 && l.shouldRoll(seg, len(raw), base+delta, now)
	segBase := seg.base
	if roll {
		segBase = l.end
	}
	if base+delta-segBase > math.MaxUint32 {
		// Only after a gap of more than 2^32 offsets: relative offsets in
		// the indexes are 4 bytes, and a segment must start at the old end.
		return 0, fmt.Errorf("%w: batch at %d is more than 2^32 offsets past segment %d", ErrUnexpectedOffset, base, segBase)
	}
	if roll {
		if err := l.roll(); err != nil {
			return 0, l.fail(err)
		}
		seg = l.active()
	}

	record.SetBaseOffset(raw, base)
	pos := seg.size
	if end := pos + int64(len(raw)); end > seg.prealloc && l.cfg.PreallocateBytes > 0 {
		l.preallocate(seg, end)
	}
	if _, err := seg.f.WriteAt(raw, pos); err != nil {
		// A partial write leaves a torn batch past seg.size; recovery cuts it.
		return 0, l.fail(err)
	}
	if pos == 0 {
		seg.firstAppend = now
	}
	seg.track(base, base+delta, maxTs, pos, len(raw), l.cfg.IndexIntervalBytes)
	l.end = l.cfg.Defects.nextOffset(base, delta)
	l.size += int64(len(raw))
	return base, nil
}

// minPreallocate is the least a reservation step takes, so that a new or
// quiet segment does not call the file system on every append.
const minPreallocate = 64 << 10

// preallocate reserves seg's blocks up to at least end: the next step of
// PreallocateBytes, no more than the segment holds (a quiet partition
// reserves little), capped at SegmentBytes. It is advice: after a failure
// (a file system without fallocate, or a full disk) the log stops asking,
// and the write that follows reports any real problem. Call with mu held
// for writing.
func (l *Log) preallocate(seg *segment, end int64) {
	if l.noPrealloc {
		return
	}
	from := max(seg.prealloc, seg.size)
	step := min(max(seg.size, minPreallocate), l.cfg.PreallocateBytes)
	to := max(end, min(from+step, l.cfg.SegmentBytes))
	if err := env.Preallocate(seg.f, from, to-from); err != nil {
		l.noPrealloc = true
		return
	}
	seg.prealloc = to
}

// releasePrealloc gives back the blocks reserved past seg's end: a Truncate
// to the size the segment already has. Advice as well: an error here costs
// disk space, not data. Call with mu held for writing.
func releasePrealloc(seg *segment) {
	if seg.prealloc > seg.size {
		_ = seg.f.Truncate(seg.size)
	}
	seg.prealloc = 0
}

// shouldRoll decides, like Kafka's LogSegment.shouldRoll, whether a batch of
// n bytes ending at offset last must go to a new segment.
func (l *Log) shouldRoll(seg *segment, n int, last int64, now time.Time) bool {
	switch {
	case seg.size+int64(n) > l.cfg.SegmentBytes:
		return true
	case l.cfg.SegmentMs > 0 && now.Sub(seg.firstAppend) > l.cfg.SegmentMs:
		return true
	case last-seg.base > math.MaxUint32:
		// Relative offsets in the indexes are 4 bytes.
		return true
	}
	return false
}

// roll seals the active segment and starts a new one at l.end. A rolled
// segment is durable with its indexes before the new segment exists, which
// is what lets recovery trust every segment but the last. Call with mu held
// for writing.
func (l *Log) roll() error {
	old := l.active()
	releasePrealloc(old) // before the sync below, which covers it
	if err := l.writeIndexes(old); err != nil {
		return err
	}
	if err := old.f.Sync(); err != nil {
		return err
	}
	f, err := l.fs.Create(segmentName(l.dir, l.end, logSuffix))
	if err != nil {
		return err
	}
	// The new name and the index names become durable together.
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.segments = append(l.segments, newSegment(l.end, f))
	l.synced = max(l.synced, l.end)
	return nil
}

// writeIndexes writes seg's .index and .timeindex, each fsynced (the
// directory is the caller's to sync), after adding the time index entry of
// the segment's max timestamp, so that the file's last entry is the max,
// as a rolled segment's must be. Call with mu held for writing.
func (l *Log) writeIndexes(seg *segment) error {
	seg.appendTimeEntry()
	if err := env.WriteFileSync(l.fs, segmentName(l.dir, seg.base, indexSuffix), seg.encodeIndex()); err != nil {
		return err
	}
	return env.WriteFileSync(l.fs, segmentName(l.dir, seg.base, timeIndexSuffix), seg.encodeTimeIndex())
}

// Sync makes every batch appended before the call durable: when it returns
// nil, SyncedOffset() is at least EndOffset() as of the call. Rolled segments
// were synced when rolled, so only the active segment needs an fsync; it runs
// without mu held so appends and reads continue meanwhile.
func (l *Log) Sync() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.RLock()
	err := l.writable()
	seg, target, synced := l.active(), l.end, l.synced
	pos := seg.size
	l.mu.RUnlock()
	if err != nil {
		return err
	}
	if target <= synced {
		return nil
	}
	// A roll meanwhile does not close seg.f, and everything that closes it
	// holds syncMu.
	err = seg.f.Sync()
	l.mu.Lock()
	if err != nil {
		l.mu.Unlock()
		return l.fail(err)
	}
	l.synced = max(l.synced, target)
	drops := l.dropsBehind(seg, pos)
	l.mu.Unlock()
	// Still under syncMu, so no file is closed under the advice. It is
	// advice: a failure loses nothing and changes nothing a reader sees.
	for _, d := range drops {
		_ = env.DropCache(d.f, d.off, d.n)
	}
	return nil
}

// dropAlign: each drop starts this far back from where the last one
// ended. Linux caches a file in folios of up to 2 MiB, naturally aligned,
// and frees only folios wholly inside the range it is asked to drop; a
// folio across the end of one range would otherwise never be wholly inside
// a later one. Dropping pages already dropped costs a lookup.
const dropAlign = 2 << 20

// dropChunk is the least the synced segment's cache is dropped by at a
// time: a quarter of the window, at most 16 MiB. So the cache holds between
// DropBehindBytes and 1.25 times that of the log's newest bytes.
func (l *Log) dropChunk() int64 { return min(l.cfg.DropBehindBytes/4, 16<<20) }

// cacheDrop is a synced range of a segment file whose cache can go.
type cacheDrop struct {
	f      env.File
	off, n int64
}

// dropsBehind returns the ranges to drop from the page cache once seg is
// synced up to byte pos: everything this Log wrote more than
// cfg.DropBehindBytes of log bytes behind that point, walking back from
// seg until a segment is reached whose cache was dropped entirely in an
// earlier call (drops happen in log order, so all before it were too).
// Segments rolled after seg was chosen are newer and kept. Call with mu
// held for writing.
func (l *Log) dropsBehind(seg *segment, pos int64) []cacheDrop {
	if l.cfg.DropBehindBytes == 0 {
		return nil
	}
	i := len(l.segments) - 1
	for i >= 0 && l.segments[i] != seg {
		i--
	}
	var drops []cacheDrop
	keep := l.cfg.DropBehindBytes
	for ; i >= 0; i-- {
		s := l.segments[i]
		end := s.size
		if s == seg {
			end = min(pos, s.size)
		}
		if keep == 0 && s.cachedFrom >= s.size {
			break
		}
		// The active segment waits for a chunk's worth, so that a partition
		// written in small batches makes one call per chunk, not per fsync.
		if cut := end - keep; cut > s.cachedFrom && (s != seg || cut-s.cachedFrom >= l.dropChunk()) {
			from := s.cachedFrom &^ (dropAlign - 1)
			drops = append(drops, cacheDrop{s.f, from, cut - from})
			s.cachedFrom = cut
		}
		keep = max(0, keep-end)
	}
	return drops
}

// SyncedOffset returns the offset below which every record is durable.
func (l *Log) SyncedOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.synced
}

// StartOffset returns the log start offset: the first offset a reader may
// ask for. Retention, DeleteRecords (AdvanceStartOffset) and truncation
// move it; it may lie inside the first segment, even inside a batch.
func (l *Log) StartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.start
}

// EndOffset returns the next offset Append will assign.
func (l *Log) EndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.end
}

// Size returns the bytes held in all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// Segments returns the number of segments.
func (l *Log) Segments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segments)
}

// Recovery reports what Open did.
func (l *Log) Recovery() Recovery {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recovery
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// segmentFor returns the index of the segment holding offset, which must be
// in [StartOffset, EndOffset]. Call with mu held.
func (l *Log) segmentFor(offset int64) int {
	lo, hi := 0, len(l.segments) // first segment with base > offset
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.segments[m].base <= offset {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// Read returns whole batches, starting with the one that holds offset, up to
// maxBytes in total; but at least that first batch, however large (KIP-74),
// when offset < EndOffset. offset == EndOffset gives (nil, nil); an offset
// below StartOffset or above EndOffset gives ErrOffsetOutOfRange. An offset
// in a gap the cleaner left (compaction removed its batch) reads from the
// first batch after the gap, as Kafka serves it.
//
// A read stays inside one segment, like Kafka's; the next Read continues in
// the next one. Every batch returned has passed record.Parse (CRC-32C) and
// has the expected base offset, so a disk that flips bits on read makes Read
// fail (record.ErrCorrupt) rather than serve a corrupt batch. The returned
// slice is owned by the caller.
func (l *Log) Read(offset int64, maxBytes int) ([]byte, error) {
	return l.ReadBounded(offset, maxBytes, math.MaxInt64)
}

// ReadBounded is Read returning only batches whose base offset is below
// maxOffset (the high watermark, for consumers). The batch holding offset is
// returned whole even if it extends past maxOffset.
func (l *Log) ReadBounded(offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	return l.readBounded(offset, maxBytes, maxOffset, nil)
}

// ReadBoundedSpan is ReadBounded that also says where the bytes returned
// lie in the log's files, for Durable.
func (l *Log) ReadBoundedSpan(offset int64, maxBytes int, maxOffset int64) ([]byte, Span, error) {
	var span Span
	data, err := l.readBounded(offset, maxBytes, maxOffset, &span)
	return data, span, err
}

// locate finds, with find, the batch holding offset or the first after it
// (past a gap at a segment's end, in the next segment): the segment's index
// in l.segments, the batch's position and header. Call with mu held.
func (l *Log) locate(offset int64, find func(*segment, int64) (int64, header, error)) (int, int64, header, error) {
	i := l.segmentFor(offset)
	pos, h, err := find(l.segments[i], offset)
	for errors.Is(err, errPastSegment) && i+1 < len(l.segments) {
		// offset is in a gap at the end of a segment: the next batch is
		// the next segment's first.
		i++
		pos, h, err = find(l.segments[i], l.segments[i].base)
	}
	return i, pos, h, err
}

// nothingBelow says whether locate found no batch below maxOffset: past
// the last batch, or the batch after a gap not visible yet.
func nothingBelow(h header, err error, maxOffset int64) bool {
	return errors.Is(err, errPastSegment) || (err == nil && h.base >= maxOffset)
}

func (l *Log) readBounded(offset int64, maxBytes int, maxOffset int64, span *Span) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if offset < l.start || offset > l.end {
		return nil, ErrOffsetOutOfRange
	}
	maxOffset = min(maxOffset, l.end)
	if offset >= maxOffset {
		return nil, nil
	}
	var hdr [hdrPrefix]byte
	once := func(s *segment, off int64) (int64, header, error) { return s.find(off, hdr[:]) }
	i, pos, h, err := l.locate(offset, once)
	if nothingBelow(h, err, maxOffset) || (err == nil && h.base > offset) {
		// A gap (the cleaner's) before the next batch, or nothing to read
		// below maxOffset; or one flipped read of a header, whose base
		// offset and length are outside the batch's CRC. Believe it only
		// when reads agree, or a coordinator loading its state would stop
		// short, or skip a batch, and serve its groups as loaded.
		i, pos, h, err = l.locate(offset, (*segment).findAgreeing)
	}
	if nothingBelow(h, err, maxOffset) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seg := l.segments[i]
	if span != nil {
		*span = Span{seg: seg, pos: pos}
	}
	n := min(max(maxBytes, h.size), int(seg.size-pos))
	buf := make([]byte, n)
	if _, err := seg.f.ReadAt(buf, pos); err != nil {
		return nil, err
	}
	// Trim to whole, valid, in-sequence batches below maxOffset.
	next, used := h.base, 0
	for used < len(buf) {
		size, err := record.PeekSize(buf[used:])
		if err == nil && size > len(buf)-used {
			break // past maxBytes
		}
		var b record.Batch
		if err == nil {
			b, err = record.Parse(buf[used:])
		}
		if err == nil && b.FirstOffset != next {
			err = l.checkGap(seg, i < len(l.segments)-1, pos+int64(used), next, b.FirstOffset)
		}
		if err != nil {
			if used == 0 {
				return nil, fmt.Errorf("log: read at offset %d: %w", offset, err)
			}
			break // serve the good prefix; the next Read reports the error
		}
		if b.FirstOffset >= maxOffset {
			break
		}
		used += size
		next = b.LastOffset() + 1
	}
	return buf[:used], nil
}

// checkGap judges a batch at pos of seg whose base offset is not the
// expected next one: it passes only where the cleaner may have left a gap
// (base offset above next, in a rolled segment or below cleanedTo) and a
// second read of the base offset, which the CRC does not cover, agrees.
// Call with mu held.
func (l *Log) checkGap(seg *segment, rolled bool, pos, next, base int64) error {
	if base < next || (!rolled && base >= l.cleanedTo) {
		return fmt.Errorf("%w: batch at position %d has base offset %d, expected %d", record.ErrCorrupt, pos, base, next)
	}
	ok, err := sameBase(seg.f, pos, base)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: batch at position %d: two reads of its base offset disagree", record.ErrCorrupt, pos)
	}
	return nil
}

// sameBase reads the base offset of the batch at pos of f again and reports
// whether it is base. Where gaps are allowed, a bit flipped on the way in a
// base offset would otherwise pass as a gap.
func sameBase(f env.File, pos, base int64) (bool, error) {
	var b [8]byte
	if _, err := f.ReadAt(b[:], pos); err != nil {
		return false, err
	}
	return int64(binary.BigEndian.Uint64(b[:])) == base, nil
}

// errPastSegment: no batch of the segment reaches the offset looked for.
var errPastSegment = errors.New("log: offset past the segment's batches")

// find locates the first batch whose last offset is at or after offset: the
// batch holding offset, or the first one after it when offset is in a gap
// the cleaner left; errPastSegment when the segment has none. From the index
// entry at or before offset it walks batch headers forward. Call with mu
// held.
func (s *segment) find(offset int64, hdr []byte) (int64, header, error) {
	pos := s.lookup(offset)
	for first := true; pos < s.size; first = false {
		h, err := readHeader(s.f, pos, s.size, hdr)
		if err != nil {
			return 0, header{}, fmt.Errorf("log: looking for offset %d: %w", offset, err)
		}
		if first && pos > 0 && h.base > offset {
			// The index entry said this batch starts at or before offset.
			return 0, header{}, fmt.Errorf("log: looking for offset %d: %w: batch at %d starts at %d", offset, record.ErrCorrupt, pos, h.base)
		}
		if h.last >= offset {
			return pos, h, nil
		}
		pos += int64(h.size)
	}
	return 0, header{}, errPastSegment
}

// findAgreeing is find believed only when agreeingReads walks in a row
// land on the same batch with the same outcome: a truncation cuts the file
// where find lands, so one flipped read of a header must not move the cut
// (or fail it). A disk whose walks never agree within rereadAttempts
// rounds gives ErrUnstableReads. Call with mu held.
func (s *segment) findAgreeing(offset int64) (int64, header, error) {
	var hdr [hdrPrefix]byte
	for range rereadAttempts {
		pos, h, err := s.find(offset, hdr[:])
		if err != nil && !errors.Is(err, errPastSegment) && !errors.Is(err, record.ErrCorrupt) {
			return 0, header{}, err // an I/O error
		}
		agree := true
		for i := 1; i < agreeingReads && agree; i++ {
			p2, h2, err2 := s.find(offset, hdr[:])
			agree = p2 == pos && h2 == h && sameOutcome(err, err2)
		}
		if agree {
			return pos, h, err
		}
	}
	return 0, header{}, fmt.Errorf("log: looking for offset %d in segment %d: %w", offset, s.base, ErrUnstableReads)
}

// sameOutcome reports whether two finds ended alike: both found a batch,
// both ran past the segment, or both failed with a corrupt header.
func sameOutcome(a, b error) bool {
	switch {
	case a == nil || b == nil:
		return a == nil && b == nil
	case errors.Is(a, errPastSegment) || errors.Is(b, errPastSegment):
		return errors.Is(a, errPastSegment) && errors.Is(b, errPastSegment)
	}
	return errors.Is(a, record.ErrCorrupt) && errors.Is(b, record.ErrCorrupt)
}

// Batches calls fn for each batch in order, from the one holding from up to
// EndOffset as of the call; from below StartOffset means StartOffset. The
// first batch may begin below from (and below StartOffset). b.Raw is valid
// only during the call. fn runs
// without the log's lock held, so it may call the log's methods; appends made
// meanwhile are not visited. An error from fn stops the walk and is returned.
func (l *Log) Batches(from int64, fn func(b *record.Batch) error) error {
	l.mu.RLock()
	end := l.end
	from = max(from, l.start) // a snapshot may predate the log's start
	l.mu.RUnlock()
	for from < end {
		chunk, err := l.ReadBounded(from, scanChunk, end)
		if err != nil {
			return err
		}
		if len(chunk) == 0 {
			return nil
		}
		for len(chunk) > 0 {
			// ReadBounded validated every batch.
			b, err := record.Parse(chunk)
			if err != nil {
				return err
			}
			if err := fn(&b); err != nil {
				return err
			}
			chunk = chunk[len(b.Raw):]
			from = b.LastOffset() + 1
		}
	}
	return nil
}

// TruncateTo removes every batch at and after offset. An offset inside a
// batch is rounded down to that batch's base, so EndOffset() becomes that
// base (or, for an offset in a gap the cleaner left, the end of the batches
// before it). An offset at or below StartOffset empties the log, which then
// starts at offset. An offset at or after EndOffset changes nothing. The
// truncation is durable when TruncateTo returns: truncated data must not
// come back after a crash, since replication truncates a follower that
// diverged. A running Clean is stopped first.
func (l *Log) TruncateTo(offset int64) error {
	l.lockMaint()
	defer l.maintMu.Unlock()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("log: truncate to negative offset %d", offset)
	}
	if offset >= l.end {
		return nil
	}
	if err := l.truncate(offset); err != nil {
		return l.fail(err)
	}
	return nil
}

// TruncateFullyAndStartAt removes every batch and restarts the log at
// offset, which may be above EndOffset (Kafka's truncateFullyAndStartAt: a
// follower whose log ends below the leader's start). Durable on return.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.lockMaint()
	defer l.maintMu.Unlock()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("log: start at negative offset %d", offset)
	}
	if err := l.truncateFully(offset); err != nil {
		return l.fail(err)
	}
	return nil
}

// lockMaint takes maintMu, asking a running Clean to stop meanwhile.
func (l *Log) lockMaint() {
	l.abortClean.Add(1)
	l.maintMu.Lock()
	l.abortClean.Add(-1)
}

func (l *Log) truncate(offset int64) error {
	if offset <= l.start {
		return l.truncateFully(offset)
	}
	i := l.segmentFor(offset)
	seg := l.segments[i]
	pos, h, err := seg.findAgreeing(offset)
	if errors.Is(err, errPastSegment) {
		// offset is in a gap after the segment's last batch: everything
		// from the next segment on goes.
		i, pos, h, err = i+1, 0, header{base: offset}, nil
		if i == len(l.segments) {
			return nil // nothing at or after offset
		}
	}
	if err != nil {
		return err
	}
	if pos == 0 && i == 0 {
		// Every batch goes. The log restarts at the truncation point, but
		// not below its start.
		return l.truncateFully(max(l.start, min(h.base, offset)))
	}
	if pos == 0 {
		// The whole segment goes; the one before becomes active again. It
		// was synced when rolled, so nothing more to sync.
		if err := l.removeSegmentsFrom(i); err != nil {
			return err
		}
		prev := l.active()
		prev.bytesSinceIndex = int(prev.size)
		if n := len(prev.index); n > 0 {
			prev.bytesSinceIndex = int(prev.size - int64(prev.index[n-1].pos))
		}
		prev.firstAppend = l.clock.Now()
		l.end, l.synced = prev.next, prev.next
		return l.afterTruncate()
	}
	if err := l.removeSegmentsFrom(i + 1); err != nil {
		return err
	}
	if err := seg.f.Truncate(pos); err != nil {
		return err
	}
	seg.prealloc = 0 // the truncation released the reservation too
	if err := seg.f.Sync(); err != nil {
		return err
	}
	// Rebuild the indexes of what is left. Kafka trims the indexes and takes
	// the max timestamp from the last time index entry, which can
	// under-report it; a rescan is exact, and truncation is rare. The
	// rescan confirms a stop as recovery does (scanVerified): a bit flipped
	// on the way would otherwise take a follower's partition offline after
	// every truncation that met it (seeds 3096 and 3108 of --faults all).
	l.size -= seg.size
	sc := scanner{gapsBelow: l.cleanedTo}
	res, err := l.scanVerified(seg, &sc, pos)
	if err != nil {
		return err
	}
	l.size += seg.size
	seg.cachedFrom = min(seg.cachedFrom, seg.size)
	if res.stop != nil || res.next > h.base {
		return fmt.Errorf("log: segment %d is inconsistent below offset %d: %v", seg.base, offset, res.stop)
	}
	// Below h.base the segment may end in a gap the cleaner left; the log
	// then ends where its batches do, so that appends stay dense and a
	// restart finds the same end.
	l.end, l.synced = res.next, res.next
	return l.afterTruncate()
}

// afterTruncate keeps the start and the cleaner's checkpoint inside the
// shortened log: a truncation that rounded down below the start (into the
// batch holding it) leaves nothing readable, so the log restarts at its
// start. Call with mu held for writing.
func (l *Log) afterTruncate() error {
	l.cleanedTo, l.dirtyFrom = min(l.cleanedTo, l.end), min(l.dirtyFrom, l.end)
	if l.end < l.start {
		return l.truncateFully(l.start)
	}
	return nil
}

// truncateFully empties the log and restarts it at offset. The directory is
// never left without a segment: the first segment is emptied in place, then
// renamed to the new base, so a crash leaves either the old or the new start.
// The start offset is recorded (startFile) after the rename: a crash between
// the two finds an empty log and the old start, and restarts the log there
// if that is above (see recover), so a start never goes back by accident.
func (l *Log) truncateFully(offset int64) error {
	if err := l.removeSegmentsFrom(1); err != nil {
		return err
	}
	seg := l.segments[0]
	if err := seg.f.Truncate(0); err != nil {
		return err
	}
	if err := seg.f.Sync(); err != nil {
		return err
	}
	l.size -= seg.size
	if seg.base != offset {
		if err := l.fs.Rename(segmentName(l.dir, seg.base, logSuffix), segmentName(l.dir, offset, logSuffix)); err != nil {
			return err
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		if err := removeIfExists(l.fs, segmentName(l.dir, seg.base, suffix)); err != nil {
			return err
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return err
	}
	f := seg.f
	*seg = *newSegment(offset, f)
	seg.firstAppend = l.clock.Now()
	l.end, l.synced = offset, offset
	l.cleanedTo, l.dirtyFrom = min(l.cleanedTo, offset), min(l.dirtyFrom, offset)
	if l.start != offset {
		if err := l.writeStart(offset); err != nil {
			return err
		}
		l.start = offset
	}
	return nil
}

// removeSegmentsFrom deletes segments i.. from the last one down, syncing the
// directory after each so that a crash never leaves a gap in the middle.
func (l *Log) removeSegmentsFrom(i int) error {
	for len(l.segments) > i {
		seg := l.active()
		seg.f.Close()
		if err := l.fs.Remove(segmentName(l.dir, seg.base, logSuffix)); err != nil {
			return err
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			if err := removeIfExists(l.fs, segmentName(l.dir, seg.base, suffix)); err != nil {
				return err
			}
		}
		l.segments = l.segments[:len(l.segments)-1]
		l.size -= seg.size
		// Keep reads coherent should a later step fail: the log now ends
		// where the remaining segments do.
		if len(l.segments) > 0 {
			l.end = l.active().next
			l.synced = min(l.synced, l.end)
		}
	}
	return l.fs.SyncDir(l.dir)
}

func removeIfExists(fs env.FS, name string) error {
	if err := fs.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Close fsyncs the active segment and closes every file. Later calls return
// ErrClosed.
func (l *Log) Close() error {
	l.lockMaint()
	defer l.maintMu.Unlock()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeLocked(true)
}

// closeLocked closes the segment files. With markClean (a Close, not a
// Delete) and nothing failed, it also leaves the clean-shutdown marker.
func (l *Log) closeLocked(markClean bool) error {
	if l.closed {
		return ErrClosed
	}
	var err error
	if l.failed == nil {
		releasePrealloc(l.active())
		err = l.active().f.Sync()
		if err == nil && markClean && l.cfg.CleanShutdown {
			err = l.markClean()
		}
	}
	for _, s := range l.segments {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	// segments stay, closed, so that offsets and sizes still answer.
	l.closed = true
	return err
}

// Delete closes the log and removes its directory.
func (l *Log) Delete() error {
	l.lockMaint()
	defer l.maintMu.Unlock()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		_ = l.closeLocked(false) // the data is going away; a failed fsync does not matter
	}
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return err
	}
	return l.fs.SyncDir(filepath.Dir(l.dir))
}

// Err returns why the log refuses writes (an earlier write-path I/O error,
// or Close), or nil.
func (l *Log) Err() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.writable()
}
