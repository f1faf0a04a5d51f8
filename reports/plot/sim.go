package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/reports/pipeline"
	"github.com/weir-dev/weir/runfolder"
)

// maxLatencyPoints bounds the acknowledged sends drawn in a latency
// scatter; failed and indeterminate ones are always drawn.
const maxLatencyPoints = 20000

// Send is one send of a simulation history: when it completed (virtual
// time since the run began), how long it took and how it ended.
type Send struct {
	At      time.Duration
	Latency time.Duration
	Type    history.Type // ok, fail or info
}

// SimData is what the simulation plots draw.
type SimData struct {
	Sends     []Send // by completion
	Faults    []Fault
	Witnesses []Witness     // of the anomalies the verdict did not allow, by time
	End       time.Duration // the last op or trace event
	// Pipelines are the stream workloads' measures (package
	// reports/pipeline), from header.json's params and history.jsonl.
	Pipelines []pipeline.Measure
}

// ReadSim reads a run folder's history.jsonl and trace.log. A missing file
// gives no data of its kind, not an error.
func ReadSim(dir string) (*SimData, error) {
	d := &SimData{}
	if b, err := os.ReadFile(filepath.Join(dir, "trace.log")); err == nil {
		if d.Faults, err = ParseFaults(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "trace.log"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		ops, err := history.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "history.jsonl"), err)
		}
		d.Sends = Sends(ops)
		if h, err := runfolder.ReadHeader(dir); err == nil {
			if d.Pipelines, err = pipeline.Read(h.Params, ops); err != nil {
				return nil, fmt.Errorf("%s: %w", dir, err)
			}
		}
	}
	if d.Witnesses, err = ReadWitnesses(dir); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, runfolder.VerdictFile), err)
	}
	for _, s := range d.Sends {
		d.End = max(d.End, s.At)
	}
	for _, f := range d.Faults {
		d.End = max(d.End, f.End)
	}
	for _, m := range d.Pipelines {
		for _, s := range m.Samples {
			d.End = max(d.End, s.At)
		}
	}
	return d, nil
}

// Sends pairs each completed send with its invoke (a process has at most
// one open operation) and returns them ordered by completion time.
func Sends(ops []history.Op) []Send {
	// A history time minus the run's origin is the virtual time since
	// the run began, the time base of trace.log's first column.
	base := pipeline.Origin(ops)
	invoked := map[int]int64{} // process -> invoke time of its open send
	var out []Send
	for _, op := range ops {
		if op.F != history.FnSend {
			continue
		}
		switch op.Type {
		case history.Invoke:
			invoked[op.Process] = op.Time
		case history.OK, history.Fail, history.Info:
			start, ok := invoked[op.Process]
			if !ok {
				continue
			}
			delete(invoked, op.Process)
			out = append(out, Send{At: time.Duration(op.Time - base), Latency: time.Duration(op.Time - start), Type: op.Type})
		}
	}
	slices.SortStableFunc(out, func(a, b Send) int { return int(a.At - b.At) })
	return out
}

// Sim draws the simulation plots of the run folder dir into outDir.
func Sim(dir, outDir string) ([]File, error) {
	d, err := ReadSim(dir)
	if err != nil {
		return nil, err
	}
	return d.Plot(outDir)
}

// Plot draws d's plots into outDir.
func (d *SimData) Plot(outDir string) ([]File, error) {
	var out []File
	for _, mk := range []func() (*gplot.Plot, string){d.throughputPlot, d.latencyPlot} {
		p, name := mk()
		f, err := save(p, outDir, name)
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	files, err := d.pipelinePlots(outDir)
	return append(out, files...), err
}

// addFaults adds d's fault bands to p, with one legend entry per kind.
func (d *SimData) addFaults(p *gplot.Plot) {
	b := &bands{showLabels: true}
	seen := map[string]bool{}
	for _, f := range d.Faults {
		c := FaultColor(f.Kind)
		b.items = append(b.items, band{X0: f.Start.Seconds(), X1: f.End.Seconds(), Label: f.Label(), Color: c})
		if !seen[f.Kind] {
			seen[f.Kind] = true
			p.Legend.Add(f.Kind, swatch{c})
		}
	}
	p.Add(b)
}

func (d *SimData) xRange(p *gplot.Plot) {
	p.X.Min = 0
	p.X.Max = math.Max(d.End.Seconds(), 1)
}

func (d *SimData) throughputPlot() (*gplot.Plot, string) {
	p := newPlot("Sends per second of virtual time, with faults", "virtual time (s)", "sends/s")
	grid(p)
	d.addFaults(p)
	n := int(d.End/time.Second) + 1
	ok, bad := make([]float64, n), make([]float64, n)
	for _, s := range d.Sends {
		i := max(int(s.At/time.Second), 0)
		if i >= n {
			continue
		}
		if s.Type == history.OK {
			ok[i]++
		} else {
			bad[i]++
		}
	}
	line := func(v []float64, c color.Color, label string) {
		xys := make(plotter.XYs, 0, len(v)+1)
		for i, y := range v {
			xys = append(xys, plotter.XY{X: float64(i), Y: y})
		}
		xys = append(xys, plotter.XY{X: float64(len(v)), Y: v[len(v)-1]})
		l, err := plotter.NewLine(xys)
		if err != nil {
			return
		}
		l.StepStyle = plotter.PostStep
		l.Color, l.Width = c, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(label, l)
	}
	line(ok, palette[0], "acknowledged")
	line(bad, palette[1], "failed or unknown")
	d.addWitnesses(p)
	d.xRange(p)
	p.Y.Min = 0
	return p, "sim-throughput"
}

func (d *SimData) latencyPlot() (*gplot.Plot, string) {
	p := newPlot("Send latency over virtual time, with faults", "virtual time (s)", "latency (ms, log scale)")
	p.Y.Scale = gplot.LogScale{}
	p.Y.Tick.Marker = gplot.LogTicks{Prec: -1}
	grid(p)
	d.addFaults(p)
	nOK := 0
	for _, s := range d.Sends {
		if s.Type == history.OK {
			nOK++
		}
	}
	step := max(1, (nOK+maxLatencyPoints-1)/maxLatencyPoints)
	byType := map[history.Type]plotter.XYs{}
	i := 0
	for _, s := range d.Sends {
		if s.Type == history.OK {
			i++
			if i%step != 0 {
				continue
			}
		}
		ms := math.Max(float64(s.Latency)/1e6, 1e-3)
		byType[s.Type] = append(byType[s.Type], plotter.XY{X: s.At.Seconds(), Y: ms})
	}
	for k, t := range []struct {
		typ   history.Type
		label string
		c     color.Color
		shape draw.GlyphDrawer
	}{
		{history.OK, "ok", palette[0], draw.CircleGlyph{}},
		{history.Info, "info (unknown)", palette[4], draw.TriangleGlyph{}},
		{history.Fail, "fail", palette[1], draw.CrossGlyph{}},
	} {
		xys := byType[t.typ]
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: t.c, Radius: vg.Points(1.2 + float64(k)*0.6), Shape: t.shape}
		p.Add(sc)
		label := t.label
		if t.typ == history.OK && step > 1 {
			label = fmt.Sprintf("ok (1 in %d)", step)
		}
		p.Legend.Add(label, sc)
	}
	if len(byType) == 0 {
		p.Y.Min, p.Y.Max = 1, 1000 // an empty log axis still needs a range
	}
	d.addWitnesses(p)
	d.xRange(p)
	return p, "sim-latency"
}
