package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/results"
	"github.com/weir-dev/weir/bench/spec"
)

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		list, bootstrap, want, err string
	}{
		{"", "", "embedded", ""},
		{"", "h:9092", "external=h:9092", ""},
		{"embedded,null,external=127.0.0.1:9095", "", "embedded null external=127.0.0.1:9095", ""},
		{"weir, null", "", "embedded null", ""},
		{"external", "k:1", "external=k:1", ""},
		{"external", "", "", "want external=HOST:PORT"},
		{"kfake", "", "", "unknown target"},
		{"null,null", "", "", "given twice"},
	} {
		ts, err := ParseTargets(tc.list, tc.bootstrap)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.list, err, tc.err)
			}
			continue
		}
		var names []string
		for _, t := range ts {
			names = append(names, t.Name())
		}
		if err != nil || strings.Join(names, " ") != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.list, names, err, tc.want)
		}
	}
}

// TestRunEmbeddedAndNull is a short real run against both in-process
// targets: a valid results.json, consumers on embedded, skipped on null.
func TestRunEmbeddedAndNull(t *testing.T) {
	s, err := spec.Parse([]byte(`
name: test-short
partitions_per_topic: 2
message_size: 200
key_distribution: round_robin
key_count: 10
consumers: 1
producer_rate: 3000
linger: 1ms
warmup: 300ms
duration: 1200ms
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var samples int
	f, err := Run(ctx, Options{
		Spec:     s,
		Targets:  []Target{{Kind: Embedded}, {Kind: Null}},
		Command:  "test",
		Progress: func(string, int, int, driver.Sample) { samples++ },
		Logf:     t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := f.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	back.PrintSummary(&out)
	t.Log("\n" + out.String())
	if samples == 0 {
		t.Error("no progress samples")
	}
	emb, null := back.Targets[0], back.Targets[1]
	if emb.Name != "embedded" || null.Name != "null" {
		t.Fatalf("targets %s, %s", emb.Name, null.Name)
	}
	r := emb.Runs[0]
	// 3000 records/s for 1.2 s: about 3600 measured records.
	if r.ProducedRecords < 3000 || r.ProducedRecords > 3700 {
		t.Errorf("embedded produced %d measured records, want about 3600", r.ProducedRecords)
	}
	if r.EndToEndLatency == nil || r.ConsumedRecords != r.ProducedRecords {
		t.Errorf("embedded consumed %d of %d measured records (e2e %v)", r.ConsumedRecords, r.ProducedRecords, r.EndToEndLatency)
	}
	if null.ConsumersSkipped == "" || null.Runs[0].EndToEndLatency != nil {
		t.Errorf("null target: consumers not recorded as skipped")
	}
	if back.Machine.Cores == 0 || back.Spec.Name != "test-short" || len(back.Ratios) == 0 {
		t.Errorf("machine %+v, spec %q, %d ratios", back.Machine, back.Spec.Name, len(back.Ratios))
	}
	phases := map[string]bool{}
	for _, smp := range r.Series {
		phases[smp.Phase] = true
	}
	if !phases[driver.PhaseMeasure] {
		t.Errorf("series %+v has no measured sample", r.Series)
	}
	// A file compared with itself passes.
	if c := results.Compare(back, back, 0.05); c.Regressed() {
		var b strings.Builder
		c.Print(&b)
		t.Errorf("self-comparison regressed:\n%s", b.String())
	}
}
