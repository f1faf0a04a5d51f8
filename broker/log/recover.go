package log

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

// strayMarkers are suffixes of files that a crash in the middle of an
// operation may leave behind (Kafka names: cleaner output, swap files,
// segments being deleted; our own temp files). None of them holds data the
// log needs: a cleaner's .log.swap, which may, is completed (completeSwaps)
// before strays are removed.
var strayMarkers = []string{cleanedSuffix, swapSuffix, ".deleted", tmpSuffix}

// Open opens the log in dir, creating dir if missing, and recovers it:
//
//   - The log start offset and the cleaner's checkpoint are read
//     (checkpoint.go). A cleaned segment past its commit point
//     (<base>.log.swap) replaces the segments it was made from
//     (completeSwaps).
//   - Stray files (see strayMarkers) and index files without a .log are
//     removed, and so are segments wholly below the log start offset that
//     a crash left behind.
//   - Every segment but the last was fsynced with its indexes before the next
//     one was created, so its data is trusted; its .index and .timeindex are
//     checked (entries increasing and inside the segment, the batches after
//     the last index entry frame exactly to the file's end and end at the
//     next segment's base) and rebuilt from the data if they fail. A rolled
//     segment whose data does not frame is an error: Open refuses to serve a
//     log with a hole rather than silently drop durable data.
//   - The last (active) segment is parsed batch by batch with record.Parse
//     (CRC-32C) from its start and truncated at the first torn, corrupt or
//     out-of-sequence batch; its indexes are rebuilt from that scan. The
//     truncation and the surviving data are fsynced, so SyncedOffset starts
//     at EndOffset.
//   - An empty last segment (a crash right after a roll) stays as the
//     active segment.
//   - Offsets must increase. In a rolled segment a batch may follow a gap
//     the cleaner left (its base offset read twice, agreeing); the active
//     segment must be dense, except below the cleaner's checkpoint.
//   - A log that ends below its start offset restarts, empty, at it.
//   - No single read is trusted with the power to drop data: a disk, its
//     cable or its controller may flip a bit on the way without the stored
//     bytes being wrong. So a batch that fails validation in any scan
//     above is read again, agreeingReads times, until those reads agree
//     (see confirmStop); the log is truncated at it (or a rolled segment
//     refused) only if the agreed bytes still fail. If they pass, the
//     failure was transient and the scan goes on from there. Index files
//     are read the same way and used only if the reads agree. A disk whose
//     reads never agree fails Open with ErrUnstableReads rather than lose
//     durable data; opening again later may succeed. (A fault that returns
//     the same wrong bytes on agreeingReads reads in a row cannot be told
//     from bytes that are wrong on disk.)
//
// Recovery() reports what was done.
func Open(fs env.FS, clock env.Clock, dir string, cfg Config) (*Log, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := makeDir(fs, dir); err != nil {
		return nil, err
	}
	l := &Log{fs: fs, clock: clock, dir: dir, cfg: cfg}
	if err := l.recover(); err != nil {
		for _, s := range l.segments {
			s.f.Close()
		}
		return nil, fmt.Errorf("log: recovering %s: %w", dir, err)
	}
	return l, nil
}

