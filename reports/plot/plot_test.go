package plot

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/reports/internal/synth"
)

// checkFiles checks that every plot exists in every format, that the PNG
// decodes at a sane size and the SVG is an SVG.
func checkFiles(t *testing.T, files []File, want ...string) {
	t.Helper()
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		b, err := os.ReadFile(f.Paths["png"])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f.Paths["png"], err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 600 || w > 2000 || h < 300 || h > 1200 {
			t.Errorf("%s: %dx%d", f.Paths["png"], w, h)
		}
		if len(b) < 10_000 || len(b) > 5<<20 {
			t.Errorf("%s: %d bytes", f.Paths["png"], len(b))
		}
		svg, err := os.ReadFile(f.Paths["svg"])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(svg, []byte("<svg")) || len(svg) > 20<<20 {
			t.Errorf("%s: not an SVG or %d bytes", f.Paths["svg"], len(svg))
		}
		if !bytes.Contains(svg, []byte(f.Title)) && f.Title != "" {
			// The title is drawn as text.
			t.Logf("%s: title %q not found as text", f.Paths["svg"], f.Title)
		}
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("plots %v, want %v", names, want)
	}
}

func TestBenchPlots(t *testing.T) {
	dir := t.TempDir()
	f, err := synth.Bench(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Bench(f, filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, files, "throughput", "latency-spectrum", "latency-cdf", "publish-vs-e2e")
}

func TestBenchPlotsWithoutHistograms(t *testing.T) {
	dir := t.TempDir()
	f, err := synth.Bench(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Targets {
		for j := range f.Targets[i].Runs {
			f.Targets[i].Runs[j].PublishLatency.Histogram = ""
			f.Targets[i].Runs[j].EndToEndLatency = nil
		}
	}
	files, err := Bench(f, filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, files, "throughput")
}

func TestSimPlots(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "seed-7")
	if err := synth.Sim(run, 7, true); err != nil {
		t.Fatal(err)
	}
	d, err := ReadSim(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Faults) != 3 || d.Faults[0].Label() != "crash n1" || d.Faults[2].End != 30*time.Second {
		t.Errorf("faults %+v", d.Faults)
	}
	// Sends are on the run's virtual time base: the first completes at
	// 0.102 s, the ones invoked during the crash are info and slow.
	if len(d.Sends) == 0 || d.Sends[0].At != 102*time.Millisecond || d.Sends[0].Latency != 2*time.Millisecond {
		t.Fatalf("first send %+v", d.Sends[:1])
	}
	info := 0
	for _, s := range d.Sends {
		if s.Type == history.Info {
			info++
			if s.At < 13*time.Second || s.At > 17*time.Second || s.Latency != 3*time.Second {
				t.Errorf("info send %+v", s)
			}
		}
	}
	if info != 80 {
		t.Errorf("%d info sends, want 80", info)
	}
	// The lost write's witness is marked at its last op's time.
	if len(d.Witnesses) != 1 || d.Witnesses[0] != (Witness{Anomaly: "lost-write", At: 15250 * time.Millisecond}) {
		t.Errorf("witnesses %+v", d.Witnesses)
	}
	files, err := d.Plot(filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, files, "sim-throughput", "sim-latency")
	svg, _ := os.ReadFile(files[0].Paths["svg"])
	for _, label := range []string{"crash n1", "partition [n1] [n2 n3]", "pause n2", "lost-write", "witness of an anomaly"} {
		if !bytes.Contains(svg, []byte(label)) {
			t.Errorf("throughput SVG lacks the band label %q", label)
		}
	}
}

func TestSimPlotsEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	files, err := Sim(dir, filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Errorf("%d plots", len(files))
	}
}

func TestSends(t *testing.T) {
	// A history on a real clock is drawn from its first op.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	ops := []history.Op{
		{Process: 1, Type: history.Invoke, F: history.FnSend, Time: t0},
		{Process: 2, Type: history.Invoke, F: history.FnSend, Time: t0 + 1e9},
		{Process: 1, Type: history.OK, F: history.FnSend, Time: t0 + 3e9},
		{Process: 3, Type: history.OK, F: history.FnSend, Time: t0 + 4e9}, // never invoked: skipped
		{Process: 2, Type: history.Fail, F: history.FnSend, Time: t0 + 2e9},
	}
	got := Sends(ops)
	want := []Send{{At: 2 * time.Second, Latency: time.Second, Type: history.Fail}, {At: 3 * time.Second, Latency: 3 * time.Second, Type: history.OK}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Sends = %+v, want %+v", got, want)
	}
}
