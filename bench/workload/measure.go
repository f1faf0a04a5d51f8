package workload

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/reports/pipeline"
	"github.com/weir-dev/weir/workloads/hist"
)

// window is the measured interval, in history time.
type window struct{ from, to time.Duration }

func (w window) holds(t time.Duration) bool { return t >= w.from && t < w.to }

// phase is the phase of history time t in a run of the given length
// (warm-up, measured window, then cooldown and drain).
func (w window) phase(t time.Duration) string {
	switch {
	case t < w.from:
		return driver.PhaseWarmup
	case t < w.to:
		return driver.PhaseMeasure
	}
	return driver.PhaseDrain
}

// measure turns a run's history and its pipeline measure into a result;
// length is the safety phase's planned length.
func measure(ops []history.Op, m pipeline.Measure, win window, length time.Duration) *Result {
	origin := pipeline.Origin(ops)
	at := func(i int64) time.Duration { return time.Duration(ops[i].Time - origin) }
	b := &driver.Result{Publish: driver.NewHistogram(), PublishService: driver.NewHistogram(), EndToEnd: driver.NewHistogram()}
	res := &Result{Bench: b, Input: m.Input, Output: m.Output, Definition: m.Definition,
		Unprocessed: m.Unprocessed, AlertBound: m.AlertBound}
	sec := newSeries(win, length)

	// Produced: the input topic's sends. Barriers are sent by Finish,
	// after the window, so none is measured; the series shows them in
	// the drain.
	for _, sd := range hist.Sends(ops) {
		if sd.Send.Topic != m.Input {
			continue
		}
		if !sd.Acked() {
			if win.holds(at(sd.Invoke)) {
				b.ProduceErrors++
			}
			continue
		}
		acked := at(sd.Op)
		sec.produced(acked, len(sd.Send.Value))
		if !win.holds(acked) {
			continue
		}
		lat := acked - at(sd.Invoke)
		recordNs(b.Publish, lat)
		recordNs(b.PublishService, lat)
		b.ProducedRecords++
		b.ProducedBytes += int64(len(sd.Send.Value))
	}
	b.ProduceSec = (win.to - win.from).Seconds()

	// Processed: the input records acknowledged in the window whose
	// output was committed, whenever it was.
	var last time.Duration
	for _, smp := range m.Samples {
		sec.consumed(smp.At)
		if !win.holds(smp.At - smp.Latency) {
			continue
		}
		recordNs(b.EndToEnd, smp.Latency)
		b.ConsumedRecords++
		last = max(last, smp.At)
	}
	if b.ConsumedRecords > 0 {
		b.ConsumeSec = (last - win.from).Seconds()
	}
	if m.Alerts != nil || m.AlertBound > 0 {
		res.Alerts = driver.NewHistogram()
		for _, a := range m.Alerts {
			if win.holds(a.At - a.Latency) {
				recordNs(res.Alerts, a.Latency)
			}
		}
	}
	b.Series = sec.samples()
	return res
}

func recordNs(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(int64(d), 1), int64(driver.MaxLatency))) // in range: cannot fail
}

// series counts acknowledged input sends and processed records per
// second of the run.
type series struct {
	win               window
	length            time.Duration
	prod, bytes, cons []float64
}

func newSeries(win window, length time.Duration) *series {
	return &series{win: win, length: length}
}

func (s *series) grow(t time.Duration) int {
	i := max(int(t/time.Second), 0)
	for len(s.prod) <= i {
		s.prod, s.bytes, s.cons = append(s.prod, 0), append(s.bytes, 0), append(s.cons, 0)
	}
	return i
}

func (s *series) produced(t time.Duration, bytes int) {
	i := s.grow(t)
	s.prod[i]++
	s.bytes[i] += float64(bytes)
}

func (s *series) consumed(t time.Duration) { s.cons[s.grow(t)]++ }

// samples returns one sample per second, each at the end of its second.
func (s *series) samples() []driver.Sample {
	out := make([]driver.Sample, len(s.prod))
	total := math.Max(s.length.Seconds(), float64(len(s.prod)))
	for i := range out {
		mid := time.Duration(i)*time.Second + time.Second/2
		out[i] = driver.Sample{
			Sec: float64(i + 1), Phase: s.win.phase(mid),
			ProducedRecordsPerSec: s.prod[i], ProducedMBPerSec: s.bytes[i] / 1e6,
			ConsumedRecordsPerSec: s.cons[i], TotalSec: total,
		}
	}
	return out
}
