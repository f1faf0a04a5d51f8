package vitals

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"pgregory.net/rapid"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
	"github.com/weir-dev/weir/workloads/stream/streamtest"
)

// The tests here run the monitor's real code (app) on scripted batches,
// aborts, crashes and takeovers in an in-memory cluster (streamtest), so
// the histories they judge are the same on every run: the proof that each
// checker catches its planted defect does not depend on timing.

func testConfig(d Defects) Config {
	cfg, err := Config{Partitions: 2, Patients: 3, HRHigh: 180, SpO2Low: 90, Rise: 30, RiseWithin: time.Minute,
		AlertBound: 30 * time.Second, Defects: d, Seed: 1}.WithDefaults()
	if err != nil {
		panic(err)
	}
	return cfg
}

func rd(id, patient, kind string, v int, ms int64) reading {
	return reading{ID: id, Patient: patient, Kind: kind, V: v, Ms: ms}
}

// Partition 0: patients pt0 and pt2.
var script0 = []reading{
	rd("r1", "pt0", HeartRate, 80, 0),
	rd("r2", "pt0", HeartRate, 170, 20_000), // hr-rise (80 twenty seconds before)
	rd("r3", "pt0", HeartRate, 200, 45_000), // hr-high, hr-rise; 25s after r2 (Interpolate invents 185 between)
	rd("r4", "pt0", SpO2, 85, 46_000),       // spo2-low
	rd("r5", "pt0", HeartRate, 190, 30_000), // late (before r4): hr-high only, outside the ordered stream
	rd("r6", "pt2", HeartRate, 90, 50_000),
	rd("r7", "pt0", HeartRate, 100, 47_000), // in order, no breach (20 above r1)
}

// Partition 1: patient pt1.
var script1 = []reading{
	rd("s1", "pt1", SpO2, 97, 0),
	rd("s2", "pt1", HeartRate, 75, 1000),
	rd("s3", "pt1", HeartRate, 110, 90_000), // 35 above s2, but 89s later
	rd("s4", "pt1", HeartRate, 181, 91_000), // hr-high, hr-rise
}

var wantAlerts = []string{
	"hr-high r3", "hr-high r5", "hr-high s4", "hr-rise r2", "hr-rise r3", "hr-rise s4", "spo2-low r4",
}

// tamper is an App whose outputs pass through edit before they are
// written: a checker's unit test forges what a processor wrote.
type tamper struct {
	stream.App
	edit func(outs []*kgo.Record) []*kgo.Record
}

func (t tamper) Process(b *stream.Batch, rs []*kgo.Record) {
	inner := stream.NewBatch(b.Unique())
	t.App.Process(inner, rs)
	for _, r := range t.edit(inner.Outputs()) {
		b.Emit(r.Topic, r.Partition, string(r.Key), string(r.Value))
	}
}

// runScript sends the readings (and one whose send fails), then: member 1
// processes partition 0 in batches (the second aborted and redone, the
// last crashing before its commit) and the first three readings of
// partition 1; member 2 takes both partitions over and processes what is
// left; 40 seconds pass; member 2 drains the barriers; the final reads.
func runScript(t *testing.T, cfg Config, edit func([]*kgo.Record) []*kgo.Record) []history.Op {
	t.Helper()
	c := streamtest.NewCluster()
	sc := streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{}))
	if edit != nil {
		newApp := sc.NewApp
		sc.NewApp = func() stream.App { return tamper{newApp(), edit} }
	}
	pl := streamtest.NewPipeline(c, sc)
	pr := c.Producer()
	for p, rs := range [][]reading{script0, script1} {
		for _, r := range rs {
			pr.Send(cfg.Topic, int32(p), r.Patient, r.String())
		}
	}
	pr.Lost(history.Fail, cfg.Topic, "pt1", rd("f1", "pt1", HeartRate, 250, 92_000).String())
	m1 := pl.Member()
	m1.Batch(0, 3, streamtest.Commit)
	m1.Batch(0, 2, streamtest.Abort)
	m1.Batch(0, 2, streamtest.Commit)
	m1.Batch(1, 3, streamtest.Commit)
	m1.Batch(0, 2, streamtest.CrashBeforeCommit)
	m2 := pl.Member()
	m2.Batch(0, 10, streamtest.Commit)
	m2.Batch(1, 10, streamtest.Commit)
	c.Advance(40 * time.Second)
	pl.FinishWith(m2, barrierValue)
	h := c.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	return h
}

