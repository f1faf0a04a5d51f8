package broker

import (
	"fmt"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/internal/invariants"
)

// The broker's invariant checks, compiled in only with -tags invariants
// (every call site is guarded by invariants.Enabled). A failed check is
// reported through Deps.Breach and the broker goes on: the simulator wants
// the run's verdict, not a panic.

// breach reports a broken invariant to Deps.Breach, or logs it when nobody
// collects breaches.
func (b *Broker) breach(name, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	if b.breachHook != nil {
		b.breachHook(name, detail)
		return
	}
	b.log.Error("invariant broken", "invariant", name, "detail", detail)
}

// checkDurableRead: with weir.fsync.acks.all on, the n bytes a fetch at
// offset serves from span must be durable on the disk now (when the file
// system can tell: env.SyncProber).
func (p *partition) checkDurableRead(offset int64, span wlog.Span, n int) {
	if !p.b.cfg.FsyncAcksAll || n == 0 {
		return
	}
	durable, err := p.log.Durable(span, n)
	if err != nil {
		// The disk is gone (a crash under way): no breach.
		return
	}
	if !durable {
		p.b.breach(invariants.UndurableRead, "fetch of %s-%d at offset %d served %d bytes not yet durable (synced offset %d, high watermark %d)",
			p.topic, p.index, offset, n, p.log.SyncedOffset(), p.highWatermark())
	}
}

// checkHighWatermark: with weir.fsync.acks.all on, the high watermark never
// passes the synced offset. Call before moving it to offset.
func (p *partition) checkHighWatermark(offset int64) {
	if !p.b.cfg.FsyncAcksAll {
		return
	}
	if synced := p.log.SyncedOffset(); offset > synced {
		p.b.breach(invariants.UnsyncedHighWatermark, "%s-%d: high watermark moves to %d past the synced offset %d", p.topic, p.index, offset, synced)
	}
}

// checkDenseAppend: a batch of records offsets [base, base+delta] appended
// when the log ended at prevEnd must start there and leave the end just
// after it. Call with p.mu held, right after the append.
func (p *partition) checkDenseAppend(prevEnd, base int64, delta int32) {
	end := p.log.EndOffset()
	if base != prevEnd || end != base+int64(delta)+1 {
		p.b.breach(invariants.SparseOffsets, "%s-%d: a batch of %d records appended at %d when the log ended at %d leaves the end at %d, want %d",
			p.topic, p.index, int64(delta)+1, base, prevEnd, end, base+int64(delta)+1)
	}
}
