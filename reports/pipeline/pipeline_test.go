package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/reports/internal/synth"
	"github.com/weir-dev/weir/runfolder"
)

func read(t *testing.T, dir string) []Measure {
	t.Helper()
	h, err := runfolder.ReadHeader(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ops, err := history.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Read(h.Params, ops)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestSynthetic checks the numbers synth.Pipeline's doc promises.
func TestSynthetic(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Pipeline(dir, 5); err != nil {
		t.Fatal(err)
	}
	ms := read(t, dir)
	if len(ms) != 2 || ms[0].Workload != "payments" || ms[1].Workload != "vitals" {
		t.Fatalf("measures %+v", ms)
	}
	pay, vit := ms[0], ms[1]
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	// Offset 0 has two ledger entries (4 s and 6 s): the earliest counts.
	if want := []Sample{{sec(4), sec(2)}, {sec(4), sec(3)}}; !slices.Equal(pay.Samples, want) {
		t.Errorf("payments samples %v, want %v", pay.Samples, want)
	}
	if pay.Unprocessed != 1 {
		t.Errorf("payments unprocessed %d, want 1 (offset 2)", pay.Unprocessed)
	}
	if want := []time.Duration{sec(1), sec(2), sec(3)}; !slices.Equal(pay.Acked, want) {
		t.Errorf("payments acked %v, want %v", pay.Acked, want)
	}
	if pay.Input != "payments" || pay.Output != "ledger" || len(pay.Alerts) != 0 {
		t.Errorf("payments %+v", pay)
	}
	if want := []Sample{{sec(2.5), sec(1)}}; !slices.Equal(vit.Samples, want) || vit.Unprocessed != 0 {
		t.Errorf("vitals samples %v (unprocessed %d), want %v", vit.Samples, vit.Unprocessed, want)
	}
	if want := []Sample{{sec(2.4), 900 * time.Millisecond}}; !slices.Equal(vit.Alerts, want) {
		t.Errorf("vitals alerts %v, want %v", vit.Alerts, want)
	}
	if vit.AlertBound != 5*time.Second {
		t.Errorf("alert bound %v", vit.AlertBound)
	}
	h := Histogram(pay.Samples)
	if got := time.Duration(h.ValueAtQuantile(50)); got < sec(1.99) || got > sec(2.01) {
		t.Errorf("p50 %v, want 2s", got)
	}
	if got := time.Duration(h.Max()); got < sec(2.99) || got > sec(3.01) {
		t.Errorf("max %v, want 3s", got)
	}
}

// TestNoWorkload: a run without workload parameters (the simulator's
// queue) has nothing to measure.
func TestNoWorkload(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Sim(dir, 3, false); err != nil {
		t.Fatal(err)
	}
	if ms := read(t, dir); len(ms) != 0 {
		t.Errorf("measures %+v", ms)
	}
}

func TestOrigin(t *testing.T) {
	if o := Origin([]history.Op{{Time: 5}}); o != 0 {
		t.Errorf("format 2 origin %d", o)
	}
	guest := runfolder.GuestTimeOrigin().UnixNano()
	if o := Origin([]history.Op{{Time: guest + 7}}); o != guest {
		t.Errorf("guest origin %d", o)
	}
	real := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	if o := Origin([]history.Op{{Time: real}}); o != real {
		t.Errorf("real-clock origin %d", o)
	}
}

// TestClickstream: a summary names several events; a replay's second
// write of a session does not move its samples.
func TestClickstream(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Clickstream(dir, 6); err != nil {
		t.Fatal(err)
	}
	ms := read(t, dir)
	if len(ms) != 1 || ms[0].Workload != "clickstream" || ms[0].Input != "clicks" || ms[0].Output != "sessions" {
		t.Fatalf("measures %+v", ms)
	}
	m := ms[0]
	if want := []Sample{{5 * time.Second, 3 * time.Second}, {5 * time.Second, 4 * time.Second}}; !slices.Equal(m.Samples, want) {
		t.Errorf("samples %v, want %v", m.Samples, want)
	}
	if m.Unprocessed != 1 || len(m.Acked) != 3 || m.Alerts != nil {
		t.Errorf("unprocessed %d, acked %v, alerts %v", m.Unprocessed, m.Acked, m.Alerts)
	}
}
