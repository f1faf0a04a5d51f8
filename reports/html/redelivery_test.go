package html

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-dev/weir/reports/internal/synth"
)

// TestRedeliveryReport: a run whose group had one failed member, which 3
// of its records were read again after, gets the redelivery table; runs
// without groups get none.
func TestRedeliveryReport(t *testing.T) {
	root := t.TempDir()
	if err := synth.Group(filepath.Join(root, "runs", "seed-7"), 7); err != nil {
		t.Fatal(err)
	}
	path, r, err := Write([]string{filepath.Join(root, "runs")}, filepath.Join(root, "report"), Options{NoPlots: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %v", r.Errors)
	}
	// The failure at 3 s; the other member's poll returned its partition's
	// records at 5.01 s.
	want := RedeliveryRow{Failures: "1", Total: "3", P50: "3", P90: "3", P99: "3", Max: "3",
		Resumed: "1", ResumeP50: "2010.0 ms", ResumeP90: "2010.0 ms", ResumeMax: "2010.0 ms"}
	if r.Redelivery == nil || *r.Redelivery != want {
		t.Fatalf("redelivery %+v, want %+v", r.Redelivery, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if page := string(b); !strings.Contains(page, `id="redelivery"`) || !strings.Contains(page, `<td class="num">1</td><td class="num">3</td>`) || !strings.Contains(page, `<td class="num">1</td><td class="num">2010.0 ms</td>`) {
		t.Error("the page lacks the redelivery table")
	}

	_, r, err = Write([]string{fixture(t)}, filepath.Join(t.TempDir(), "report"), Options{NoPlots: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Redelivery != nil {
		t.Errorf("runs without groups: redelivery %+v", r.Redelivery)
	}
}
