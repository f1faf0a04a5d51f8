package partition

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/internal/invariants"
)

// What a partition answers to readers: consumers' fetches, ListOffsets,
// and the few facts handlers and the coordinators' loaders ask for.

// Topic, Index and TopicID name the partition.
func (p *Partition) Topic() string     { return p.topic }
func (p *Partition) Index() int32      { return p.index }
func (p *Partition) TopicID() [16]byte { return p.rep.tp.TopicID }

// Err is the storage error that took the partition offline, or nil.
func (p *Partition) Err() error {
	if errp := p.failure.Load(); errp != nil {
		return *errp
	}
	return nil
}

// Failed is closed when the partition's storage fails.
func (p *Partition) Failed() <-chan struct{} { return p.rep.failed }

// Leading reports whether this broker leads the partition (in
// LeaderEpoch), as the reconciler last set it.
func (p *Partition) Leading() bool { return p.leading.Load() }

// LeaderEpoch is the leader epoch this replica last learned: the one it
// leads in, or the one of the leader it follows.
func (p *Partition) LeaderEpoch() int32 { return p.leaderEpoch.Load() }

// StartOffset and EndOffset are the log's.
func (p *Partition) StartOffset() int64 { return p.log.StartOffset() }
func (p *Partition) EndOffset() int64   { return p.log.EndOffset() }

// Size is the log's size in bytes.
func (p *Partition) Size() int64 { return p.log.Size() }

// Batches calls fn on every batch of the log from offset from, in order
// (a coordinator loading its state from its partition).
func (p *Partition) Batches(from int64, fn func(*record.Batch) error) error {
	return p.log.Batches(from, fn)
}

// ReadForConsumer answers one partition of a consumer's Fetch on the
// leader into sp: the high watermark, the last stable offset and the log
// start, and up to limit bytes of whole batches from offset, below the high
// watermark (readCommitted: below the last stable offset, with the aborted
// transactions of what it read). It returns the record bytes read; limit
// <= 0 reads none. The caller has checked leadership and the partition's
// health, and watches the high watermark before calling (Watch), so that no
// change is missed.
func (p *Partition) ReadForConsumer(offset int64, limit int, readCommitted bool, sp *kmsg.FetchResponseTopicPartition) int {
	if p.EpochStartPending() {
		// A new leader whose high watermark is still below where its
		// epoch began would show consumers a high watermark older than
		// one the previous leader may have served them. Like a behind
		// in-sync replica under KIP-392, it answers OFFSET_NOT_AVAILABLE,
		// which clients retry, until its ISR has caught it up (a fetch
		// or two).
		sp.ErrorCode = kerr.OffsetNotAvailable.Code
		return 0
	}
	hw := p.HighWatermark()
	// read_committed reads up to the last stable offset (txn.go).
	lso := p.LastStableOffset()
	readTo := hw
	if readCommitted {
		readTo = lso
	}
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = hw, lso, p.log.StartOffset()
	if limit <= 0 {
		return 0
	}
	data, span, err := p.log.ReadBoundedSpan(offset, limit, readTo)
	switch {
	case errors.Is(err, wlog.ErrOffsetOutOfRange):
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
	case err != nil:
		sp.ErrorCode = kerr.KafkaStorageError.Code
		p.logger.Error("fetch read failed", "topic", p.topic, "partition", p.index, "err", err)
	case data != nil:
		if p.cfg.Defects.FetchSkipsBatch {
			data, span = skipsFirstBatch(data, span)
		}
		if invariants.Enabled {
			p.checkDurableRead(offset, span, len(data))
		}
		sp.RecordBatches = data
		if readCommitted {
			sp.AbortedTransactions = abortedTransactions(p.abortedIn(offset, data))
		}
		return len(data)
	}
	return 0
}

// skipsFirstBatch is the fetch-skips-batch defect: of a read that holds
// more than one batch, drop the first when its base offset is 3 mod 4, so
// that about a quarter of such fetches skip offsets. It returns what to
// serve and where it lies.
func skipsFirstBatch(data []byte, span wlog.Span) ([]byte, wlog.Span) {
	size, err := record.PeekSize(data)
	if err != nil || size >= len(data) {
		return data, span
	}
	first, err := record.Parse(data[:size])
	if err != nil || first.FirstOffset%4 != 3 {
		return data, span
	}
	return data[size:], span.Skip(size) // DEFECT: the first batch is never served
}

// The special timestamps of ListOffsets.
const (
	ListLatest        = -1
	ListEarliest      = -2
	ListMaxTimestamp  = -3
	ListEarliestLocal = -4
	ListLatestTiered  = -5
)

// ListOffset answers one ListOffsets query: (-1, -1) when no record matches.
// Only records below the high watermark are visible, or, for
// read_committed, below the last stable offset.
func (p *Partition) ListOffset(ts int64, readCommitted bool) (offset, timestamp int64) {
	hw := p.HighWatermark()
	if readCommitted {
		hw = p.LastStableOffset()
	}
	switch ts {
	case ListLatest, ListLatestTiered:
		return hw, -1
	case ListEarliest, ListEarliestLocal:
		return p.log.StartOffset(), -1
	case ListMaxTimestamp:
		off, mts := p.log.MaxTimestamp()
		if off < 0 || off >= hw {
			return -1, -1
		}
		return off, mts
	}
	if ts < 0 {
		return -1, -1
	}
	off, found, ok := p.log.OffsetForTimestamp(ts)
	if !ok || off >= hw {
		return -1, -1
	}
	return off, found
}