func judge(t *testing.T, cfg Config, h []history.Op) checker.Verdict {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return checker.Check(h, w.Opts())
}

func TestScriptValid(t *testing.T) {
	cfg := testConfig(Defects{})
	h := runScript(t, cfg, nil)
	v := judge(t, cfg, h)
	if v.Outcome != checker.Valid {
		t.Fatalf("a correct monitor judged:\n%s", v.Summary())
	}
	for _, c := range v.Checks {
		if strings.HasPrefix(c.Name, "vitals-") && c.Status != checker.StatusClean {
			t.Errorf("%s: %s", c.Name, c.Status)
		}
	}
	a := analyze(cfg, h)
	var got []string
	for _, x := range a.alerts {
		got = append(got, x.al.id())
	}
	slices.Sort(got)
	if !slices.Equal(got, wantAlerts) {
		t.Errorf("alerts %q, want %q", got, wantAlerts)
	}
	var late []string
	for _, p := range sortedParts(a.processed.Records) {
		for _, e := range a.processed.Records[p] {
			if x, _ := decode[processed](e.Value); x.Late {
				late = append(late, x.ID)
			}
		}
	}
	if fmt.Sprint(late) != "[r5]" {
		t.Errorf("set aside as late: %v, want [r5]", late)
	}
}

// TestDefectsCaught plants each defect in the scripted run and requires
// the anomaly named for it.
func TestDefectsCaught(t *testing.T) {
	for _, c := range []struct {
		defect  Defects
		anomaly string
		detail  string
	}{
		{Defects{SkipLateAlerts: true}, Alerts, "no alert hr-high r5"},
		{Defects{HoldAlerts: true}, AlertLatency, "alert hr-high s4 committed at"},
		{Defects{NoLateCheck: true}, EventOrder, "reading r5 (event time 30000ms) follows r4"},
		{Defects{Interpolate: true}, UnackedAlert, "alert hr-high r3~mid"},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			cfg := testConfig(c.defect)
			v := judge(t, cfg, runScript(t, cfg, nil))
			if v.Counts[c.anomaly] == 0 || v.Outcome != checker.Invalid {
				t.Fatalf("%+v: no %s:\n%s", c.defect, c.anomaly, v.Summary())
			}
			if !slices.ContainsFunc(v.Anomalies[c.anomaly], func(w checker.Witness) bool { return strings.Contains(w.Detail, c.detail) }) {
				t.Errorf("no witness says %q:\n%s", c.detail, v.Summary())
			}
			t.Logf("%s", v.Anomalies[c.anomaly][0].Detail)
		})
	}
}

// TestCheckersOnForgedOutputs forges one output of a correct monitor per
// case and requires the checker of that property to name it.
func TestCheckersOnForgedOutputs(t *testing.T) {
	cfg := testConfig(Defects{})
	isAlert := func(id string) func(r *kgo.Record) bool {
		return func(r *kgo.Record) bool {
			al, ok := decode[alert](string(r.Value))
			return r.Topic == cfg.Alerts && ok && al.id() == id
		}
	}
	again := func(r *kgo.Record) []*kgo.Record {
		dup := *r
		dup.Value = []byte(strings.Replace(string(r.Value), `"w":"`, `"w":"again-`, 1))
		return []*kgo.Record{r, &dup}
	}
	for _, c := range []struct {
		name    string
		anomaly string
		match   func(r *kgo.Record) bool
		change  func(r *kgo.Record) []*kgo.Record
		detail  string
	}{
		{"alert dropped", Alerts, isAlert("hr-rise s4"), func(*kgo.Record) []*kgo.Record { return nil },
			"no alert hr-rise s4 for reading"},
		{"alert twice", Alerts, isAlert("spo2-low r4"), again, "alert spo2-low r4 raised twice"},
		{"alert for no breach", Alerts, isAlert("hr-high s4"), func(r *kgo.Record) []*kgo.Record {
			r.Value = []byte(strings.Replace(string(r.Value), `"reading":"s4"`, `"reading":"s3"`, 1))
			return []*kgo.Record{r}
		}, "alert hr-high s3 at vitals-alerts/1@"},
		{"alert for a failed send", UnackedAlert, isAlert("hr-high s4"), func(r *kgo.Record) []*kgo.Record {
			r.Value = []byte(strings.Replace(string(r.Value), `"reading":"s4"`, `"reading":"f1"`, 1))
			return []*kgo.Record{r}
		}, "for reading f1, but its send ended fail"},
		{"out of order", EventOrder, func(r *kgo.Record) bool {
			e, ok := decode[processed](string(r.Value))
			return r.Topic == cfg.Processed && ok && e.ID == "r5"
		}, func(r *kgo.Record) []*kgo.Record {
			r.Value = []byte(strings.Replace(string(r.Value), `,"late":true`, ``, 1))
			return []*kgo.Record{r}
		}, "reading r5 (event time 30000ms) follows r4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			edit := func(outs []*kgo.Record) []*kgo.Record {
				var out []*kgo.Record
				for _, r := range outs {
					if c.match(r) {
						out = append(out, c.change(r)...)
						continue
					}
					out = append(out, r)
				}
				return out
			}
			v := judge(t, cfg, runScript(t, cfg, edit))
			ws := v.Anomalies[c.anomaly]
			if !slices.ContainsFunc(ws, func(w checker.Witness) bool { return strings.Contains(w.Detail, c.detail) }) {
				t.Fatalf("no %s witness says %q:\n%s", c.anomaly, c.detail, v.Summary())
			}
		})
	}
}

