package driver

import (
	"testing"
	"time"
)

// fakeClock advances only when told: Sleep adds to it, like a producer
// that is never late unless the test stalls it.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time        { return c.now }
func (c *fakeClock) Sleep(d time.Duration) { c.now = c.now.Add(d) }

// TestCoordinatedOmission drives the pacing loop at 1000 records/s for 10 s
// with a service time of 1 ms, and stalls one send for 500 ms (a broker
// pause: Produce blocks). The 500 records intended during the stall wait
// for it, so the corrected latency (from the intended send time) has a
// p99 near the stall; the uncorrected one (from the Produce call) sees a
// single slow record and keeps a 1 ms p99.
func TestCoordinatedOmission(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := &fakeClock{now: t0}
	const (
		rate    = 1000.0
		service = time.Millisecond
		stall   = 500 * time.Millisecond
	)
	end := t0.Add(10 * time.Second)
	st := newPubStats(window{from: t0, to: end})
	never := func() bool { return false }
	n := pace(clk, t0, rate, end, never, func(k int64, intended time.Time) {
		sent := clk.Now()
		if k == 3000 {
			clk.Sleep(stall) // the send blocks
		}
		st.ack(intended, sent, clk.Now().Add(service), 100)
	})
	if n != 10_000 || st.records != n {
		t.Fatalf("sent %d, measured %d, want 10000", n, st.records)
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	corrP99, uncP99 := ms(st.corrected.ValueAtQuantile(99)), ms(st.service.ValueAtQuantile(99))
	corrMax, uncMax := ms(st.corrected.Max()), ms(st.service.Max())
	t.Logf("corrected p99 %.1f ms max %.1f ms; uncorrected p99 %.1f ms max %.1f ms", corrP99, corrMax, uncP99, uncMax)
	// 500 of 10000 records (5%) are late by 1..500 ms: the top 1% by >= 400 ms.
	if corrP99 < 400 || corrP99 > 502 {
		t.Errorf("corrected p99 %.1f ms, want the stall (400-502 ms)", corrP99)
	}
	if uncP99 > 1.1 {
		t.Errorf("uncorrected p99 %.1f ms, want the 1 ms service time", uncP99)
	}
	if corrMax < 500 || uncMax < 500 {
		t.Errorf("max corrected %.1f, uncorrected %.1f ms: both must include the stalled record", corrMax, uncMax)
	}
	// The schedule caught up: no record was skipped and the last one was
	// sent on time.
	if got := clk.Now(); got.After(end) {
		t.Errorf("clock at %v after the end %v: the loop did not catch up", got.Sub(t0), end.Sub(t0))
	}
}

// TestPaceMaxRate: without a rate every record is intended when sent, so
// corrected and service latency agree.
func TestPaceMaxRate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := &fakeClock{now: t0}
	end := t0.Add(time.Second)
	st := newPubStats(window{from: t0, to: end})
	n := pace(clk, t0, 0, end, func() bool { return false }, func(k int64, intended time.Time) {
		clk.Sleep(100 * time.Microsecond)
		st.ack(intended, intended, clk.Now(), 1)
	})
	if n != 10_000 {
		t.Errorf("sent %d, want 10000", n)
	}
	if c, s := st.corrected.ValueAtQuantile(99), st.service.ValueAtQuantile(99); c != s {
		t.Errorf("corrected p99 %d != service p99 %d", c, s)
	}
}

// TestWindow: records intended outside the measured window are not measured.
func TestWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	st := newPubStats(window{from: t0.Add(time.Second), to: t0.Add(2 * time.Second)})
	for _, at := range []time.Duration{0, 999 * time.Millisecond, time.Second, 1999 * time.Millisecond, 2 * time.Second} {
		st.ack(t0.Add(at), t0.Add(at), t0.Add(at+time.Millisecond), 10)
	}
	if st.records != 2 || st.bytes != 20 {
		t.Errorf("measured %d records, %d bytes, want 2, 20", st.records, st.bytes)
	}
}
