package log

// RetentionPolicy is what EnforceRetention deletes by: Kafka's retention.ms
// and retention.bytes of a topic whose cleanup.policy includes delete.
// Segments wholly below the log start offset go whatever the policy.
type RetentionPolicy struct {
	// RetentionMs: a segment whose largest timestamp is more than this far
	// behind the log's clock goes. Negative: no limit by time.
	RetentionMs int64
	// RetentionBytes: while the log holds more than this, its oldest
	// segments go, as long as what remains is still at least this large.
	// Negative: no limit by size.
	RetentionBytes int64
	// MaxOffset: a segment goes only if it ends at or below this, the high
	// watermark: what consumers have not been able to read is kept.
	MaxOffset int64
}

// Deleted is what EnforceRetention removed.
type Deleted struct {
	Segments int
	Bytes    int64
	// StartOffset is the log start offset afterwards.
	StartOffset int64
}

// EnforceRetention deletes the oldest segments, as Kafka's retention does:
// whole segments only, from the oldest on, each either wholly below the
// start offset, older than RetentionMs by its largest timestamp (the time
// index's last entry), or unneeded to keep RetentionBytes; never the active
// segment, and never one that ends above MaxOffset. A segment whose batches
// carry no timestamp (-1) is never old by time; Kafka falls back to the
// file's modification time, which Weir does not read (the simulator's disk
// has none). The start offset moves to the new first segment's base,
// durably before any file goes (see AdvanceStartOffset). Time is the log's
// clock. A running Clean is stopped first.
func (l *Log) EnforceRetention(p RetentionPolicy) (Deleted, error) {
	l.lockMaint()
	defer l.maintMu.Unlock()
	l.mu.RLock()
	if err := l.writable(); err != nil {
		l.mu.RUnlock()
		return Deleted{StartOffset: l.start}, err
	}
	k := l.expiredSegments(p, l.clock.Now().UnixMilli())
	l.mu.RUnlock()
	bytes, err := l.deleteOldest(k)
	return Deleted{Segments: k, Bytes: bytes, StartOffset: l.StartOffset()}, err
}

// expiredSegments counts the leading segments retention deletes. Call with
// mu held.
func (l *Log) expiredSegments(p RetentionPolicy, nowMs int64) int {
	excess := l.size - p.RetentionBytes
	k := 0
	for ; k+1 < len(l.segments); k++ {
		seg, next := l.segments[k], l.segments[k+1].base
		if next > p.MaxOffset {
			break
		}
		belowStart := next <= l.start
		old := p.RetentionMs >= 0 && seg.maxTsOffset >= 0 && seg.maxTs != noTimestamp && nowMs-seg.maxTs > p.RetentionMs
		tooBig := p.RetentionBytes >= 0 && excess-seg.size >= 0
		if !belowStart && !old && !tooBig {
			break
		}
		excess -= seg.size
	}
	return k
}
