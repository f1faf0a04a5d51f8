package plot

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/weir-dev/weir/bench/results"
)

// Bench draws every benchmark plot of f into dir (created if missing) and
// returns the files, in display order. A plot with nothing to show (no
// histograms, say) is left out.
func Bench(f *results.File, dir string) ([]File, error) {
	var out []File
	for _, mk := range []func(*results.File) (*gplot.Plot, string, bool){throughputPlot, spectrumPlot, cdfPlot, publishVsE2EPlot} {
		p, name, ok := mk(f)
		if !ok {
			continue
		}
		file, err := save(p, dir, name)
		if err != nil {
			return out, err
		}
		out = append(out, file)
	}
	return out, nil
}

func throughputPlot(f *results.File) (*gplot.Plot, string, bool) {
	p := newPlot("Throughput over time: "+f.Spec.Name, "seconds since the run started", "records/s")
	p.Y.Tick.Marker = siTicks{}
	grid(p)
	warm := &bands{}
	p.Add(warm)
	any := false
	var warmEnd float64
	for i, t := range f.Targets {
		for j, r := range t.Runs {
			var prod, cons plotter.XYs
			for _, s := range r.Series {
				prod = append(prod, plotter.XY{X: s.Sec, Y: s.ProducedRecordsPerSec})
				cons = append(cons, plotter.XY{X: s.Sec, Y: s.ConsumedRecordsPerSec})
				if s.Phase == "warmup" {
					warmEnd = max(warmEnd, s.Sec)
				}
			}
			if len(prod) == 0 {
				continue
			}
			any = true
			label := func(what string) string {
				if j > 0 {
					return ""
				}
				return t.Name + " " + what
			}
			addLine(p, prod, colorAt(i), false, label("produced"))
			if r.ConsumedRecords > 0 {
				addLine(p, cons, colorAt(i), true, label("consumed"))
			}
		}
	}
	if warmEnd > 0 {
		warm.items = append(warm.items, band{X0: 0, X1: warmEnd, Label: "warm-up", Color: color.NRGBA{128, 128, 128, 35}})
		warm.showLabels = true
	}
	p.Y.Min = 0
	return p, "throughput", any
}

// addLine adds a line (dashed if dashed) with a legend entry unless label
// is empty.
func addLine(p *gplot.Plot, xys plotter.XYs, c color.Color, dashed bool, label string) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	if label != "" {
		p.Legend.Add(label, l)
	}
}

// hist is a decoded, merged latency histogram of one target.
type hist struct {
	target string
	kind   string // "publish" or "end-to-end"
	idx    int    // target index, for colours
	h      *hdrhistogram.Histogram
}

// histograms merges, per target, the runs' publish and end-to-end
// histograms. Runs without a histogram are skipped.
func histograms(f *results.File) []hist {
	var out []hist
	for i, t := range f.Targets {
		var pub, e2e *hdrhistogram.Histogram
		merge := func(dst **hdrhistogram.Histogram, enc string) {
			if enc == "" {
				return
			}
			h, err := hdrhistogram.Decode([]byte(enc))
			if err != nil || h.TotalCount() == 0 {
				return
			}
			if *dst == nil {
				*dst = h
			} else {
				(*dst).Merge(h)
			}
		}
		for _, r := range t.Runs {
			merge(&pub, r.PublishLatency.Histogram)
			if r.EndToEndLatency != nil {
				merge(&e2e, r.EndToEndLatency.Histogram)
			}
		}
		if pub != nil {
			out = append(out, hist{t.Name, "publish", i, pub})
		}
		if e2e != nil {
			out = append(out, hist{t.Name, "end-to-end", i, e2e})
		}
	}
	return out
}

// spectrumPercentiles are the percentiles a spectrum is drawn through.
func spectrumPercentiles(count int64) []float64 {
	var ps []float64
	// Ten points per decade of 1/(1-p), up to where the count still
	// resolves the percentile.
	for i := 0; ; i++ {
		inv := math.Pow(10, float64(i)/10)
		if inv > float64(count) || inv > 1e6 {
			break
		}
		ps = append(ps, 100*(1-1/inv))
	}
	return ps
}

