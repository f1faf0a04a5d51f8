package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

// File name suffixes of a segment.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	// tmpSuffix marks files a crash may leave half written.
	tmpSuffix = ".tmp"
)

// Entry sizes of the index files (Kafka's layout).
const (
	indexEntrySize     = 8  // relative offset (4), position (4)
	timeIndexEntrySize = 12 // timestamp (8), relative offset (4)
)

// Byte offsets of v2 batch header fields the log reads without a full parse.
// The v2 layout is fixed by the Kafka protocol; TestHeaderLayout checks these
// against record.Parse.
const (
	hdrLength          = 8
	hdrLastOffsetDelta = 23
	hdrMaxTimestamp    = 35
	// hdrPrefix is what Read needs to walk batches: base offset, length and
	// last offset delta.
	hdrPrefix = 27
)

// noTimestamp is Kafka's RecordBatch.NO_TIMESTAMP.
const noTimestamp = -1

// errOutOfSequence means a batch's base offset is not the offset after the
// previous batch where offsets must be dense, or not above it where the
// cleaner may have left gaps.
var errOutOfSequence = errors.New("log: batch out of sequence")

// indexEntry maps the base offset of a batch, relative to the segment's base
// offset, to the batch's position in the .log file.
//
// Kafka indexes a batch's last offset; Weir indexes its base offset, so that a
// fetch starting at a batch boundary (the usual case) lands on the indexed
// batch itself instead of scanning one batch forward. The file layout is
// Kafka's.
type indexEntry struct {
	rel uint32
	pos uint32
}

// timeEntry records that every batch appended before the entry was written
// has max timestamp <= ts, and that the batch at base offset rel (relative) is
// the first one to reach ts. So a search for the first record with timestamp
// >= t may start at that batch when ts <= t.
type timeEntry struct {
	ts  int64
	rel uint32
}

// segment is one .log file and its indexes. The indexes live in memory; they
// are written to .index/.timeindex when the segment is rolled, because
// recovery rebuilds the active segment's indexes from its data anyway.
type segment struct {
	base int64
	f    env.File
	size int64 // bytes of valid batches; the file holds exactly these
	next int64 // offset after the segment's last batch

	index  []indexEntry
	tindex []timeEntry
	// bytesSinceIndex counts the bytes appended since the last index entry,
	// including the indexed batch (Kafka's rule).
	bytesSinceIndex int

	// maxTs is the largest batch max timestamp in the segment and
	// maxTsOffset the base offset of the first batch that has it; -1 when
	// the segment holds no batch.
	maxTs       int64
	maxTsOffset int64

	// cachedFrom: the bytes from here to size may sit in the page cache
	// because this Log wrote them; the cache of those before was dropped
	// (Config.DropBehindBytes), or the segment predates Open and its cache
	// is not ours to drop. Guarded by Log.mu.
	cachedFrom int64
	// prealloc: the file's blocks are reserved up to here (0 when nothing is
	// known to be), see Log.preallocate. Guarded by Log.mu.
	prealloc int64

	// firstAppend is when the first batch was appended (or, after
	// recovery, when the log was opened): the start of the SegmentMs clock.
	firstAppend time.Time

	// swapping: a cleaned segment past its swap's commit point whose file
	// is not yet durably named <base>.log (swap.go); Durable reads it
	// without the log's locks.
	swapping atomic.Bool
}

func newSegment(base int64, f env.File) *segment {
	return &segment{base: base, f: f, next: base, maxTs: noTimestamp, maxTsOffset: -1}
}

func segmentName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// parseSegmentName splits "00000000000000000042.log" into (42, ".log").
func parseSegmentName(name string) (base int64, suffix string, ok bool) {
	if len(name) < 21 || name[20] != '.' {
		return 0, "", false
	}
	for _, c := range name[:20] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	base, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return base, name[20:], true
}