// TestLatencyBound: the same scripted run with a bound shorter than the
// 40 seconds before the drain finds s4's alerts late only when the bound
// is below the delay.
func TestLatencyBound(t *testing.T) {
	for _, c := range []struct {
		bound time.Duration
		late  bool
	}{{time.Hour, false}, {time.Second, false}, {time.Millisecond, true}} {
		cfg := testConfig(Defects{})
		cfg.AlertBound = c.bound
		v := judge(t, cfg, runScript(t, cfg, nil))
		if got := v.Counts[AlertLatency] > 0; got != c.late {
			t.Errorf("bound %v: late %v, want %v:\n%s", c.bound, got, c.late, v.Summary())
		}
	}
}

// TestUnjudgedWithoutFinals: a history whose final reads are missing is
// never valid.
func TestUnjudgedWithoutFinals(t *testing.T) {
	cfg := testConfig(Defects{})
	var cut []history.Op
	for _, op := range runScript(t, cfg, nil) {
		if op.F == history.FnFinal || op.Process >= gen.FinalProcess {
			continue
		}
		op.Index = int64(len(cut))
		cut = append(cut, op)
	}
	v := judge(t, cfg, cut)
	if v.Outcome == checker.Valid || !v.UnknownBecause(checker.FinalReadIncomplete) {
		t.Fatalf("judged without final reads:\n%s", v.Summary())
	}
}

// TestDraw: a seed gives the same parameters every time, and every draw is
// a configuration New accepts.
func TestDraw(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		a, b := Draw(gen.NewRand(seed)), Draw(gen.NewRand(seed))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("seed %d drew %+v then %+v", seed, a, b)
		}
		if seed%2 == 1 {
			a.AbortChance = -1 // never abort: must read back as never, not as the default
		}
		w, err := New(a)
		if err != nil {
			t.Fatalf("seed %d: %+v: %v", seed, a, err)
		}
		// The printed parameters read back (weir check) to the same run.
		printed, _ := json.Marshal(w.Config())
		var back Config
		if err := json.Unmarshal(printed, &back); err != nil {
			t.Fatal(err)
		}
		w2, err := New(back)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := json.Marshal(w2.Config()); string(again) != string(printed) {
			t.Fatalf("seed %d: printed %s, read back as %s", seed, printed, again)
		}
	}
}

// TestUnjudgedWithoutBarrier: when no barrier's answer came out, the
// breaches with no alert cannot be judged: unknown, never valid.
func TestUnjudgedWithoutBarrier(t *testing.T) {
	cfg := testConfig(Defects{})
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	for p, rs := range [][]reading{script0, script1} {
		for _, r := range rs {
			pr.Send(cfg.Topic, int32(p), r.Patient, r.String())
		}
	}
	pl.Member().Batch(0, 1, streamtest.Commit)
	for i, topic := range []string{cfg.Topic, cfg.Processed, cfg.Alerts} {
		c.Final(i, topic, cfg.Partitions, i > 0)
	}
	v := judge(t, cfg, c.Ops())
	if v.Outcome != checker.Unknown || !v.UnknownBecause(checker.ProcessingIncomplete) {
		t.Fatalf("judged without a barrier's answer:\n%s", v.Summary())
	}
}

