package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// band is one shaded x interval across the whole plot.
type band struct {
	X0, X1 float64
	Label  string
	Color  color.Color
}

// bands draws shaded vertical intervals with their labels at the top,
// stacked in lanes so that overlapping labels do not collide. Add it
// before the data so the data is drawn over it.
type bands struct {
	items []band
	// showLabels writes each band's label inside it.
	showLabels bool
}

// Plot implements gplot.Plotter.
func (b *bands) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := text.Style{Color: color.Gray{Y: 50}, Font: p.Y.Label.TextStyle.Font, Handler: p.Y.Label.TextStyle.Handler}
	sty.Font.Size = 8
	lineH := sty.Height("Xg") + 1
	var laneEnd []vg.Length // per lane, where the last label ended
	for _, it := range b.items {
		x0, x1 := trX(it.X0), trX(it.X1)
		x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
		if x1 < x0 {
			continue
		}
		if x1-x0 < 1 {
			x1 = x0 + 1 // an instant fault is still visible
		}
		c.FillPolygon(it.Color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		if !b.showLabels || it.Label == "" {
			continue
		}
		w := sty.Width(it.Label)
		lane := 0
		for lane < len(laneEnd) && laneEnd[lane] > x0 {
			lane++
		}
		if lane == len(laneEnd) {
			laneEnd = append(laneEnd, 0)
		}
		laneEnd[lane] = x0 + w + 4
		y := c.Max.Y - 2 - lineH*vg.Length(lane+1)
		if y < c.Min.Y {
			continue
		}
		c.FillText(sty, vg.Point{X: x0 + 2, Y: y}, it.Label)
	}
}

// swatch is a legend entry: a filled box.
type swatch struct{ color.Color }

// Thumbnail implements gplot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.Color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// faultColors are translucent band colours per fault kind.
var faultColors = map[string]color.Color{
	"crash":       color.NRGBA{213, 94, 0, 60},
	"pause":       color.NRGBA{230, 159, 0, 70},
	"isolate":     color.NRGBA{86, 180, 233, 70},
	"partition":   color.NRGBA{0, 114, 178, 55},
	"cut":         color.NRGBA{86, 180, 233, 50},
	"disk-faults": color.NRGBA{204, 121, 167, 65},
	"clock-jump":  color.NRGBA{120, 120, 120, 55},
	"flaky":       color.NRGBA{240, 228, 66, 90},
}

// FaultColor is the band colour of a fault kind.
func FaultColor(kind string) color.Color {
	if c, ok := faultColors[kind]; ok {
		return c
	}
	return color.NRGBA{128, 128, 128, 50}
}
