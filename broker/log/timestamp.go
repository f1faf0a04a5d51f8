package log

import (
	"encoding/binary"

	"github.com/weir-dev/weir/broker/record"
)

// OffsetForTimestamp answers ListOffsets by timestamp: the offset and
// timestamp of the earliest record at or after the start offset whose
// timestamp is >= ts; ok is false when there is none (or the data could not
// be read).
//
// The first segment whose max timestamp reaches ts is searched from its time
// index entry, then batch by batch. In an uncompressed CreateTime batch the
// exact record is found by walking the records' varints. A compressed batch
// is not decompressed: its base offset (or the start offset, if that is
// later) and max timestamp are returned, which is at or before the exact
// answer, so a consumer that seeks there misses nothing. A LogAppendTime
// batch gives all its records the batch's max timestamp, so its base offset
// is exact.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1, false
	}
	var buf []byte
	for i, seg := range l.segments {
		if seg.maxTsOffset < 0 || seg.maxTs < ts || (i+1 < len(l.segments) && l.segments[i+1].base <= l.start) {
			continue
		}
		pos := seg.lookup(max(seg.lookupTime(ts), l.start))
		for pos < seg.size {
			var b record.Batch
			var err error
			b, buf, err = seg.readBatch(pos, buf)
			if err != nil {
				return -1, -1, false
			}
			pos += int64(len(b.Raw))
			if b.LastOffset() < l.start || b.MaxTimestamp < ts {
				continue
			}
			if offset, timestamp, ok = firstRecordAtOrAfter(&b, ts, l.start); ok {
				return offset, timestamp, true
			}
		}
	}
	return -1, -1, false
}

// MaxTimestamp answers ListOffsets MAX_TIMESTAMP: the offset of the first
// record with the largest timestamp at or after the start offset, and that
// timestamp; (-1, -1) when there is none. Precision is as in
// OffsetForTimestamp: exact for uncompressed batches, the batch's base
// offset for compressed ones. When the segment with the largest timestamp
// has it below the start offset, the search falls back to reading batches
// from the start.
func (l *Log) MaxTimestamp() (offset, timestamp int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1
	}
	var best *segment
	for _, seg := range l.segments {
		if seg.maxTsOffset >= 0 && (best == nil || seg.maxTs > best.maxTs) {
			best = seg
		}
	}
	if best == nil {
		return -1, -1
	}
	if best.maxTsOffset < l.start {
		return l.maxTimestampFromStart()
	}
	var hdr [hdrPrefix]byte
	pos, _, err := best.find(best.maxTsOffset, hdr[:])
	if err != nil {
		return best.maxTsOffset, best.maxTs
	}
	b, _, err := best.readBatch(pos, nil)
	if err != nil {
		return best.maxTsOffset, best.maxTs
	}
	offset, timestamp, ok := firstRecordAtOrAfter(&b, best.maxTs, l.start)
	if !ok {
		// The cleaner removed the record; the batch keeps its max.
		return best.maxTsOffset, best.maxTs
	}
	return offset, timestamp
}

// maxTimestampFromStart is MaxTimestamp by reading every batch that reaches
// the start offset. Call with mu held.
func (l *Log) maxTimestampFromStart() (offset, timestamp int64) {
	var best record.Batch
	var bestBuf, buf []byte
	found := false
	for _, seg := range l.segments {
		if seg.next <= l.start {
			continue
		}
		for pos := int64(0); pos < seg.size; {
			b, nbuf, err := seg.readBatch(pos, buf)
			if err != nil {
				return -1, -1
			}
			buf = nbuf
			pos += int64(len(b.Raw))
			if b.LastOffset() >= l.start && (!found || b.MaxTimestamp > best.MaxTimestamp) {
				bestBuf = append(bestBuf[:0], b.Raw...)
				best, _ = record.Parse(bestBuf)
				found = true
			}
		}
	}
	if !found {
		return -1, -1
	}
	offset, timestamp, ok := firstRecordAtOrAfter(&best, best.MaxTimestamp, l.start)
	if !ok {
		return max(best.FirstOffset, l.start), best.MaxTimestamp
	}
	return offset, timestamp
}

// readBatch reads and validates the whole batch at pos, reusing buf.
func (s *segment) readBatch(pos int64, buf []byte) (record.Batch, []byte, error) {
	var hdr [hdrPrefix]byte
	h, err := readHeader(s.f, pos, s.size, hdr[:])
	if err != nil {
		return record.Batch{}, buf, err
	}
	if cap(buf) < h.size {
		buf = make([]byte, h.size)
	}
	buf = buf[:h.size]
	if _, err := s.f.ReadAt(buf, pos); err != nil {
		return record.Batch{}, buf, err
	}
	b, err := record.Parse(buf)
	return b, buf, err
}

// firstRecordAtOrAfter returns the offset and timestamp of the first record
// of b at or after offset from with timestamp >= ts, walking an uncompressed
// batch's records; ok is false when no such record is in b. For a
// compressed or LogAppendTime batch, or if the records do not frame (a
// batch whose header max timestamp lies), it returns the batch's base
// offset (or from, if later) and max timestamp.
func firstRecordAtOrAfter(b *record.Batch, ts, from int64) (offset, timestamp int64, ok bool) {
	if b.Compression() != 0 || b.Attributes&record.TimestampTypeBit != 0 {
		return max(b.FirstOffset, from), b.MaxTimestamp, true
	}
	// Record: length varint, attributes int8, timestamp delta varlong,
	// offset delta varint, then key, value and headers, which are skipped.
	recs := b.Records
	for len(recs) > 0 {
		length, w := binary.Varint(recs)
		if w <= 0 || length < 1 || int64(len(recs)-w) < length {
			break
		}
		body := recs[w : w+int(length)]
		recs = recs[w+int(length):]
		tsDelta, w1 := binary.Varint(body[1:])
		if w1 <= 0 {
			break
		}
		offDelta, w2 := binary.Varint(body[1+w1:])
		if w2 <= 0 {
			break
		}
		if t, o := b.FirstTimestamp+tsDelta, b.FirstOffset+offDelta; t >= ts && o >= from {
			return o, t, true
		}
	}
	if len(recs) > 0 {
		return max(b.FirstOffset, from), b.MaxTimestamp, true
	}
	return -1, -1, false
}
