package partition

import (
	"fmt"
	"slices"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/internal/invariants"
)

// The partition's invariant checks, compiled in only with -tags invariants
// (every call site is guarded by invariants.Enabled). A failed check is
// reported through Deps.Breach and the broker goes on: the simulator wants
// the run's verdict, not a panic.

// breach reports a broken invariant to Deps.Breach, or logs it when nobody
// collects breaches.
func (p *Partition) breach(name, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	if p.breachHook != nil {
		p.breachHook(name, detail)
		return
	}
	p.logger.Error("invariant broken", "invariant", name, "detail", detail)
}

// checkDurableRead: with weir.fsync.acks.all on, the n bytes a fetch at
// offset serves from span must be durable on the disk now (when the file
// system can tell: env.SyncProber).
func (p *Partition) checkDurableRead(offset int64, span wlog.Span, n int) {
	if !p.cfg.FsyncAcksAll || n == 0 {
		return
	}
	durable, err := p.log.Durable(span, n)
	if err != nil {
		// The disk is gone (a crash under way): no breach.
		return
	}
	if !durable {
		p.breach(invariants.UndurableRead, "fetch of %s-%d at offset %d served %d bytes not yet durable (synced offset %d, high watermark %d)",
			p.topic, p.index, offset, n, p.log.SyncedOffset(), p.HighWatermark())
	}
}

// checkHighWatermark: with weir.fsync.acks.all on, the high watermark never
// passes the synced offset. Call before moving it to offset.
func (p *Partition) checkHighWatermark(offset int64) {
	if !p.cfg.FsyncAcksAll {
		return
	}
	if synced := p.log.SyncedOffset(); offset > synced {
		p.breach(invariants.UnsyncedHighWatermark, "%s-%d: high watermark moves to %d past the synced offset %d", p.topic, p.index, offset, synced)
	}
}

// checkDenseAppend: a batch of records offsets [base, base+delta] appended
// when the log ended at prevEnd must start there and leave the end just
// after it. Call with p.mu held, right after the append.
func (p *Partition) checkDenseAppend(prevEnd, base int64, delta int32) {
	end := p.log.EndOffset()
	if base != prevEnd || end != base+int64(delta)+1 {
		p.breach(invariants.SparseOffsets, "%s-%d: a batch of %d records appended at %d when the log ended at %d leaves the end at %d, want %d",
			p.topic, p.index, int64(delta)+1, base, prevEnd, end, base+int64(delta)+1)
	}
}

// checkLeaderISR: the ISR the leader counts (its maximal ISR) holds every
// member of the ISR its metadata image committed at the leader's own
// partition epoch. A leader may count more (an expansion in flight) and
// may be ahead of its image (the controller accepted a change the image
// has not applied yet: the partition epochs differ), but never fewer at
// the same epoch: that is an ISR shrink applied before the controller
// accepted it. Call with mu held, on a leader.
func (p *Partition) checkLeaderISR() {
	l := p.rep.leader
	if l == nil {
		return
	}
	// Every fetch and append runs this: no copy of the ISR unless a
	// member is missing.
	if p.rep.assigned.PartitionEpoch != l.PartitionEpoch() ||
		!slices.ContainsFunc(p.rep.assigned.ISR, func(id int32) bool { return !l.InMaximalISR(id) }) {
		return
	}
	if missing := unfencedISR(p.rep.assigned, l.PartitionEpoch(), l.MaximalISR()); len(missing) > 0 {
		p.breach(invariants.UnfencedISR, "%s-%d: the leader counts the ISR %v at partition epoch %d, without %v of the committed ISR %v",
			p.topic, p.index, l.MaximalISR(), l.PartitionEpoch(), missing, p.rep.assigned.ISR)
	}
}

// unfencedISR returns the members of the committed assignment's ISR that
// the leader's maximal ISR lacks at the same partition epoch; nil when
// the epochs differ.
func unfencedISR(committed replica.Assignment, leaderPartitionEpoch int32, maximal []int32) []int32 {
	if committed.PartitionEpoch != leaderPartitionEpoch {
		return nil
	}
	var missing []int32
	for _, id := range committed.ISR {
		if !slices.Contains(maximal, id) {
			missing = append(missing, id)
		}
	}
	return missing
}
