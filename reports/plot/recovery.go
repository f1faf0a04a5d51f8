package plot

import (
	"slices"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// Recovery draws the distributions of recovery times over simulation
// runs (package recovery's measures, by name, in the order of names) as
// CDFs on a log time axis: "recovery-cdf" in dir. Measures without
// samples are left out; no samples at all draws nothing.
func Recovery(samples map[string][]time.Duration, names []string, dir string) ([]File, error) {
	p := newPlot("Recovery after crashes, over runs", "time (ms, log scale)", "fraction of recoveries at or below")
	p.X.Scale = gplot.LogScale{}
	p.X.Tick.Marker = gplot.LogTicks{Prec: -1}
	grid(p)
	drawn := 0
	for i, name := range names {
		s := slices.Clone(samples[name])
		if len(s) == 0 {
			continue
		}
		slices.Sort(s)
		var xys plotter.XYs
		for j, d := range s {
			ms := float64(d) / 1e6
			if ms <= 0 {
				ms = 1e-3 // the log axis has no zero
			}
			// A step: the fraction jumps at each sample.
			xys = append(xys, plotter.XY{X: ms, Y: float64(j) / float64(len(s))}, plotter.XY{X: ms, Y: float64(j+1) / float64(len(s))})
		}
		addLine(p, xys, colorAt(i), false, name)
		drawn++
	}
	if drawn == 0 {
		return nil, nil
	}
	p.Y.Min, p.Y.Max = 0, 1
	f, err := save(p, dir, "recovery-cdf")
	if err != nil {
		return nil, err
	}
	return []File{f}, nil
}