// makeDir creates dir and makes every directory it creates durable, from
// the top down, so a crash cannot lose the log's directory after segments
// inside it were synced.
func makeDir(fs env.FS, dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		_, err := fs.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := fs.SyncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) recover() error {
	if err := l.loadCheckpoints(); err != nil {
		return err
	}
	swapped, err := l.completeSwaps()
	if err != nil {
		return err
	}
	names, err := l.fs.List(l.dir)
	if err != nil {
		return err
	}
	var bases []int64
	logs := map[int64]bool{}
	for _, name := range names {
		if base, suffix, ok := parseSegmentName(name); ok && suffix == logSuffix {
			bases = append(bases, base) // List is sorted, and so are 20-digit names
			logs[base] = true
		}
	}
	dirty := swapped
	for _, name := range names {
		base, suffix, ok := parseSegmentName(name)
		if !ok {
			continue // not ours (e.g. a checkpoint file of another package)
		}
		stray := false
		for _, m := range strayMarkers {
			stray = stray || strings.HasSuffix(suffix, m)
		}
		orphan := (suffix == indexSuffix || suffix == timeIndexSuffix) && !logs[base]
		if stray || orphan {
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return err
			}
			l.recovery.RemovedFiles = append(l.recovery.RemovedFiles, name)
			dirty = true
		}
	}

	if len(bases) == 0 {
		f, err := l.fs.Create(segmentName(l.dir, l.start, logSuffix))
		if err != nil {
			return err
		}
		seg := newSegment(l.start, f)
		seg.firstAppend = l.clock.Now()
		l.segments = append(l.segments, seg)
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
		l.end, l.synced = l.start, l.start
		l.cleanedTo, l.dirtyFrom = min(l.cleanedTo, l.end), min(l.dirtyFrom, l.end)
		l.recovery.Segments = 1
		return nil
	}
	bases, removed, err := l.removeBelowStart(bases)
	if err != nil {
		return err
	}
	dirty = dirty || removed

	clean, found, cleanOK, err := l.takeCleanMarker()
	if err != nil {
		return err
	}
	dirty = dirty || found // the marker's removal must be durable before any append
	var sc scanner
	for i, base := range bases {
		f, err := l.fs.OpenReadWrite(segmentName(l.dir, base, logSuffix))
		if err != nil {
			return err
		}
		seg := newSegment(base, f)
		l.segments = append(l.segments, seg)
		st, err := f.Stat()
		if err != nil {
			return err
		}
		size := st.Size()
		if size > math.MaxInt32 {
			// Index positions are 4 bytes and no segment is written past
			// SegmentBytes <= MaxInt32: the file was not made by this log.
			return fmt.Errorf("segment %d is %d bytes, more than any segment can be", base, size)
		}
		// A rolled segment may hold gaps the cleaner left; the active one
		// only below the cleaner's checkpoint (a truncation made a cleaned
		// segment active again), and is dense after it.
		sc.gapsBelow = l.cleanedTo
		if i < len(bases)-1 {
			sc.gapsBelow = math.MaxInt64
			rebuilt, err := l.recoverRolled(seg, size, bases[i+1], &sc)
			if err != nil {
				return err
			}
			dirty = dirty || rebuilt
		} else if cleanOK && l.cfg.CleanShutdown && clean.base == base && clean.size == size {
			if err := l.recoverCleanActive(seg, size, clean.next, &sc); err != nil {
				return err
			}
		} else if err := l.recoverActive(seg, size, &sc); err != nil {
			return err
		}
		l.size += seg.size
		seg.cachedFrom = seg.size
	}
	if dirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
	}
	l.end = l.active().next
	l.synced = l.end
	l.recovery.Segments = len(l.segments)
	return l.settleOffsets()
}

// recoverRolled loads a rolled segment's indexes, rebuilding them if they are
// missing or inconsistent; it reports whether it rebuilt them.
func (l *Log) recoverRolled(seg *segment, size, nextBase int64, sc *scanner) (bool, error) {
	err := l.loadIndexes(seg, size, nextBase, sc)
	if err == nil {
		return false, nil
	}
	var ioErr ioError
	if errors.As(err, &ioErr) {
		return false, ioErr.err
	}
	res, err := l.scanVerified(seg, sc, size)
	if err != nil {
		return false, err
	}
	if res.stop != nil || res.end != size || res.next != nextBase {
		return false, fmt.Errorf("rolled segment %d is corrupt at position %d (offset %d, next segment starts at %d): %v",
			seg.base, res.end, res.next, nextBase, res.stop)
	}
	if err := l.writeIndexes(seg); err != nil {
		return false, err
	}
	l.recovery.RebuiltIndexes = append(l.recovery.RebuiltIndexes, seg.base)
	return true, nil
}

// ioError marks an I/O failure while loading indexes, which must fail Open,
// as opposed to an inconsistency, which a rebuild fixes.
type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }

