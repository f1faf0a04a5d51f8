package harness

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/results"
	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/broker"
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
	back := writeAndRead(t, f)
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

// TestRunWorkloadEmbeddedAndExternal runs the shipped payments spec,
// shortened, as a workload benchmark against the embedded target and an
// external one (another in-process broker): the workload's traffic is
// measured from its history (sends, processed commands, end-to-end
// latency to the committed ledger entry) into a valid results.json, with
// the parameters the spec gave, and the external cluster keeps none of
// the run's topics.
func TestRunWorkloadEmbeddedAndExternal(t *testing.T) {
	s, err := spec.Load("../specs/payments.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Warmup, s.Duration, s.Workload.Cooldown = spec.Duration(time.Second), spec.Duration(2*time.Second), spec.Duration(time.Second)
	// One member and no initial rebalance delay: the group forms at once.
	s.Workload.Params["members"], s.Workload.Params["rate"] = 1, 100
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	noDelay := func(c *broker.Config) { c.Groups.Coordinator.InitialRebalanceDelayMs = 0 }
	ext, stopExt, err := startEmbedded(ctx, noDelay)
	if err != nil {
		t.Fatal(err)
	}
	defer stopExt()
	var samples int
	f, err := Run(ctx, Options{
		Spec: s, Targets: []Target{{Kind: Embedded}, {Kind: External, Addr: ext}}, Command: "test",
		Progress: func(string, int, int, driver.Sample) { samples++ },
		Logf:     t.Logf,
		Embedded: noDelay,
	})
	if err != nil {
		t.Fatal(err)
	}
	back := writeAndRead(t, f)
	for _, tg := range back.Targets {
		t.Run(tg.Name, func(t *testing.T) { checkWorkloadRun(t, tg.Runs[0]) })
	}
	if samples == 0 {
		t.Error("no progress samples")
	}
	if c := results.Compare(back, back, 0.05); c.Regressed() || len(c.Rows) == 0 {
		t.Errorf("self-comparison: %d rows, regressed %v", len(c.Rows), c.Regressed())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(ext))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range topics.Names() {
		if strings.Contains(name, "weir-bench-") {
			t.Errorf("the external cluster kept the run's topic %s", name)
		}
	}
}

// checkWorkloadRun checks one run of the shortened payments spec.
func checkWorkloadRun(t *testing.T, r results.Run) {
	w := r.Workload
	if w == nil || w.Name != "payments" || !strings.HasPrefix(w.InputTopic, "payments-weir-bench-payments-") {
		t.Fatalf("workload %+v", w)
	}
	var params struct {
		Partitions int32 `json:"partitions"`
		Producers  int   `json:"producers"`
		Members    int   `json:"members"`
		WindowNs   int64 `json:"window_ns"`
		DurationNs int64 `json:"duration_ns"`
	}
	if err := json.Unmarshal(w.Params, &params); err != nil {
		t.Fatal(err)
	}
	if params.Partitions != 8 || params.Producers != 4 || params.Members != 1 ||
		params.WindowNs != int64(5*time.Minute) || params.DurationNs != int64(4*time.Second) {
		t.Errorf("params as run %s: not the spec's", w.Params)
	}
	// 4 producers at 100 commands/s for 2 s: at most about 800 measured
	// sends, and the embedded broker keeps up with far more.
	if r.ProducedRecords < 200 || r.ProducedRecords > 1000 {
		t.Errorf("%d measured sends, want 200 to 1000", r.ProducedRecords)
	}
	// Every measured command is processed by the end of the drain.
	if w.Unprocessed != 0 || r.ConsumedRecords != r.ProducedRecords {
		t.Errorf("processed %d of %d measured commands, %d unprocessed in the run", r.ConsumedRecords, r.ProducedRecords, w.Unprocessed)
	}
	if e := r.EndToEndLatency; e == nil || e.Count != r.ConsumedRecords || e.P50 <= 0 || e.P50 > e.P99 {
		t.Errorf("end-to-end latency %+v for %d processed", e, r.ConsumedRecords)
	}
	phases := map[string]int{}
	for _, smp := range r.Series {
		phases[smp.Phase]++
	}
	if phases[driver.PhaseWarmup] != 1 || phases[driver.PhaseMeasure] != 2 || phases[driver.PhaseDrain] == 0 {
		t.Errorf("series phases %v, want 1 s warm-up, 2 s measured, then drain", phases)
	}
}

// TestWorkloadSpecRefusals: a workload spec on the null target, or with
// a parameter its workload does not have, is refused before any target
// starts.
func TestWorkloadSpecRefusals(t *testing.T) {
	s, err := spec.Load("../specs/vitals.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := Run(ctx, Options{Spec: s, Targets: []Target{{Kind: Embedded}, {Kind: Null}}}); err == nil || !strings.Contains(err.Error(), "null") {
		t.Errorf("null target: %v", err)
	}
	s.Workload.Params = map[string]any{"patiens": 3}
	if _, err := Run(ctx, Options{Spec: s, Targets: []Target{{Kind: Embedded}}}); err == nil || !strings.Contains(err.Error(), "patiens") {
		t.Errorf("unknown parameter: %v", err)
	}
	s.Workload = &spec.Workload{Name: "queue", Cooldown: spec.Duration(time.Second)}
	if _, err := Run(ctx, Options{Spec: s, Targets: []Target{{Kind: Embedded}}}); err == nil || !strings.Contains(err.Error(), "no processing stage") {
		t.Errorf("queue: %v", err)
	}
}

// writeAndRead writes f as results.json, reads it back, validates it and
// logs its summary.
func writeAndRead(t *testing.T, f *results.File) *results.File {
	t.Helper()
	path, err := f.Write(t.TempDir())
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
	return back
}
