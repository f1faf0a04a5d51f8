package plot

import (
	"fmt"
	"math"
	"slices"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/weir-dev/weir/reports/pipeline"
)

// pipelinePlots draws, for each stream workload of the run (package
// reports/pipeline), its end-to-end latency and processed throughput over
// virtual time with the fault bands and witness marks, and for vitals the
// CDF of its alert delays.
func (d *SimData) pipelinePlots(outDir string) ([]File, error) {
	var out []File
	for _, m := range d.Pipelines {
		plots := []*gplot.Plot{d.e2ePlot(m), d.processedPlot(m)}
		names := []string{"wl-" + m.Workload + "-e2e", "wl-" + m.Workload + "-throughput"}
		if m.Workload == "vitals" {
			plots, names = append(plots, alertCDF(m)), append(names, "wl-vitals-alert-delay")
		}
		for i, p := range plots {
			f, err := save(p, outDir, names[i])
			if err != nil {
				return out, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// e2ePlot scatters every record's end-to-end latency at the time its
// output was acknowledged.
func (d *SimData) e2ePlot(m pipeline.Measure) *gplot.Plot {
	p := newPlot(m.Workload+": end-to-end latency over virtual time, with faults", "virtual time (s, output acknowledged)", "latency (ms, log scale)")
	p.Y.Scale = gplot.LogScale{}
	p.Y.Tick.Marker = latencyTicks{}
	grid(p)
	d.addFaults(p)
	step := max(1, (len(m.Samples)+maxLatencyPoints-1)/maxLatencyPoints)
	var xys plotter.XYs
	for i, s := range m.Samples {
		if i%step == 0 {
			xys = append(xys, plotter.XY{X: s.At.Seconds(), Y: math.Max(float64(s.Latency)/1e6, 1e-3)})
		}
	}
	if sc, err := plotter.NewScatter(xys); err == nil && len(xys) > 0 {
		sc.GlyphStyle = draw.GlyphStyle{Color: palette[0], Radius: vg.Points(1.4), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		label := "record → committed output"
		if step > 1 {
			label += fmt.Sprintf(" (1 in %d)", step)
		}
		p.Legend.Add(label, sc)
	} else {
		p.Y.Min, p.Y.Max = 1, 1000 // an empty log axis still needs a range
	}
	d.addWitnesses(p)
	d.xRange(p)
	p.X.Max += 0.02 * p.X.Max   // the last outputs are often at d.End: keep their dots whole
	p.X.Tick.Marker = siTicks{} // plain labels (0, 10, 20) on the widened axis
	return p
}

// processedPlot draws, per virtual second, the input sends acknowledged
// and the input records whose first committed output was acknowledged.
func (d *SimData) processedPlot(m pipeline.Measure) *gplot.Plot {
	p := newPlot(m.Workload+": records per second of virtual time, with faults", "virtual time (s)", "records/s")
	grid(p)
	d.addFaults(p)
	n := int(d.End/time.Second) + 1 // d.End covers every sample
	perSecond := func(ts []time.Duration) plotter.XYs {
		v := make([]float64, n)
		for _, t := range ts {
			if i := int(t / time.Second); i >= 0 && i < n {
				v[i]++
			}
		}
		xys := make(plotter.XYs, 0, n+1)
		for i, y := range v {
			xys = append(xys, plotter.XY{X: float64(i), Y: y})
		}
		return append(xys, plotter.XY{X: float64(n), Y: v[n-1]})
	}
	done := make([]time.Duration, len(m.Samples))
	for i, s := range m.Samples {
		done[i] = s.At
	}
	for i, l := range []struct {
		ts    []time.Duration
		label string
	}{{m.Acked, "input acknowledged"}, {done, "processed (output committed)"}} {
		line, err := plotter.NewLine(perSecond(l.ts))
		if err != nil {
			continue
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Width = palette[[]int{5, 2}[i]], vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(l.label, line)
	}
	d.addWitnesses(p)
	d.xRange(p)
	p.Y.Min = 0
	return p
}

// alertCDF draws the CDF of vitals' alert delays on a log axis, with the
// bound the checker judges them against.
func alertCDF(m pipeline.Measure) *gplot.Plot {
	p := newPlot("vitals: alert delay (reading acknowledged to alert committed)", "delay (ms, log scale)", "fraction of alerts at or below")
	p.X.Scale = gplot.LogScale{}
	p.X.Tick.Marker = latencyTicks{}
	grid(p)
	ds := make([]float64, len(m.Alerts))
	for i, a := range m.Alerts {
		ds[i] = math.Max(float64(a.Latency)/1e6, 1e-3)
	}
	slices.Sort(ds)
	var xys plotter.XYs
	for j, ms := range ds {
		xys = append(xys, plotter.XY{X: ms, Y: float64(j) / float64(len(ds))}, plotter.XY{X: ms, Y: float64(j+1) / float64(len(ds))})
	}
	if len(xys) > 0 {
		addLine(p, xys, palette[1], false, fmt.Sprintf("%d alerts", len(ds)))
	}
	lo, hi := 1.0, 1000.0
	if len(ds) > 0 {
		lo, hi = ds[0]/2, ds[len(ds)-1]*2
	}
	if b := float64(m.AlertBound) / 1e6; b > 0 {
		addLine(p, plotter.XYs{{X: b, Y: 0}, {X: b, Y: 1}}, witnessColor, true, fmt.Sprintf("bound %v", m.AlertBound))
		hi = math.Max(hi, b*2)
	}
	p.X.Min, p.X.Max = lo, hi
	p.Y.Min, p.Y.Max = 0, 1
	return p
}

// latencyTicks label a log latency axis by powers of ten, or, when its
// range holds fewer than two of them (latencies all within one decade),
// by the default ticks, so the axis always says what it shows.
type latencyTicks struct{}

// Ticks implements gplot.Ticker.
func (latencyTicks) Ticks(lo, hi float64) []gplot.Tick {
	ts := gplot.LogTicks{Prec: -1}.Ticks(lo, hi)
	labelled := 0
	for _, t := range ts {
		if t.Label != "" && t.Value >= lo && t.Value <= hi {
			labelled++
		}
	}
	if labelled >= 2 {
		return ts
	}
	return siTicks{}.Ticks(lo, hi)
}
