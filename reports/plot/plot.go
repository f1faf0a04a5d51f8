package plot

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Size of every plot.
const (
	Width  = 8 * vg.Inch
	Height = 4 * vg.Inch
)

// Formats are the file formats written, by extension.
var Formats = []string{"png", "svg"}

// File is one plot written in every format.
type File struct {
	Name  string            // e.g. "throughput"
	Title string            // the plot's title
	Paths map[string]string // by format ("png", "svg")
}

// palette is a colour-blind friendly set (Okabe-Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // green
	{204, 121, 167, 255}, // purple
	{230, 159, 0, 255},   // orange
	{86, 180, 233, 255},  // sky
	{0, 0, 0, 255},       // black
}

func colorAt(i int) color.Color { return palette[i%len(palette)] }

// newPlot returns a plot with Weir's common styling.
func newPlot(title, x, y string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 14
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = 10
	p.BackgroundColor = color.White
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.Title.TextStyle.Font.Weight = xfont.WeightBold
	p.Y.Tick.Marker = siTicks{}
	return p
}

// render draws p on c with its legend in a column right of the data, so
// that the legend never covers data or fault bands.
func render(p *gplot.Plot, c draw.Canvas) {
	leg := p.Legend
	defer func() { p.Legend = leg }()
	p.Legend = gplot.NewLegend()
	lw := leg.Rectangle(c).Size().X + 12
	if lw > c.Size().X/3 {
		lw = c.Size().X / 3
	}
	p.Draw(draw.Crop(c, 0, -lw, 0, 0))
	th := p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding + 6
	leg.Top, leg.Left, leg.XOffs, leg.YOffs = true, true, 0, 0
	leg.Draw(draw.Crop(c, c.Size().X-lw+6, 0, 0, -th))
}

// grid adds a light grid under the data.
func grid(p *gplot.Plot) {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
}

// save writes p as dir/name.{png,svg}.
func save(p *gplot.Plot, dir, name string) (File, error) {
	f := File{Name: name, Title: p.Title.Text, Paths: map[string]string{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	for _, ext := range Formats {
		var w io.WriterTo
		switch ext {
		case "png":
			cv := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
			render(p, draw.New(cv))
			w = vgimg.PngCanvas{Canvas: cv}
		case "svg":
			cv := vgsvg.NewWith(vgsvg.UseWH(Width, Height))
			render(p, draw.New(cv))
			w = cv
		default:
			return f, fmt.Errorf("plot: unknown format %q", ext)
		}
		path := filepath.Join(dir, name+"."+ext)
		if err := writeFile(path, w); err != nil {
			return f, fmt.Errorf("plot %s: %w", path, err)
		}
		f.Paths[ext] = path
	}
	return f, nil
}

func writeFile(path string, w io.WriterTo) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
