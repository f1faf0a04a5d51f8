package results

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Verdicts of a compared metric.
const (
	VerdictOK         = "ok"
	VerdictRegression = "REGRESSION"
	VerdictImproved   = "improved"
	VerdictInfo       = "info" // not gated
	VerdictMissing    = "missing"
)

// Row is one compared metric of one target.
type Row struct {
	Target, Metric string
	Base, New      float64
	// Worse is the relative change for the worse (positive: worse; a
	// throughput drop or a latency rise), BaseSpread the baseline's
	// (max-min)/median, BaseRuns/NewRuns the number of runs compared.
	Worse, BaseSpread float64
	BaseRuns, NewRuns int
	Verdict           string
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Threshold float64
	Rows      []Row
	// Notes are targets present in only one file.
	Notes []string
}

// Regressed reports whether any gated metric regressed.
func (c *Comparison) Regressed() bool {
	for _, r := range c.Rows {
		if r.Verdict == VerdictRegression {
			return true
		}
	}
	return false
}

// Compare compares new against base; threshold is a fraction (0.05 = 5%).
func Compare(base, new *File, threshold float64) *Comparison {
	c := &Comparison{Threshold: threshold}
	newByName := map[string]*Target{}
	for i := range new.Targets {
		newByName[new.Targets[i].Name] = &new.Targets[i]
	}
	seen := map[string]bool{}
	for i := range base.Targets {
		bt := &base.Targets[i]
		nt := newByName[bt.Name]
		if nt == nil {
			c.Notes = append(c.Notes, fmt.Sprintf("target %s is only in the baseline", bt.Name))
			continue
		}
		seen[bt.Name] = true
		for _, m := range Metrics {
			bv, nv := bt.samples(m.Name), nt.samples(m.Name)
			if len(bv) == 0 && len(nv) == 0 {
				continue
			}
			row := Row{Target: bt.Name, Metric: m.Name, BaseRuns: len(bv), NewRuns: len(nv)}
			if len(bv) == 0 || len(nv) == 0 {
				row.Verdict = VerdictMissing
				c.Rows = append(c.Rows, row)
				continue
			}
			row.Base, row.New, row.BaseSpread = median(bv), median(nv), spread(bv)
			if row.Base != 0 {
				row.Worse = (row.New - row.Base) / row.Base
				if m.HigherIsBetter {
					row.Worse = -row.Worse
				}
			}
			noise := max(threshold, row.BaseSpread)
			switch {
			case !m.Gate:
				row.Verdict = VerdictInfo
			case row.Worse > noise:
				row.Verdict = VerdictRegression
			case -row.Worse > noise:
				row.Verdict = VerdictImproved
			default:
				row.Verdict = VerdictOK
			}
			c.Rows = append(c.Rows, row)
		}
	}
	for _, t := range new.Targets {
		if !seen[t.Name] {
			c.Notes = append(c.Notes, fmt.Sprintf("target %s is only in the new file", t.Name))
		}
	}
	return c
}

// Print writes the comparison as an aligned table and a one-line verdict.
func (c *Comparison) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tmetric\tbaseline\tnew\tchange\tbaseline spread\truns\tverdict\t")
	for _, r := range c.Rows {
		change := "-"
		if r.Base != 0 && r.Verdict != VerdictMissing {
			change = fmt.Sprintf("%+.1f%%", (r.New-r.Base)/r.Base*100)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f%%\t%d/%d\t%s\t\n", r.Target, r.Metric,
			num(r.Base), num(r.New), change, r.BaseSpread*100, r.BaseRuns, r.NewRuns, r.Verdict)
	}
	tw.Flush()
	for _, n := range c.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	var bad []string
	for _, r := range c.Rows {
		if r.Verdict == VerdictRegression {
			bad = append(bad, fmt.Sprintf("%s %s %.1f%% worse", r.Target, r.Metric, r.Worse*100))
		}
	}
	if len(bad) > 0 {
		fmt.Fprintf(w, "FAIL: %d regression(s) beyond max(%.1f%%, baseline spread): %s\n", len(bad), c.Threshold*100, strings.Join(bad, "; "))
	} else {
		fmt.Fprintf(w, "PASS: no regression beyond max(%.1f%%, baseline spread)\n", c.Threshold*100)
	}
}

// num formats a metric value with sensible precision.
func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// PrintSummary writes one line per target: medians over its runs.
func (f *File) PrintSummary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\truns\tprod rec/s\tprod MB/s\tcons rec/s\tpub p50\tpub p99\tpub p99.9\tpub max\te2e p50\te2e p99\te2e p99.9\te2e max\t")
	for _, t := range f.Targets {
		m := t.Median
		cell := func(k string) string {
			v, ok := m[k]
			if !ok {
				return "-"
			}
			return num(v)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", t.Name, len(t.Runs),
			cell("produced_records_per_sec"), cell("produced_mb_per_sec"), cell("consumed_records_per_sec"),
			cell("publish_p50_ms"), cell("publish_p99_ms"), cell("publish_p999_ms"), cell("publish_max_ms"),
			cell("e2e_p50_ms"), cell("e2e_p99_ms"), cell("e2e_p999_ms"), cell("e2e_max_ms"))
	}
	tw.Flush()
	if f.Spec.Workload != nil {
		fmt.Fprintln(w, "latencies in ms (publish from the send's invoke: the workload's producers are closed loops); medians over runs")
	} else {
		fmt.Fprintln(w, "latencies in ms (publish from the intended send time); medians over runs")
	}
	for _, t := range f.Targets {
		if t.ConsumersSkipped != "" {
			fmt.Fprintf(w, "%s: consumers skipped: %s\n", t.Name, t.ConsumersSkipped)
		}
	}
	for _, t := range f.Targets {
		printWorkload(w, t)
	}
	for _, r := range f.Ratios {
		if r.Metric == "produced_records_per_sec" {
			fmt.Fprintf(w, "%s / %s produced records/s: %.3f\n", r.Numerator, r.Denominator, r.Ratio)
		}
	}
}

// printWorkload writes what a workload spec's runs of t measured beside
// the table: the definitions, the alert delays and any input left
// unprocessed.
func printWorkload(w io.Writer, t Target) {
	var unprocessed int
	var wl *WorkloadRun
	for i := range t.Runs {
		if r := t.Runs[i].Workload; r != nil {
			wl = r
			unprocessed += r.Unprocessed
		}
	}
	if wl == nil {
		return
	}
	fmt.Fprintf(w, "%s: workload %s: cons rec/s counts processed inputs; e2e is %s\n", t.Name, wl.Name, wl.Definition)
	if v, ok := t.Median["alert_p99_ms"]; ok {
		fmt.Fprintf(w, "%s: alert delay p50 %s ms, p99 %s ms, max %s ms (bound %s ms)\n", t.Name,
			num(t.Median["alert_p50_ms"]), num(v), num(t.Median["alert_max_ms"]), num(wl.AlertBoundMs))
	}
	if unprocessed > 0 {
		fmt.Fprintf(w, "%s: %d acknowledged input record(s) had no committed output in the final reads\n", t.Name, unprocessed)
	}
}