// loadIndexes reads and checks a rolled segment's index files. Beyond the
// per-entry checks, it parses the batches after the last index entry: they
// must frame exactly to the end of the file and end at nextBase, and none may
// have a timestamp above the time index's last entry (roll writes the
// segment's max there). That costs one index interval of reading and catches
// an index that is stale, short or points into the middle of a batch.
func (l *Log) loadIndexes(seg *segment, size, nextBase int64, sc *scanner) error {
	// A valid index has at most one entry per batch, and a batch is at
	// least record.HeaderSize bytes: anything larger is garbage, not worth
	// reading into memory.
	maxBatches := size/record.HeaderSize + 1
	idx, err := readFileLimit(l.fs, segmentName(l.dir, seg.base, indexSuffix), maxBatches*indexEntrySize)
	if err != nil {
		return err
	}
	tidx, err := readFileLimit(l.fs, segmentName(l.dir, seg.base, timeIndexSuffix), maxBatches*timeIndexEntrySize)
	if err != nil {
		return err
	}
	index, err := decodeIndex(idx, seg.base, size, nextBase)
	if err != nil {
		return err
	}
	tindex, err := decodeTimeIndex(tidx, seg.base, nextBase)
	if err != nil {
		return err
	}
	if len(tindex) == 0 {
		return errors.New("empty time index")
	}
	pos, expect := int64(0), seg.base
	if n := len(index); n > 0 {
		pos, expect = int64(index[n-1].pos), seg.base+int64(index[n-1].rel)
	}
	tailMax := tindex[len(tindex)-1].ts
	// The last entry must point at a batch starting exactly at its offset:
	// where gaps are allowed the scan alone would take a batch after the
	// entry's offset for one after a gap.
	tailOK, first := true, len(index) > 0 // a segment may start with a gap
	res, err := sc.scan(seg.f, pos, size, expect, func(b *record.Batch, _ int64) {
		tailOK = tailOK && b.MaxTimestamp <= tailMax && (!first || b.FirstOffset == expect)
		first = false
	})
	if err != nil {
		return ioError{err}
	}
	if res.stop != nil || res.end != size || res.next != nextBase || !tailOK {
		return fmt.Errorf("index does not match the data (tail: %v)", res.stop)
	}
	last := tindex[len(tindex)-1]
	seg.index, seg.tindex = index, tindex
	seg.size, seg.next = size, nextBase
	seg.maxTs, seg.maxTsOffset = last.ts, seg.base+int64(last.rel)
	seg.bytesSinceIndex = int(size - pos)
	return nil
}

// errTooLarge means an index file is larger than any valid one could be.
var errTooLarge = errors.New("file larger than possible")

// readFileLimit reads a whole file of at most limit bytes. A missing or
// oversized file is an inconsistency (rebuild); other failures are
// ioErrors.
func readFileLimit(fs env.FS, name string, limit int64) ([]byte, error) {
	f, err := fs.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, ioError{err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, ioError{err}
	}
	if st.Size() > limit {
		return nil, errTooLarge
	}
	// Use the bytes only if several reads agree: a bit flipped on the way
	// may still decode as a plausible index, which would send reads to the
	// wrong position until the next restart.
	for range rereadAttempts {
		a, ok, err := readAgreeing(f, 0, st.Size())
		if err != nil {
			return nil, ioError{err}
		}
		if ok {
			return a, nil
		}
	}
	return nil, ioError{fmt.Errorf("%s: %w", name, ErrUnstableReads)}
}

// recoverActive parses the last segment from its start and truncates it at
// the first invalid batch.
func (l *Log) recoverActive(seg *segment, size int64, sc *scanner) error {
	res, err := l.scanVerified(seg, sc, size)
	if err != nil {
		return err
	}
	if res.end < size && l.cfg.Defects.KeepTornTail {
		seg.size = size // DEFECT: the torn tail stays, and appends go after it
	} else if res.end < size {
		l.recovery.TruncatedBytes = size - res.end
		l.recovery.TruncateReason = res.stop
		if err := seg.f.Truncate(res.end); err != nil {
			return err
		}
	}
	// What was read may have been in the page cache only; make it, and the
	// truncation, durable so that SyncedOffset can start at EndOffset.
	if err := seg.f.Sync(); err != nil {
		return err
	}
	seg.firstAppend = l.clock.Now()
	return nil
}

// recoverCleanActive opens the active segment of a cleanly closed log: its
// indexes, written at close, are checked as a rolled segment's are (the
// batches after the last index entry must frame exactly to the end, at
// next), and only if that fails is the segment scanned as after a crash.
func (l *Log) recoverCleanActive(seg *segment, size, next int64, sc *scanner) error {
	err := l.loadIndexes(seg, size, next, sc)
	var ioErr ioError
	switch {
	case errors.As(err, &ioErr):
		return ioErr.err
	case err != nil:
		*seg = *newSegment(seg.base, seg.f)
		return l.recoverActive(seg, size, sc)
	}
	seg.firstAppend = l.clock.Now()
	l.recovery.CleanShutdown = true
	return nil
}

