package html

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-dev/weir/reports/internal/synth"
)

// TestPipelineReport: a run of payments and vitals gets its latency table
// (HdrHistogram percentiles of synth.Pipeline's known samples) and its
// workload plots.
func TestPipelineReport(t *testing.T) {
	root := t.TempDir()
	if err := synth.Pipeline(filepath.Join(root, "runs", "seed-5"), 5); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "report")
	path, r, err := Write([]string{filepath.Join(root, "runs")}, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %v", r.Errors)
	}
	rows := r.Sims[0].Pipelines
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	// HdrHistogram with three significant digits reports the top of a
	// value's bucket: 2 s as 2000.7 ms, within 0.1%.
	want := []PipelineRow{
		{Workload: "payments", Measure: "end-to-end", Samples: "2", Unprocessed: "1", P50: "2000.7 ms", Max: "3001.0 ms"},
		{Workload: "vitals", Measure: "end-to-end", Samples: "1", Unprocessed: "0", P50: "1000.3 ms", Max: "1000.3 ms"},
		{Workload: "vitals", Measure: "alert delay", Samples: "1", Unprocessed: "–", P50: "900.2 ms", Max: "900.2 ms"},
	}
	for i, w := range want {
		g := rows[i]
		if g.Workload != w.Workload || g.Measure != w.Measure || g.Samples != w.Samples || g.Unprocessed != w.Unprocessed || g.P50 != w.P50 || g.Max != w.Max {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	if !strings.Contains(rows[2].Definition, "bound 5s") {
		t.Errorf("alert row's definition %q names no bound", rows[2].Definition)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if n := strings.Count(page, `<tr class="pipeline">`); n != 3 {
		t.Errorf("%d pipeline rows in the page, want 3", n)
	}
	for _, s := range []string{"2000.7 ms", "900.2 ms", "commit of the transaction that wrote its ledger entry"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, name := range []string{"wl-payments-e2e", "wl-payments-throughput", "wl-vitals-e2e", "wl-vitals-throughput", "wl-vitals-alert-delay"} {
		if !strings.Contains(page, name+".svg") {
			t.Errorf("page lacks plot %s", name)
		}
		if _, err := os.Stat(filepath.Join(out, r.Sims[0].ID, name+".png")); err != nil {
			t.Error(err)
		}
	}
}
