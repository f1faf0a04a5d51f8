package log

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
)

// File suffixes of a cleaned segment on its way in (Kafka's names).
const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// Swapping a cleaned segment in, crash-safely. The cleaned segment replaces
// the group of old segments [base, end) and is named after the first; at
// every step a crash leaves either the old segments or the new one readable
// after recovery, never a mix:
//
//  1. <base>.log.cleaned is written and fsynced (cleanGroup). A crash now
//     leaves a stray .cleaned file, which recovery removes.
//  2. The cleaner checkpoint is raised to at least end, durably, so that
//     recovery accepts the gaps of the new segment; if the new segment
//     lacks tombstones, the tombstone mark is raised past them in the
//     same write (and in memory before the new segment can be read).
//  3. <base>.log.cleaned is renamed <base>.log.swap and the directory
//     synced: the commit point. From here recovery finishes the swap
//     (completeSwaps): it scans the .swap to learn where it ends, removes
//     every old segment file in [base, end) and renames the .swap to
//     <base>.log.
//  4. In memory, the new segment replaces the old ones (under syncMu and
//     mu, for the moment it takes to switch pointers and close files).
//  5. The old segments' files go, except <base>.log, which the rename of
//     the .swap over it replaces atomically; the index files go first of
//     all, so an old index is never taken for the new segment's.
//  6. The new segment's indexes are written; until then recovery would
//     rebuild them from the data.

// commitGroup swaps out, the cleaned form of segs, into the log (steps 2 to
// 6 above). horizon is the pass's earliest kept delete horizon so far;
// tombstonesBelow > 0 says out lacks tombstones segs had, all below it
// (step 2 raises the tombstone mark with the checkpoint). Call with
// maintMu held.
func (l *Log) commitGroup(segs []*segment, out *segment, end, horizon, tombstonesBelow int64) error {
	if err := l.advanceCleaner(end, horizon, tombstonesBelow, false); err != nil {
		out.f.Close()
		return err
	}
	base := out.base
	logPath := segmentName(l.dir, base, logSuffix)
	if err := l.fs.Rename(logPath+cleanedSuffix, logPath+swapSuffix); err != nil {
		out.f.Close()
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		// Whether the rename is durable is unknown: only recovery can say
		// which set of segments the log has.
		out.f.Close()
		return l.failLocked(err)
	}
	out.swapping.Store(true)
	if err := l.swapInMemory(segs, out); err != nil {
		return err
	}
	for _, seg := range segs {
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			if err := removeIfExists(l.fs, segmentName(l.dir, seg.base, suffix)); err != nil {
				return l.failLocked(err)
			}
		}
	}
	for _, seg := range segs[1:] {
		if err := removeIfExists(l.fs, segmentName(l.dir, seg.base, logSuffix)); err != nil {
			return l.failLocked(err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return l.failLocked(err)
	}
	if err := l.fs.Rename(logPath+swapSuffix, logPath); err != nil {
		return l.failLocked(err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return l.failLocked(err)
	}
	out.swapping.Store(false)
	if err := l.writeIndexes(out); err != nil {
		return l.failLocked(err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return l.failLocked(err)
	}
	return nil
}

// swapInMemory replaces segs, which must still be consecutive in the log,
// by out.
func (l *Log) swapInMemory(segs []*segment, out *segment) error {
	l.syncMu.Lock() // no Sync or cache drop is using the files closed here
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.segments, segs[0])
	if i < 0 || i+len(segs) > len(l.segments)-1 || !slices.Equal(l.segments[i:i+len(segs)], segs) {
		// maintMu keeps rolled segments in place; this is a bug.
		out.f.Close()
		return l.fail(fmt.Errorf("log: segments %d.. changed under the cleaner", segs[0].base))
	}
	var in int64
	for _, seg := range segs {
		in += seg.size
		seg.f.Close()
	}
	l.segments = slices.Replace(l.segments, i, i+len(segs), out)
	l.size += out.size - in
	return nil
}

// advanceCleaner records the cleaner's progress durably, then in memory.
// Before a swap (final false) it raises cleanedTo to at least gapsTo, the
// end of the group being swapped in, and lowers the horizon to the pass's
// so far; at the end of a pass (final true) it also sets dirtyFrom to
// gapsTo and the horizon to the pass's, which then covers every batch
// below gapsTo. tombstonesBelow > 0: the group removes tombstones, all
// below it; the tombstone mark is raised to cover them and its Gen moves
// on, in the same write. Call with maintMu held.
func (l *Log) advanceCleaner(gapsTo, horizon, tombstonesBelow int64, final bool) error {
	l.ckptMu.Lock()
	defer l.ckptMu.Unlock()
	l.mu.RLock()
	to, dirty, h, mark := max(l.cleanedTo, gapsTo), l.dirtyFrom, min(l.horizon, horizon), l.tombstones
	if final {
		dirty, h = max(dirty, gapsTo), horizon
	}
	if tombstonesBelow > 0 {
		mark = TombstoneMark{Below: max(mark.Below, tombstonesBelow), Gen: mark.Gen + 1}
	}
	same := to == l.cleanedTo && dirty == l.dirtyFrom && h == l.horizon && mark == l.tombstones
	l.mu.RUnlock()
	if same {
		return nil
	}
	if err := l.writeCleaner(to, dirty, h, mark); err != nil {
		return err
	}
	l.mu.Lock()
	l.cleanedTo, l.dirtyFrom, l.horizon, l.tombstones = to, dirty, h, mark
	l.mu.Unlock()
	return nil
}

// completeSwaps finishes, at Open, the swaps a crash interrupted after
// their commit point (see commitGroup): for each <base>.log.swap it removes
// the old segment files in [base, end of the .swap) and renames the .swap
// to <base>.log. A .swap whose data does not frame whole cannot be trusted
// to replace anything and fails Open. It reports whether it changed the
// directory (the caller syncs it).
func (l *Log) completeSwaps() (bool, error) {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return false, err
	}
	changed := false
	for _, name := range names {
		base, suffix, ok := parseSegmentName(name)
		if !ok || suffix != logSuffix+swapSuffix {
			continue
		}
		end, err := l.swapEnd(filepath.Join(l.dir, name), base)
		if err != nil {
			return false, err
		}
		for _, other := range names {
			b, sfx, ok := parseSegmentName(other)
			if ok && b >= base && b < end && (sfx == logSuffix || sfx == indexSuffix || sfx == timeIndexSuffix) {
				if err := removeIfExists(l.fs, filepath.Join(l.dir, other)); err != nil {
					return false, err
				}
			}
		}
		path := filepath.Join(l.dir, name)
		if err := l.fs.Rename(path, strings.TrimSuffix(path, swapSuffix)); err != nil {
			return false, err
		}
		l.recovery.CompletedSwaps = append(l.recovery.CompletedSwaps, base)
		changed = true
	}
	return changed, nil
}

// swapEnd scans a .swap segment and returns the offset after its last
// batch.
func (l *Log) swapEnd(path string, base int64) (int64, error) {
	f, err := l.fs.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	seg := newSegment(base, f)
	sc := scanner{gapsBelow: math.MaxInt64} // a cleaned segment has gaps
	res, err := l.scanVerified(seg, &sc, st.Size())
	if err != nil {
		return 0, err
	}
	if res.stop != nil || res.end != st.Size() || res.next == base {
		return 0, fmt.Errorf("cleaned segment %s is corrupt at position %d: %v", path, res.end, res.stop)
	}
	return res.next, nil
}
