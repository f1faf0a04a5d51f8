package html

import (
	"strconv"
	"time"

	"github.com/weir-dev/weir/reports/pipeline"
)

// PipelineRow is one latency measure of one stream workload in a run:
// HdrHistogram percentiles of package reports/pipeline's samples.
type PipelineRow struct {
	Workload, Measure, Definition string
	Samples, Unprocessed          string
	P50, P90, P99, P999, Max      string
}

// pipelineRows tables each workload's end-to-end latency and, for vitals,
// its alert delays.
func pipelineRows(ms []pipeline.Measure) []PipelineRow {
	var rows []PipelineRow
	for _, m := range ms {
		r := latencyRow(m.Samples)
		r.Workload, r.Measure, r.Definition = m.Workload, "end-to-end", m.Definition
		r.Unprocessed = strconv.Itoa(m.Unprocessed)
		rows = append(rows, r)
		if m.Workload == "vitals" {
			r := latencyRow(m.Alerts)
			r.Workload, r.Measure, r.Unprocessed = m.Workload, "alert delay", "–"
			r.Definition = "from a reading's acknowledged send to the commit request of the transaction that wrote its alert (the vitals-alert-latency checker's measure)"
			if m.AlertBound > 0 {
				r.Definition += "; bound " + m.AlertBound.String()
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func latencyRow(s []pipeline.Sample) PipelineRow {
	r := PipelineRow{Samples: strconv.Itoa(len(s)), P50: "–", P90: "–", P99: "–", P999: "–", Max: "–"}
	if len(s) == 0 {
		return r
	}
	h := pipeline.Histogram(s)
	q := func(p float64) string { return fmtMillis(time.Duration(h.ValueAtQuantile(p))) }
	r.P50, r.P90, r.P99, r.P999 = q(50), q(90), q(99), q(99.9)
	r.Max = fmtMillis(time.Duration(h.Max()))
	return r
}
