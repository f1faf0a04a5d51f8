package results

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// synth is a results file whose target "embedded" has one run per rate,
// each with the given publish and end-to-end p99 (other percentiles
// derived from it).
func synth(rates []float64, p99 float64) *File {
	f := &File{SchemaVersion: SchemaVersion, Targets: []Target{{Name: "embedded"}, {Name: "null", ConsumersSkipped: "no fetch"}}}
	for _, r := range rates {
		l := Latency{Count: 1000, P50: p99 / 4, P99: p99, P999: p99 * 1.5, Max: p99 * 2}
		e2e := l
		f.Targets[0].Runs = append(f.Targets[0].Runs, Run{
			ProducedRecordsPerSec: r, ProducedMBPerSec: r / 1e4, ConsumedRecordsPerSec: r,
			PublishLatency: l, EndToEndLatency: &e2e,
		})
		f.Targets[1].Runs = append(f.Targets[1].Runs, Run{
			ProducedRecordsPerSec: 2 * r, ProducedMBPerSec: r / 5e3, PublishLatency: l, ConsumersSkipped: "no fetch",
		})
	}
	f.Finish()
	return f
}

func verdicts(c *Comparison, verdict string) []string {
	var out []string
	for _, r := range c.Rows {
		if r.Verdict == verdict {
			out = append(out, r.Target+" "+r.Metric)
		}
	}
	return out
}

func printed(c *Comparison) string {
	var b strings.Builder
	c.Print(&b)
	return b.String()
}

func TestCompareSelfPasses(t *testing.T) {
	f := synth([]float64{100_000, 103_000, 98_000}, 10)
	c := Compare(f, f, 0.05)
	if c.Regressed() || len(c.Rows) == 0 {
		t.Fatalf("self comparison:\n%s", printed(c))
	}
	if out := printed(c); !strings.Contains(out, "PASS") {
		t.Errorf("no PASS line:\n%s", out)
	}
}

// TestCompareRerunWithinNoise: a rerun whose every run is within a few
// percent of the baseline's passes.
func TestCompareRerunWithinNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := func(v float64) float64 { return v * (1 + (rng.Float64()-0.5)*0.06) } // +-3%
	var base, rerun []float64
	for range 5 {
		base = append(base, jitter(100_000))
		rerun = append(rerun, jitter(100_000))
	}
	c := Compare(synth(base, 10), synth(rerun, jitter(10)), 0.05)
	if c.Regressed() {
		t.Fatalf("rerun within noise regressed:\n%s", printed(c))
	}
}

func TestCompareThroughputRegression(t *testing.T) {
	base := synth([]float64{100_000, 102_000, 99_000}, 10)
	cur := synth([]float64{80_000, 81_000, 79_500}, 10) // -20%
	c := Compare(base, cur, 0.05)
	if !c.Regressed() {
		t.Fatalf("20%% throughput drop not flagged:\n%s", printed(c))
	}
	got := strings.Join(verdicts(c, VerdictRegression), ",")
	for _, want := range []string{"embedded produced_records_per_sec", "embedded consumed_records_per_sec", "null produced_records_per_sec"} {
		if !strings.Contains(got, want) {
			t.Errorf("regressions %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "p99") {
		t.Errorf("latency flagged though unchanged: %s", got)
	}
	if out := printed(c); !strings.Contains(out, "FAIL") || !strings.Contains(out, "-20.") {
		t.Errorf("table:\n%s", out)
	}
}

func TestCompareLatencyRegression(t *testing.T) {
	base := synth([]float64{100_000, 100_000, 100_000}, 10)
	cur := synth([]float64{100_000, 100_000, 100_000}, 13) // p99 +30%
	c := Compare(base, cur, 0.05)
	got := strings.Join(verdicts(c, VerdictRegression), ",")
	if !strings.Contains(got, "embedded publish_p99_ms") || !strings.Contains(got, "embedded e2e_p99_ms") {
		t.Fatalf("latency rise not flagged (%s):\n%s", got, printed(c))
	}
	if strings.Contains(got, "max") {
		t.Errorf("max latency must not gate: %s", got)
	}
	// And the other way round it is an improvement, not a regression.
	if c := Compare(cur, base, 0.05); c.Regressed() || len(verdicts(c, VerdictImproved)) == 0 {
		t.Errorf("latency drop:\n%s", printed(c))
	}
}

// TestCompareNoisyBaseline: a 10% drop is not a regression when the
// baseline runs themselves spread over 30%, and is one with a single-run
// (spread 0) baseline.
func TestCompareNoisyBaseline(t *testing.T) {
	cur := synth([]float64{90_000}, 10)
	if c := Compare(synth([]float64{85_000, 100_000, 115_000}, 10), cur, 0.05); c.Regressed() {
		t.Errorf("drop within the baseline's spread flagged:\n%s", printed(c))
	}
	if c := Compare(synth([]float64{100_000}, 10), cur, 0.05); !c.Regressed() {
		t.Errorf("10%% drop from a single-run baseline not flagged:\n%s", printed(c))
	}
}

func TestCompareMissingTarget(t *testing.T) {
	base := synth([]float64{1000}, 1)
	cur := synth([]float64{1000}, 1)
	cur.Targets = cur.Targets[:1]
	c := Compare(base, cur, 0.05)
	if c.Regressed() || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "null is only in the baseline") {
		t.Errorf("notes %q", c.Notes)
	}
}

func TestMedianSpread(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median %v", m)
	}
	if s := spread([]float64{90, 100, 110}); s != 0.2 {
		t.Errorf("spread %v", s)
	}
	if s := spread([]float64{5}); s != 0 {
		t.Errorf("spread of one %v", s)
	}
}

// TestWorkloadAlertMetrics: a vitals run's alert delays are metrics that
// gate a comparison; a run without them has none.
func TestWorkloadAlertMetrics(t *testing.T) {
	run := func(alertP99 float64) Run {
		r := Run{ProducedRecordsPerSec: 100, PublishLatency: Latency{P50: 1, P99: 2, P999: 3, Max: 4},
			Workload: &WorkloadRun{Name: "vitals"}}
		if alertP99 > 0 {
			r.Workload.AlertLatency = &Latency{Count: 5, P50: alertP99 / 2, P99: alertP99, Max: alertP99}
		}
		return r
	}
	if _, ok := (&Run{ProducedRecordsPerSec: 1, Workload: &WorkloadRun{Name: "payments"}}).Values()["alert_p99_ms"]; ok {
		t.Error("a run without alerts has an alert metric")
	}
	file := func(alertP99 float64) *File {
		f := &File{Targets: []Target{{Name: "embedded", Runs: []Run{run(alertP99)}}}}
		f.Finish()
		return f
	}
	c := Compare(file(100), file(150), 0.1)
	var row *Row
	for i := range c.Rows {
		if c.Rows[i].Metric == "alert_p99_ms" {
			row = &c.Rows[i]
		}
	}
	if row == nil || row.Verdict != VerdictRegression || !c.Regressed() {
		t.Errorf("alert p99 100 -> 150 ms: row %+v, regressed %v", row, c.Regressed())
	}
}