// track records a batch of size n at pos with the given offsets and max
// timestamp in the segment's memory state and indexes.
func (s *segment) track(base, last, maxTs, pos int64, n, interval int) {
	if s.maxTsOffset < 0 || maxTs > s.maxTs {
		s.maxTs, s.maxTsOffset = maxTs, base
	}
	if s.bytesSinceIndex > interval {
		s.index = append(s.index, indexEntry{rel: uint32(base - s.base), pos: uint32(pos)})
		s.appendTimeEntry()
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += n
	s.size = pos + int64(n)
	s.next = last + 1
}

// appendTimeEntry adds (maxTs, maxTsOffset) if it raises the timestamp: the
// time index is strictly increasing in timestamp.
func (s *segment) appendTimeEntry() {
	if s.maxTsOffset < 0 {
		return
	}
	if n := len(s.tindex); n > 0 && s.tindex[n-1].ts >= s.maxTs {
		return
	}
	s.tindex = append(s.tindex, timeEntry{ts: s.maxTs, rel: uint32(s.maxTsOffset - s.base)})
}

// lookup returns the position of the last indexed batch whose base offset is
// <= offset, or 0; the batch holding offset is there or after it.
func (s *segment) lookup(offset int64) int64 {
	rel := offset - s.base
	lo, hi := 0, len(s.index) // find the first entry with rel > offset
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int64(s.index[m].rel) <= rel {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0
	}
	return int64(s.index[lo-1].pos)
}

// lookupTime returns an offset from which to scan for the first record with
// timestamp >= ts: the batch of the last time entry with timestamp <= ts, or
// the segment's base.
func (s *segment) lookupTime(ts int64) int64 {
	lo, hi := 0, len(s.tindex)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.tindex[m].ts <= ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return s.base
	}
	return s.base + int64(s.tindex[lo-1].rel)
}

// resetIndexes forgets everything derived from the segment's data, before a
// rebuild.
func (s *segment) resetIndexes() {
	s.index, s.tindex = s.index[:0], s.tindex[:0]
	s.bytesSinceIndex = 0
	s.size, s.next = 0, s.base
	s.maxTs, s.maxTsOffset = noTimestamp, -1
}

// encodeIndex returns the .index file contents.
func (s *segment) encodeIndex() []byte {
	b := make([]byte, 0, len(s.index)*indexEntrySize)
	for _, e := range s.index {
		b = binary.BigEndian.AppendUint32(b, e.rel)
		b = binary.BigEndian.AppendUint32(b, e.pos)
	}
	return b
}

// encodeTimeIndex returns the .timeindex file contents.
func (s *segment) encodeTimeIndex() []byte {
	b := make([]byte, 0, len(s.tindex)*timeIndexEntrySize)
	for _, e := range s.tindex {
		b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
		b = binary.BigEndian.AppendUint32(b, e.rel)
	}
	return b
}

// decodeIndex parses .index contents for a segment whose data ends at size
// and offsets at next, and checks that the entries are strictly increasing
// and inside the segment.
func decodeIndex(b []byte, base, size, next int64) ([]indexEntry, error) {
	if len(b)%indexEntrySize != 0 {
		return nil, fmt.Errorf("index size %d is not a multiple of %d", len(b), indexEntrySize)
	}
	out := make([]indexEntry, 0, len(b)/indexEntrySize)
	for i := 0; i < len(b); i += indexEntrySize {
		e := indexEntry{rel: binary.BigEndian.Uint32(b[i:]), pos: binary.BigEndian.Uint32(b[i+4:])}
		if n := len(out); n > 0 && (e.rel <= out[n-1].rel || e.pos <= out[n-1].pos) {
			return nil, fmt.Errorf("index entry %d (%d@%d) does not increase", n, e.rel, e.pos)
		}
		if base+int64(e.rel) >= next || int64(e.pos)+record.HeaderSize > size {
			return nil, fmt.Errorf("index entry %d@%d is outside the segment", e.rel, e.pos)
		}
		out = append(out, e)
	}
	return out, nil
}

// decodeTimeIndex parses .timeindex contents; timestamps must strictly
// increase and offsets must not decrease.
func decodeTimeIndex(b []byte, base, next int64) ([]timeEntry, error) {
	if len(b)%timeIndexEntrySize != 0 {
		return nil, fmt.Errorf("time index size %d is not a multiple of %d", len(b), timeIndexEntrySize)
	}
	out := make([]timeEntry, 0, len(b)/timeIndexEntrySize)
	for i := 0; i < len(b); i += timeIndexEntrySize {
		e := timeEntry{ts: int64(binary.BigEndian.Uint64(b[i:])), rel: binary.BigEndian.Uint32(b[i+8:])}
		if n := len(out); n > 0 && (e.ts <= out[n-1].ts || e.rel < out[n-1].rel) {
			return nil, fmt.Errorf("time index entry %d does not increase", n)
		}
		if base+int64(e.rel) >= next {
			return nil, fmt.Errorf("time index entry for offset %d is outside the segment", base+int64(e.rel))
		}
		out = append(out, e)
	}
	return out, nil
}

// header is what Read needs from a batch header.
type header struct {
	base int64
	size int
	last int64
}

