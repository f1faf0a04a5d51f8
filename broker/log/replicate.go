package log

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrUnexpectedOffset means a replicated batch does not start where the log
// ends, nor after a gap (Kafka's UnexpectedAppendOffsetException): it would
// overwrite offsets. The follower must truncate or refetch instead.
var ErrUnexpectedOffset = errors.New("log: replicated batch does not continue the log")

// AppendReplicated appends one batch that a leader already placed, its
// bytes unchanged, so a follower's log holds the leader's bytes at the
// leader's offsets. Its base offset must not be below EndOffset(), else
// ErrUnexpectedOffset. It may be above: the leader's cleaner removed the
// batches between (compaction keeps offsets, so a compacted log has gaps,
// and a follower copies them as Kafka's does). A gap is first allowed
// durably (AllowGapsBelow), so that recovery keeps the batch after it.
// raw must have passed record.Parse. It rolls, indexes and defers the
// fsync exactly as Append does, and returns the offset after the batch.
//
// A follower whose log is empty at an offset below the leader's log start
// first calls TruncateFullyAndStartAt(leaderStart); AppendReplicated never
// moves the log start itself.
func (l *Log) AppendReplicated(raw []byte) (int64, error) {
	if len(raw) < hdrPrefix {
		return 0, ErrInvalidBatch
	}
	base := int64(binary.BigEndian.Uint64(raw))
	if base < 0 || base == math.MaxInt64 { // AllowGapsBelow needs base+1
		return 0, ErrInvalidBatch
	}
	if base > l.EndOffset() {
		if err := l.AllowGapsBelow(base + 1); err != nil {
			return 0, err
		}
	}
	if _, err := l.appendBatch(raw, base); err != nil {
		return 0, err
	}
	return base + int64(int32(binary.BigEndian.Uint32(raw[hdrLastOffsetDelta:]))) + 1, nil
}

// AllowGapsBelow lets batches below offset follow a gap in the active
// segment, durably: it raises the cleaner's checkpoint (cleanedTo), which
// recovery and reads take as the bound below which the active segment may
// have gaps (see Log.cleanedTo), and writes it before returning. A follower
// about to append several batches after gaps calls it once with the last
// one's base offset plus one, so that one checkpoint write covers them all;
// AppendReplicated calls it for a single batch. It changes no data, and
// nothing if the bound is already that high.
func (l *Log) AllowGapsBelow(offset int64) error {
	l.ckptMu.Lock()
	defer l.ckptMu.Unlock()
	l.mu.RLock()
	err := l.writable()
	to, dirty, h, mark := max(l.cleanedTo, offset), l.dirtyFrom, l.horizon, l.tombstones
	same := to == l.cleanedTo
	l.mu.RUnlock()
	if err != nil || same {
		return err
	}
	if err := l.writeCleaner(to, dirty, h, mark); err != nil {
		return err
	}
	l.mu.Lock()
	l.cleanedTo = max(l.cleanedTo, to)
	l.mu.Unlock()
	return nil
}