// ErrUnstableReads means that reading the same bytes again and again never
// gave the same result twice: the disk (or its path to memory) is flipping
// bits. Recovery refuses to decide from such reads what is corrupt, so Open
// fails with it rather than truncate data that may be intact on disk.
var ErrUnstableReads = errors.New("log: reads of the same bytes disagree")

const (
	// agreeingReads is how many reads of the same bytes must return the
	// same result before recovery trusts them. Two would do against one
	// flip; three make two identical flips in a row (same bit, same read)
	// harmless too.
	agreeingReads = 3
	// rereadAttempts bounds how many rounds of agreeingReads reads
	// confirmStop and readFileLimit make looking for a round that agrees.
	rereadAttempts = 8
	// maxTransientStops bounds how often one segment's scan may stop at a
	// batch that then reads back valid.
	maxTransientStops = 16
)

// scanVerified recomputes seg's indexes and size from its first limit
// bytes, stopping at the first invalid batch, but confirms every early
// stop with confirmStop (recovery and truncation use it): a stop caused by a transient read fault is not an end, and the scan goes on
// from the batch that reads back valid. The result's stop is therefore a
// corruption that two agreeing reads show, or nil.
func (l *Log) scanVerified(seg *segment, sc *scanner, limit int64) (scanResult, error) {
	seg.resetIndexes()
	track := func(b *record.Batch, pos int64) {
		seg.track(b.FirstOffset, b.LastOffset(), b.MaxTimestamp, pos, len(b.Raw), l.cfg.IndexIntervalBytes)
	}
	res, err := sc.scan(seg.f, 0, limit, seg.base, track)
	for transient := 0; err == nil && res.end < limit; transient++ {
		stable, cerr := confirmStop(seg.f, res.end, limit, res.next, sc.gapsBelow)
		if cerr != nil {
			return scanResult{}, fmt.Errorf("segment %d, batch at position %d (offset %d): %w", seg.base, res.end, res.next, cerr)
		}
		if stable {
			return res, nil
		}
		if transient >= maxTransientStops {
			return scanResult{}, fmt.Errorf("segment %d: the scan stopped %d times at batches that then read back valid (last at position %d): %w",
				seg.base, transient+1, res.end, ErrUnstableReads)
		}
		res, err = sc.scan(seg.f, res.end, limit, res.next, track)
	}
	return res, err
}

// confirmStop decides whether the batch at pos of f (valid data ends at
// limit; the batch is expected at offset next) is really torn, corrupt or out
// of sequence (gaps allowed below gapsBelow). It reads the batch's header,
// then the whole batch, each agreeingReads times, and judges only bytes that
// all those reads agree on.
// stable is true if the agreed bytes fail validation as the scan's did,
// false if they pass (the scan saw a transient fault). If no round of reads
// agrees within rereadAttempts rounds, it returns ErrUnstableReads. Only I/O
// errors are returned otherwise.
func confirmStop(f env.File, pos, limit, next, gapsBelow int64) (stable bool, err error) {
	const need = hdrLength + 9 // what record.PeekSize needs, as in scan
	for range rereadAttempts {
		hdr, ok, err := readAgreeing(f, pos, min(limit-pos, need))
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		if len(hdr) < need {
			return true, nil // torn: not even a length field
		}
		size, err := record.PeekSize(hdr)
		if err != nil || int64(size) > limit-pos {
			return true, nil // a bad length, or one that runs past the end
		}
		raw, ok, err := readAgreeing(f, pos, int64(size))
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		b, err := record.Parse(raw)
		inSequence := b.FirstOffset == next || (b.FirstOffset > next && b.FirstOffset < gapsBelow)
		if err != nil || !inSequence || b.FirstOffset > math.MaxInt64-int64(b.LastOffsetDelta)-1 {
			return true, nil
		}
		return false, nil
	}
	return false, ErrUnstableReads
}

// readAgreeing reads n bytes at pos of f agreeingReads times and reports
// whether every read returned the same bytes as the first. A short read
// (the file ends) returns what was there.
func readAgreeing(f env.File, pos, n int64) (data []byte, agree bool, err error) {
	var first, b []byte
	agree = true
	for i := range agreeingReads {
		if i < 2 {
			b = make([]byte, n) // the second buffer is reused by later reads
		}
		m, err := f.ReadAt(b[:n], pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, false, err
		}
		if i == 0 {
			first = b[:m]
		} else {
			agree = agree && bytes.Equal(first, b[:m])
		}
	}
	return first, agree, nil
}