// readHeader reads the batch header at pos of a segment whose valid data
// ends at limit, checking only what is needed to walk batches safely.
func readHeader(f env.File, pos, limit int64, buf []byte) (header, error) {
	if limit-pos < record.HeaderSize {
		return header{}, fmt.Errorf("%w: %d bytes left at position %d", record.ErrCorrupt, limit-pos, pos)
	}
	if _, err := f.ReadAt(buf[:hdrPrefix], pos); err != nil {
		return header{}, err
	}
	h := header{
		base: int64(binary.BigEndian.Uint64(buf)),
		size: 12 + int(int32(binary.BigEndian.Uint32(buf[hdrLength:]))),
	}
	delta := int64(int32(binary.BigEndian.Uint32(buf[hdrLastOffsetDelta:])))
	if h.size < record.HeaderSize || int64(h.size) > limit-pos || delta < 0 || h.base > math.MaxInt64-delta {
		return header{}, fmt.Errorf("%w: header at position %d", record.ErrCorrupt, pos)
	}
	h.last = h.base + delta
	return h, nil
}

// scanner parses a segment's batches sequentially through one reusable
// buffer, so recovery reads a segment in large chunks rather than batch by
// batch.
type scanner struct {
	buf []byte
	// gapsBelow: a batch whose base offset is below it may follow a gap
	// the cleaner left (Log.cleanedTo); at or above it offsets are dense.
	gapsBelow int64
}

// scanChunk is the read size of a scan; a larger batch grows the buffer.
const scanChunk = 1 << 20

// scanResult says where a scan ended.
type scanResult struct {
	end  int64 // position after the last valid batch
	next int64 // offset after the last valid batch
	// stop says why the scan ended before its limit: a torn, corrupt or
	// out-of-sequence batch. nil when the batches reached the limit exactly.
	stop error
}

// scan parses the batches of f from pos up to limit, the first expected at
// offset next, calling fn for each batch that passes record.Parse and is in
// sequence. fn's batch aliases the scanner's buffer. Only I/O errors are
// returned as err.
func (sc *scanner) scan(f env.File, pos, limit, next int64, fn func(b *record.Batch, pos int64)) (scanResult, error) {
	bufPos := pos // file position of sc.buf[0]
	n, off := 0, 0
	buf := sc.buf
	for {
		at := bufPos + int64(off)
		if at >= limit {
			return scanResult{end: at, next: next}, nil
		}
		rem := buf[off:n]
		need := hdrLength + 9 // enough for record.PeekSize
		size := 0
		if len(rem) >= need {
			var err error
			if size, err = record.PeekSize(rem); err != nil {
				return scanResult{end: at, next: next, stop: err}, nil
			}
			need = size
		}
		if int64(need) > limit-at {
			return scanResult{end: at, next: next, stop: record.ErrTruncated}, nil
		}
		if len(rem) < need {
			// Refill: keep the partial batch, read the next chunk after it.
			if cap(buf) < need {
				buf = make([]byte, max(need, min(scanChunk, int(limit-pos))))
				sc.buf = buf
			}
			buf = buf[:cap(buf)]
			copy(buf, rem)
			n, off, bufPos = len(rem), 0, at
			want := int(min(int64(len(buf)), limit-bufPos))
			m, err := f.ReadAt(buf[n:want], bufPos+int64(n))
			n += m
			if n < want {
				if err != nil && !errors.Is(err, io.EOF) {
					return scanResult{}, err
				}
				// The file is shorter than its caller thought: whatever
				// was promised past here is torn.
				limit = bufPos + int64(n)
			}
			continue
		}
		b, err := record.Parse(rem)
		if err != nil {
			return scanResult{end: at, next: next, stop: err}, nil
		}
		if b.FirstOffset != next {
			if b.FirstOffset < next || b.FirstOffset >= sc.gapsBelow {
				return scanResult{end: at, next: next, stop: fmt.Errorf("%w: base offset %d, expected %d", errOutOfSequence, b.FirstOffset, next)}, nil
			}
			// A gap the cleaner may have left. The base offset is outside
			// the CRC: a second read must agree before it is believed.
			ok, err := sameBase(f, at, b.FirstOffset)
			if err != nil {
				return scanResult{}, err
			}
			if !ok {
				return scanResult{end: at, next: next, stop: fmt.Errorf("%w: two reads of the base offset at position %d disagree", record.ErrCorrupt, at)}, nil
			}
		}
		if b.FirstOffset > math.MaxInt64-int64(b.LastOffsetDelta)-1 {
			return scanResult{end: at, next: next, stop: fmt.Errorf("%w: offsets overflow", record.ErrCorrupt)}, nil
		}
		fn(&b, at)
		next = b.LastOffset() + 1
		off += size
	}
}