func spectrumPlot(f *results.File) (*gplot.Plot, string, bool) {
	hs := histograms(f)
	p := newPlot("Latency by percentile", "percentile", "latency (ms)")
	p.X.Scale = gplot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	grid(p)
	for _, h := range hs {
		var xys plotter.XYs
		for _, q := range spectrumPercentiles(h.h.TotalCount()) {
			xys = append(xys, plotter.XY{X: 1 / (1 - q/100), Y: float64(h.h.ValueAtQuantile(q)) / 1e6})
		}
		// Close at the maximum, at the last resolvable percentile.
		inv := max(float64(h.h.TotalCount()), 1)
		xys = append(xys, plotter.XY{X: math.Min(inv, 1e6), Y: float64(h.h.Max()) / 1e6})
		addLine(p, xys, colorAt(h.idx), h.kind != "publish", h.target+" "+h.kind)
	}
	p.Y.Min = 0
	p.X.Min = 1
	return p, "latency-spectrum", len(hs) > 0
}

func cdfPlot(f *results.File) (*gplot.Plot, string, bool) {
	hs := histograms(f)
	p := newPlot("Latency CDF", "latency (ms, log scale)", "fraction of records at or below")
	p.X.Scale = gplot.LogScale{}
	p.X.Tick.Marker = gplot.LogTicks{Prec: -1}
	grid(p)
	for _, h := range hs {
		var xys plotter.XYs
		for _, b := range h.h.CumulativeDistribution() {
			if b.Count == 0 {
				continue
			}
			ms := float64(b.ValueAt) / 1e6
			if ms <= 0 {
				ms = 1e-3 // the log axis has no zero
			}
			xys = append(xys, plotter.XY{X: ms, Y: b.Quantile / 100})
		}
		if len(xys) > 0 {
			addLine(p, xys, colorAt(h.idx), h.kind != "publish", h.target+" "+h.kind)
		}
	}
	p.Y.Min, p.Y.Max = 0, 1
	return p, "latency-cdf", len(hs) > 0
}

func publishVsE2EPlot(f *results.File) (*gplot.Plot, string, bool) {
	hs := histograms(f)
	qs := []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p99", 99}, {"p99.9", 99.9}, {"max", 100}}
	p := newPlot("Publish vs end-to-end latency", "", "latency (ms)")
	grid(p)
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.name
	}
	p.NominalX(names...)
	w := vg.Points(70 / float64(max(len(hs), 1)))
	for k, h := range hs {
		vals := make(plotter.Values, len(qs))
		for i, q := range qs {
			if q.q == 100 {
				vals[i] = float64(h.h.Max()) / 1e6
			} else {
				vals[i] = float64(h.h.ValueAtQuantile(q.q)) / 1e6
			}
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			continue
		}
		c := palette[h.idx%len(palette)]
		b.LineStyle.Width = 0
		if h.kind == "publish" {
			b.Color = c
		} else {
			b.Color = color.NRGBA{c.R, c.G, c.B, 110}
			b.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(1)}
		}
		b.Offset = w * vg.Length(float64(k)-float64(len(hs)-1)/2)
		p.Add(b)
		p.Legend.Add(h.target+" "+h.kind, b)
	}
	p.Y.Min = 0
	return p, "publish-vs-e2e", len(hs) > 0
}

// percentileTicks labels a 1/(1-p) axis with percentiles.
type percentileTicks struct{}

// Ticks implements gplot.Ticker.
func (percentileTicks) Ticks(min, max float64) []gplot.Tick {
	labels := map[float64]string{1: "", 2: "50%", 10: "90%", 100: "99%", 1e3: "99.9%", 1e4: "99.99%", 1e5: "99.999%", 1e6: "99.9999%"}
	var ts []gplot.Tick
	for _, v := range []float64{1, 2, 10, 100, 1e3, 1e4, 1e5, 1e6} {
		if v >= min && v <= max {
			ts = append(ts, gplot.Tick{Value: v, Label: labels[v]})
		}
	}
	return ts
}

// siTicks are default ticks labelled 1.5k, 2M.
type siTicks struct{}

// Ticks implements gplot.Ticker.
func (siTicks) Ticks(min, max float64) []gplot.Tick {
	ts := gplot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = si(ts[i].Value)
		}
	}
	return ts
}

// si formats v with a k, M or G suffix.
func si(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 4, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return fmt.Sprint(strconv.FormatFloat(v, 'g', 4, 64))
}