func FuzzParseReading(f *testing.F) {
	f.Add(rd("p1.1", "pt0", HeartRate, 181, 1000).String())
	f.Add("rd|x|p|spo2|-1|")
	f.Add("barrier|0|1")
	f.Fuzz(func(t *testing.T, v string) {
		r, ok := parseReading(v)
		if !ok {
			return
		}
		if again, ok := parseReading(r.String()); !ok || again != r {
			t.Fatalf("%q parsed as %+v, which prints as %q and parses as %+v", v, r, r.String(), again)
		}
	})
}

// randomRun runs a correct or defective monitor on readings and a
// schedule drawn from d.
func randomRun(cfg Config, d streamtest.Draws) []history.Op {
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	var sends []func()
	ms := int64(0)
	for i := range d.IntRange(0, 30, "readings") {
		p := d.IntRange(0, 1, "partition")
		patient := fmt.Sprintf("pt%d", p+2*d.IntRange(0, 1, "patient"))
		ms = max(0, ms+int64(d.IntRange(-30_000, 40_000, "event time step")))
		r := rd(fmt.Sprintf("r%d", i), patient, HeartRate, d.IntRange(40, 220, "hr"), ms)
		if d.IntRange(0, 2, "kind") == 0 {
			r.Kind, r.V = SpO2, d.IntRange(80, 100, "spo2")
		}
		sends = append(sends, func() { pr.Send(cfg.Topic, int32(p), r.Patient, r.String()) })
	}
	streamtest.RandomRun(d, pl, sends, barrierValue)
	return c.Ops()
}

// TestRandomSchedulesValid: a correct monitor under any schedule of
// batches, aborts, crashes and takeovers (drawn by rapid) is judged valid:
// the checkers have no false positives on what the pipeline can do.
func TestRandomSchedulesValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := testConfig(Defects{})
		cfg.AlertBound = 24 * time.Hour // the clock moves at random here; TestLatencyBound judges latency
		h := randomRun(cfg, streamtest.Rapid(t))
		if err := history.Validate(h); err != nil {
			t.Fatal(err)
		}
		w, _ := New(cfg)
		if v := checker.Check(h, w.Opts()); v.Outcome != checker.Valid {
			t.Fatalf("a correct monitor judged:\n%s", v.Summary())
		}
	})
}

// TestDefectsFoundBySeededSchedules: each planted defect is found by a
// search over seeded random schedules within 100 seeds, the same seed on
// every run (no timing: the schedule is the seed's), on a schedule the
// correct application passes.
func TestDefectsFoundBySeededSchedules(t *testing.T) {
	for _, c := range []struct {
		defect  Defects
		anomaly string
	}{
		{Defects{SkipLateAlerts: true}, Alerts},
		// Held alerts come out late only when the member that holds them
		// lives to the barrier (TestDefectsCaught scripts that); here the
		// drain is a new member, so they never come out.
		{Defects{HoldAlerts: true}, Alerts},
		{Defects{NoLateCheck: true}, EventOrder},
		{Defects{Interpolate: true}, UnackedAlert},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			cfg := testConfig(c.defect)
			cfg.AlertBound = 24 * time.Hour // the clock moves at random here
			w, _ := New(cfg)
			correct := cfg
			correct.Defects = Defects{}
			for seed := uint64(1); seed <= 100; seed++ {
				// The same schedule, judged valid without the defect and
				// invalid with it: the defect, not the schedule, is caught.
				if v := checker.Check(randomRun(correct, streamtest.Seeded(seed)), w.Opts()); v.Outcome != checker.Valid {
					continue
				}
				v := checker.Check(randomRun(cfg, streamtest.Seeded(seed)), w.Opts())
				if v.Counts[c.anomaly] > 0 && v.Outcome == checker.Invalid {
					t.Logf("%+v: seed %d: %s", c.defect, seed, v.Anomalies[c.anomaly][0].Detail)
					return
				}
			}
			t.Errorf("%+v: no %s in 100 seeded schedules", c.defect, c.anomaly)
		})
	}
}
