package log

import (
	"github.com/weir-dev/weir/env"
)

// Defects are deliberate bugs of the log, planted by the broker's
// Config.Defects (weir sim --defect) to prove that the simulator's checkers
// catch a broken log. The zero value, the only one outside the simulator and
// tests, plants nothing.
type Defects struct {
	// OverlapOffsets: a batch of more than one record advances the end
	// offset by one instead of by its record count, so the next batch's
	// offsets overlap it.
	OverlapOffsets bool
	// KeepTornTail: recovery does not cut a torn or corrupt tail off the
	// active segment; it keeps the bytes (and fsyncs them) and appends after
	// them, so the next batch sits behind garbage that no read can frame.
	KeepTornTail bool
	// CompactKeepsFirst: the cleaner maps each key to its first record in
	// the dirty segments instead of its last, and removes the key's other
	// records there, so a compacted log keeps an old value of a key and
	// loses its latest one (weir sim --defect compact-keeps-first).
	CompactKeepsFirst bool
}

// superseded is the cleaner's rule for a keyed record at offset whose key
// the pass mapped to latest (-1: not mapped): it goes when a later record
// of its key was mapped.
func (d Defects) superseded(latest, offset int64) bool {
	if d.CompactKeepsFirst {
		return latest >= 0 && latest != offset // DEFECT: the first mapped record stays, the later ones go
	}
	return latest > offset
}

// nextOffset is the end offset after a batch at base with the given last
// offset delta.
func (d Defects) nextOffset(base, delta int64) int64 {
	if d.OverlapOffsets && delta > 0 {
		return base + 1 // DEFECT: the batch's other records are overlapped by the next batch
	}
	return base + delta + 1
}

// Span says where the bytes of a read (ReadBoundedSpan) lie in the log's
// files: the segment and the position of the first byte.
type Span struct {
	seg *segment
	pos int64
}

// Skip returns the span of a read's bytes after its first n: what is left
// when the first n bytes are not served.
func (s Span) Skip(n int) Span { return Span{seg: s.seg, pos: s.pos + int64(n)} }

// Durable reports whether the n bytes at span are durable on the file
// system now. It answers true when the file system cannot tell (it is not
// an env.SyncProber). It is for invariant checks (internal/invariants), and
// reads nothing from the disk.
//
// A cleaned segment between its swap's commit point and the directory sync
// after its rename to <base>.log (swap.go) is durable although no durable
// name leads to its file yet: its data was fsynced before the commit point,
// and from there recovery finishes the swap from the .swap file. The
// prober, which looks a name up, cannot see that (it probes <base>.log,
// still the old first segment, or not durably renamed yet), so such a
// segment is taken as durable.
func (l *Log) Durable(span Span, n int) (bool, error) {
	prober, ok := l.fs.(env.SyncProber)
	if !ok || n == 0 || span.seg == nil || span.seg.swapping.Load() {
		return true, nil
	}
	return prober.Synced(segmentName(l.dir, span.seg.base, logSuffix), span.pos, int64(n))
}
