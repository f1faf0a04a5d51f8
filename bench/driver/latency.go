package driver

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// MaxLatency is the largest latency a histogram holds; larger ones are
// clamped to it.
const MaxLatency = 60 * time.Second

// NewHistogram returns a latency histogram of nanoseconds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(MaxLatency), 3)
}

func recordNs(h *hdrhistogram.Histogram, d time.Duration) {
	h.RecordValue(min(max(int64(d), 1), int64(MaxLatency))) // in range: cannot fail
}

// Clock is the time source of the pacing loop; tests replace it.
type Clock interface {
	Now() time.Time
	// Sleep waits for d (d > 0).
	Sleep(d time.Duration)
}

type realClock struct{}

func (realClock) Now() time.Time        { return time.Now() }
func (realClock) Sleep(d time.Duration) { time.Sleep(d) }

// pace calls send for k = 0, 1, ... with the record's intended send time,
// until the intended time reaches end or stop returns true (checked every
// 256 records and after every sleep). With rate > 0, record k is intended
// at start + k/rate: pace sleeps while it is ahead of the schedule and
// never skips a record when behind (it sends the overdue ones back to back),
// so a stall shows up in the latency of every record intended during it.
// With rate == 0 the intended time is the clock when send is called. It
// returns the number of records sent.
func pace(clk Clock, start time.Time, rate float64, end time.Time, stop func() bool, send func(k int64, intended time.Time)) int64 {
	var k int64
	for ; ; k++ {
		if k&255 == 0 && stop() {
			return k
		}
		var intended time.Time
		if rate > 0 {
			intended = start.Add(time.Duration(float64(k) * 1e9 / rate))
			if !intended.Before(end) {
				return k
			}
			if now := clk.Now(); now.Before(intended) {
				clk.Sleep(intended.Sub(now))
				if stop() {
					return k
				}
			}
		} else {
			intended = clk.Now()
			if !intended.Before(end) {
				return k
			}
		}
		send(k, intended)
	}
}

// window is the measured interval of intended send times.
type window struct{ from, to time.Time }

func (w window) holds(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

// pubStats is one producer's measurements, guarded by mu: written by the
// promises, read after the producer flushed.
type pubStats struct {
	mu        sync.Mutex
	win       window
	corrected *hdrhistogram.Histogram // intended send -> ack
	service   *hdrhistogram.Histogram // Produce call -> ack
	records   int64                   // measured, acknowledged
	bytes     int64                   // their value bytes
	lastAck   time.Time               // of a measured record
	errs      int64
	firstErr  error
}

func newPubStats(w window) *pubStats {
	return &pubStats{win: w, corrected: NewHistogram(), service: NewHistogram()}
}

// ack records one acknowledged record: intended is its scheduled send
// time, sent the Produce call, acked the acknowledgement. Call with mu held.
func (p *pubStats) ack(intended, sent, acked time.Time, valueBytes int) {
	if !p.win.holds(intended) {
		return
	}
	recordNs(p.corrected, acked.Sub(intended))
	recordNs(p.service, acked.Sub(sent))
	p.records++
	p.bytes += int64(valueBytes)
	if acked.After(p.lastAck) {
		p.lastAck = acked
	}
}
