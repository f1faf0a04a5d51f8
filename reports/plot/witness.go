package plot

import (
	"encoding/json"
	"errors"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/weir-dev/weir/runfolder"
)

// Witness is one anomaly witness of a run's verdict, at the time of the
// last operation that shows it (virtual time since the run began).
type Witness struct {
	Anomaly string
	At      time.Duration
}

// maxWitnessMarks bounds the witness lines drawn per plot.
const maxWitnessMarks = 40

// ReadWitnesses reads the times of the witnesses in dir's verdict.json
// (checker.Witness.Times, seconds since the run began); witnesses without
// times (an invariant breach, the metadata checker) are left out. A folder
// without a verdict has none.
func ReadWitnesses(dir string) ([]Witness, error) {
	b, err := os.ReadFile(filepath.Join(dir, runfolder.VerdictFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v struct {
		Details struct {
			Allowed   []string `json:"allowed"`
			Anomalies map[string][]struct {
				Times []float64 `json:"times"`
			} `json:"anomalies"`
		} `json:"details"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	var out []Witness
	for name, ws := range v.Details.Anomalies {
		if slices.Contains(v.Details.Allowed, name) {
			continue
		}
		for _, w := range ws {
			if len(w.Times) == 0 {
				continue
			}
			out = append(out, Witness{Anomaly: name, At: time.Duration(slices.Max(w.Times) * float64(time.Second))})
		}
	}
	slices.SortFunc(out, func(a, b Witness) int {
		if a.At != b.At {
			return int(a.At - b.At)
		}
		if a.Anomaly < b.Anomaly {
			return -1
		}
		return 1
	})
	return out, nil
}

// witnessColor is the colour of witness lines.
var witnessColor = color.RGBA{200, 0, 0, 255}

// marks draws each witness as a dashed vertical line labelled with its
// anomaly at the bottom of the plot, so a reader sees which fault it
// followed.
type marks struct{ items []Witness }

// Plot implements gplot.Plotter.
func (m marks) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := text.Style{Color: witnessColor, Font: p.Y.Label.TextStyle.Font, Handler: p.Y.Label.TextStyle.Handler}
	sty.Font.Size = 8
	line := draw.LineStyle{Color: witnessColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	lastLabel := vg.Length(-1e9)
	for i, w := range m.items {
		if i == maxWitnessMarks {
			break
		}
		x := trX(w.At.Seconds())
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		c.StrokeLine2(line, x, c.Min.Y, x, c.Max.Y)
		if x-lastLabel < sty.Width(w.Anomaly)+4 {
			continue // the previous label is still there
		}
		c.FillText(sty, vg.Point{X: x + 2, Y: c.Min.Y + 2}, w.Anomaly)
		lastLabel = x
	}
}

// addWitnesses adds d's witness lines to p, with a legend entry.
func (d *SimData) addWitnesses(p *gplot.Plot) {
	if len(d.Witnesses) == 0 {
		return
	}
	p.Add(marks{d.Witnesses})
	p.Legend.Add("witness of an anomaly", swatch{witnessColor})
}
