package workload

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/history"
)

// liveCounter follows the recorder as the run goes, for the progress
// line: acknowledged sends to the input topic, and records written to
// the output topic by operations that ended ok (an approximation of the
// processed rate: a clickstream summary counts once for its events).
type liveCounter struct {
	rec           *history.Recorder
	input, output string
	drain         atomic.Bool

	next              int
	prod, bytes, cons int64
}

func (l *liveCounter) setDrain() { l.drain.Store(true) }

// count reads the ops recorded since the last call.
func (l *liveCounter) count() {
	ops := l.rec.Since(l.next)
	l.next += len(ops)
	for i := range ops {
		op := &ops[i]
		if op.Type != history.OK {
			continue
		}
		for _, s := range op.Sends() {
			switch s.Topic {
			case l.input:
				l.prod++
				l.bytes += int64(len(s.Value))
			case l.output:
				l.cons++
			}
		}
	}
}

// run sends a sample about every second until ctx ends.
func (l *liveCounter) run(ctx context.Context, start time.Time, s spec.Spec, progress func(driver.Sample)) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	win := window{from: s.Warmup.D(), to: s.Warmup.D() + s.Duration.D()}
	last, lastAt := [3]int64{}, start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			l.count()
			dt := now.Sub(lastAt).Seconds()
			phase := win.phase(now.Sub(start) - time.Duration(dt*float64(time.Second)/2))
			if l.drain.Load() {
				phase = driver.PhaseDrain
			}
			progress(driver.Sample{
				Sec: now.Sub(start).Seconds(), Phase: phase,
				ProducedRecordsPerSec: float64(l.prod-last[0]) / dt,
				ProducedMBPerSec:      float64(l.bytes-last[1]) / dt / 1e6,
				ConsumedRecordsPerSec: float64(l.cons-last[2]) / dt,
				TotalSec:              Length(s).Seconds(),
			})
			last, lastAt = [3]int64{l.prod, l.bytes, l.cons}, now
		}
	}
}
