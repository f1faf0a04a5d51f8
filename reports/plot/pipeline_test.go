package plot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weir-dev/weir/reports/internal/synth"
)

// TestPipelinePlots: a payments and vitals run gets each workload's
// plots, with the fault bands and the witness of a violation at its time.
func TestPipelinePlots(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "seed-5")
	if err := synth.Pipeline(run, 5); err != nil {
		t.Fatal(err)
	}
	verdict := `{"seed":5,"code":1,"verdict":"invalid","details":{"valid":false,"anomalies":{"vitals-alert-latency":[{"times":[1.5,2.4],"detail":"late"}]}}}`
	if err := os.WriteFile(filepath.Join(run, "verdict.json"), []byte(verdict), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadSim(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Pipelines) != 2 || len(d.Witnesses) != 1 || d.Witnesses[0].At != 2400*time.Millisecond {
		t.Fatalf("pipelines %d, witnesses %+v", len(d.Pipelines), d.Witnesses)
	}
	// The run's end covers the last committed output (6 s) and the faults.
	if d.End != 30*time.Second {
		t.Errorf("end %v", d.End)
	}
	files, err := d.Plot(filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, files, "sim-throughput", "sim-latency", "wl-payments-e2e", "wl-payments-throughput",
		"wl-vitals-e2e", "wl-vitals-throughput", "wl-vitals-alert-delay")
	svg := func(i int) []byte {
		b, err := os.ReadFile(files[i].Paths["svg"])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := 2; i <= 5; i++ {
		for _, label := range []string{"crash n1", "partition [n1] [n2 n3]", "vitals-alert-latency", "witness of an anomaly"} {
			if !bytes.Contains(svg(i), []byte(label)) {
				t.Errorf("%s lacks %q", files[i].Name, label)
			}
		}
	}
	if b := svg(6); !bytes.Contains(b, []byte("bound 5s")) || !bytes.Contains(b, []byte("1 alerts")) {
		t.Errorf("alert delay CDF lacks its bound or count")
	}
}
