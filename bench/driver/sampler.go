package driver

import (
	"context"
	"sync"
	"time"
)

// sampler takes the per-second throughput series from the run's counters.
type sampler struct {
	start    time.Time
	win      window
	cnt      *counters
	progress func(Sample)

	mu      sync.Mutex
	drain   bool
	samples []Sample

	lastAt                          time.Time
	lastProd, lastBytes, lastConsum int64
}

func newSampler(start time.Time, win window, cnt *counters, progress func(Sample)) *sampler {
	return &sampler{start: start, win: win, cnt: cnt, progress: progress, lastAt: start}
}

func (s *sampler) setPhase(p string) {
	s.mu.Lock()
	s.drain = p == PhaseDrain
	s.mu.Unlock()
}

func (s *sampler) run(ctx context.Context) {
	if d := time.Until(s.start); d > 0 {
		time.Sleep(d)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.take(time.Now(), true)
			return
		case now := <-tick.C:
			s.take(now, false)
		}
	}
}

// take appends the sample for the interval ending at now; a final partial
// interval shorter than 100 ms is dropped.
func (s *sampler) take(now time.Time, final bool) {
	dt := now.Sub(s.lastAt).Seconds()
	if dt <= 0 || final && dt < 0.1 {
		return
	}
	prod, bytes, consum := s.cnt.produced.Load(), s.cnt.producedBytes.Load(), s.cnt.consumed.Load()
	s.mu.Lock()
	phase := PhaseMeasure
	switch {
	case s.drain:
		phase = PhaseDrain
	case s.lastAt.Add(now.Sub(s.lastAt) / 2).Before(s.win.from): // mostly warm-up
		phase = PhaseWarmup
	}
	smp := Sample{
		Sec:                   now.Sub(s.start).Seconds(),
		Phase:                 phase,
		ProducedRecordsPerSec: float64(prod-s.lastProd) / dt,
		ProducedMBPerSec:      float64(bytes-s.lastBytes) / dt / 1e6,
		ConsumedRecordsPerSec: float64(consum-s.lastConsum) / dt,
		TotalSec:              s.win.to.Sub(s.start).Seconds(),
	}
	s.samples = append(s.samples, smp)
	s.mu.Unlock()
	s.lastAt, s.lastProd, s.lastBytes, s.lastConsum = now, prod, bytes, consum
	if s.progress != nil {
		s.progress(smp)
	}
}

func (s *sampler) series() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}
