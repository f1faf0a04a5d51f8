package log

import (
	"fmt"
	"math"
	"slices"
)

// The log start offset (Kafka's logStartOffset): where the log begins for
// readers. It moves forward when retention deletes the oldest segments
// (to the new first segment's base) and on DeleteRecords (to any offset up
// to the high watermark, possibly inside a segment or a batch). Moving it
// is crash-safe in this order:
//
//  1. the new start is written to startFile (durably);
//  2. the log serves from the new start;
//  3. the segments wholly below it (the next segment's base is at or below
//     the start) are closed and their files removed.
//
// A crash after 1 leaves files below the start; recovery removes them
// (removeBelowStart) rather than serve them, so the start never goes back.

// AdvanceStartOffset moves the log start offset up to offset (Kafka's
// DeleteRecords): reads below it answer ErrOffsetOutOfRange from then on,
// and every segment wholly below it is deleted. The new start is durable
// when it returns, before any segment goes. An offset at or below the
// current start changes nothing; one above EndOffset is
// ErrOffsetOutOfRange (the caller bounds it by the high watermark). It
// returns the start offset after the call. A running Clean is stopped
// first.
func (l *Log) AdvanceStartOffset(offset int64) (int64, error) {
	l.lockMaint()
	defer l.maintMu.Unlock()
	l.mu.RLock()
	err := l.writable()
	start, end := l.start, l.end
	l.mu.RUnlock()
	switch {
	case err != nil:
		return start, err
	case offset > end:
		return start, ErrOffsetOutOfRange
	case offset <= start:
		return start, nil
	}
	if err := l.writeStart(offset); err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		return start, l.fail(err)
	}
	l.mu.Lock()
	l.start = offset
	k := l.segmentsBelow(offset)
	l.mu.Unlock()
	_, err = l.deleteOldest(k)
	return offset, err
}

// segmentsBelow counts the leading segments wholly below offset: those
// whose next segment starts at or below it. The active segment is never
// counted. Call with mu held.
func (l *Log) segmentsBelow(offset int64) int {
	k := 0
	for k+1 < len(l.segments) && l.segments[k+1].base <= offset {
		k++
	}
	return k
}

// deleteOldest removes the first k segments, which must not include the
// active one, and moves the start to the new first segment's base if that is
// above it, writing startFile first. It returns the bytes removed. Call
// with maintMu held, not syncMu nor mu.
func (l *Log) deleteOldest(k int) (int64, error) {
	if k == 0 {
		return 0, nil
	}
	l.mu.RLock()
	newStart := max(l.start, l.segments[k].base)
	moved := newStart != l.start
	l.mu.RUnlock()
	if moved {
		if err := l.writeStart(newStart); err != nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			return 0, l.fail(err)
		}
	}
	// syncMu: no Sync or cache drop is using the files closed here.
	l.syncMu.Lock()
	l.mu.Lock()
	gone := slices.Clone(l.segments[:k])
	l.segments = slices.Delete(l.segments, 0, k)
	l.start = newStart
	var bytes int64
	for _, seg := range gone {
		bytes += seg.size
		seg.f.Close()
	}
	l.size -= bytes
	l.mu.Unlock()
	l.syncMu.Unlock()
	for _, seg := range gone {
		if err := l.removeSegmentFiles(seg.base); err != nil {
			return bytes, l.failLocked(err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return bytes, l.failLocked(err)
	}
	return bytes, nil
}

// removeSegmentFiles removes a segment's .log and index files, the .log
// first: index files without their .log are orphans recovery removes.
func (l *Log) removeSegmentFiles(base int64) error {
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := removeIfExists(l.fs, segmentName(l.dir, base, suffix)); err != nil {
			return err
		}
	}
	return nil
}

// failLocked is fail for a caller that does not hold mu.
func (l *Log) failLocked(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fail(err)
}

// removeBelowStart is recovery's part of moving the start: it removes the
// segments a crash left wholly below the recorded start (never the last
// one) and returns the bases left. The caller syncs the directory.
func (l *Log) removeBelowStart(bases []int64) ([]int64, bool, error) {
	removed := false
	for len(bases) > 1 && bases[1] <= l.start {
		if err := l.removeSegmentFiles(bases[0]); err != nil {
			return nil, false, err
		}
		l.recovery.RemovedBelowStart = append(l.recovery.RemovedBelowStart, bases[0])
		bases, removed = bases[1:], true
	}
	return bases, removed, nil
}

// settleOffsets ends recovery: the start is at least the first segment's
// base, the cleaner's checkpoint is inside the log, and a log that ends
// below its start (its unsynced tail was lost, or a truncation below the
// start crashed half way) restarts empty at its start, since offsets below
// the start must never be handed out again.
func (l *Log) settleOffsets() error {
	l.start = max(l.start, l.segments[0].base)
	if l.cleanedTo == math.MaxInt64 {
		l.cleanedTo = l.end // the checkpoint was lost: gaps may be anywhere
	}
	l.cleanedTo, l.dirtyFrom = min(l.cleanedTo, l.end), min(l.dirtyFrom, l.end)
	if l.start <= l.end {
		return nil
	}
	if err := l.truncateFully(l.start); err != nil {
		return fmt.Errorf("restarting the log at its start offset %d: %w", l.start, err)
	}
	return nil
}
