package payments

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

// The tests here run the processor's real code (app) on scripted batches,
// aborts, crashes and takeovers in an in-memory cluster (streamtest), so
// the histories they judge are the same on every run: the proof that each
// checker catches its planted defect does not depend on timing.

// testConfig has two branches of four accounts, b0 in partition 0 and b1
// in partition 1; more than 3 withdrawals in 5 minutes is fraud.
func testConfig(d Defects) Config {
	cfg, err := Config{Partitions: 2, Branches: 2, Accounts: 4, MaxWithdrawals: 3, Window: 5 * time.Minute,
		CreditLimit: 100, Defects: d, Seed: 1}.WithDefaults()
	if err != nil {
		panic(err)
	}
	return cfg
}

func cmd(id, kind, acct, to string, amount, ms int64) command {
	return command{ID: id, Kind: kind, Acct: acct, To: to, Amount: amount, Ms: ms}
}

// The commands of partition 0, with what a correct processor makes of
// them.
var script0 = []command{
	cmd("c1", "deposit", "b0a1", "", 200, 0),
	cmd("c2", "deposit", "b0a2", "", 100, 1000),
	cmd("c3", "withdraw", "b0a1", "", 10, 2000),
	cmd("c4", "withdraw", "b0a1", "", 10, 3000),
	cmd("c5", "withdraw", "b0a1", "", 10, 4000), // 3 withdrawals: at the limit, no alert
	cmd("c6", "withdraw", "b0a1", "", 10, 5000), // 4 in window 0: tumbling and sliding alerts
	cmd("c7", "transfer", "b0a2", "b0a3", 50, 6000),
	cmd("c8", "withdraw", "b0a2", "", 40, 7000),   // b0a2: 50 -> 10
	cmd("c9", "withdraw", "b0a2", "", 40, 8000),   // rejected: 10 - 40 < 0
	cmd("c10", "withdraw", "b0a0", "", 150, 9000), // rejected: below the credit limit of 100
	cmd("c11", "deposit", "b0a3", "", 5, 301_000),
	cmd("c12", "withdraw", "b0a1", "", 10, 302_000), // window 1; sliding: c4, c5, c6, c12 within 5 minutes
}

var script1 = []command{
	cmd("d1", "deposit", "b1a1", "", 100, 0),
	cmd("d2", "transfer", "b1a1", "b1a2", 30, 1000),
	cmd("d3", "withdraw", "b1a2", "", 10, 2000),
	cmd("d4", "withdraw", "b1a0", "", 60, 3000), // the credit account may go to -60
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

// runScript sends the script, then runs it: member 1 processes partition
// 0 in batches of three (the second aborted and redone, the fourth
// crashing before its commit), partition 1 in one batch; member 2 takes
// partition 0 over; then the drain and the final reads.
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
	for p, cmds := range [][]command{script0, script1} {
		for _, x := range cmds {
			b, _ := branchOf(x.Acct)
			pr.Send(cfg.Topic, int32(p), b, x.String())
		}
	}
	m1 := pl.Member()
	m1.Batch(0, 3, streamtest.Commit)
	m1.Batch(0, 3, streamtest.Abort)
	m1.Batch(0, 3, streamtest.Commit)
	m1.Batch(1, 10, streamtest.Commit)
	m1.Batch(0, 3, streamtest.Commit) // c7-c9 together: a stale balance would let c9 through
	m1.Batch(0, 2, streamtest.CrashBeforeCommit)
	m2 := pl.Member()
	m2.Batch(0, 10, streamtest.Commit)
	c.Advance(time.Second)
	pl.Finish(barrierValue)
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
		t.Fatalf("a correct processor judged:\n%s", v.Summary())
	}
	for _, c := range v.Checks {
		if strings.HasPrefix(c.Name, "payments-") && c.Status != checker.StatusClean {
			t.Errorf("%s: %s", c.Name, c.Status)
		}
	}
	a := analyze(cfg, h)
	var alerts []string
	for _, p := range sortedParts(a.alerts.Records) {
		for _, e := range a.alerts.Records[p] {
			al, _ := decode[alert](e.Value)
			alerts = append(alerts, al.id())
		}
	}
	slices.Sort(alerts)
	want := []string{"sliding b0a1 at c12", "sliding b0a1 at c6", "tumbling b0a1 window 0"}
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts %q, want %q", alerts, want)
	}
	final := map[string]int64{}
	for _, e := range a.balances.Records[0] {
		b, _ := decode[balance](e.Value)
		final[b.Acct] = b.Bal
	}
	for _, e := range a.balances.Records[1] {
		b, _ := decode[balance](e.Value)
		final[b.Acct] = b.Bal
	}
	wantBal := map[string]int64{"b0a1": 150, "b0a2": 10, "b0a3": 55, "b1a0": -60, "b1a1": 70, "b1a2": 20}
	if fmt.Sprint(final) != fmt.Sprint(wantBal) {
		t.Errorf("final balances %v, want %v", final, wantBal)
	}
	var applied, rejected int
	for _, le := range a.entries {
		if le.e.Applied {
			applied++
		} else {
			rejected++
		}
	}
	if applied != 14 || rejected != 2 {
		t.Errorf("%d applied, %d rejected; want 14 and 2", applied, rejected)
	}
}

// TestDefectsCaught plants each defect in the scripted run and requires
// the anomaly named for it.
func TestDefectsCaught(t *testing.T) {
	for _, c := range []struct {
		defect  Defects
		anomaly string
	}{
		{Defects{NoTransaction: true}, ExactlyOnce},
		{Defects{KeepStateOnAbort: true}, Conservation},
		{Defects{ReadUncommitted: true}, checker.AbortedRead},      // the restore after the abort
		{Defects{ReadUncommitted: true}, checker.PrecommittedRead}, // the takeover while member 1's transaction is open
		{Defects{StaleBalance: true}, NegativeBalance},
		{Defects{FraudAtLimit: true}, FraudAlerts},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			cfg := testConfig(c.defect)
			v := judge(t, cfg, runScript(t, cfg, nil))
			if v.Counts[c.anomaly] == 0 || v.Outcome != checker.Invalid {
				t.Fatalf("%+v: no %s:\n%s", c.defect, c.anomaly, v.Summary())
			}
			t.Logf("%s", v.Anomalies[c.anomaly][0].Detail)
		})
	}
}

// TestCheckersOnForgedOutputs forges one output of a correct processor per
// case and requires the checker of that property to name it.
func TestCheckersOnForgedOutputs(t *testing.T) {
	edit := func(match func(r *kgo.Record) bool, change func(r *kgo.Record) []*kgo.Record) func([]*kgo.Record) []*kgo.Record {
		return func(outs []*kgo.Record) []*kgo.Record {
			var out []*kgo.Record
			for _, r := range outs {
				if match(r) {
					out = append(out, change(r)...)
					continue
				}
				out = append(out, r)
			}
			return out
		}
	}
	cfg := testConfig(Defects{})
	isLedger := func(id string) func(r *kgo.Record) bool {
		return func(r *kgo.Record) bool {
			e, ok := decode[entry](string(r.Value))
			return r.Topic == cfg.Ledger && ok && e.Cmd == id
		}
	}
	for _, c := range []struct {
		name    string
		anomaly string
		match   func(r *kgo.Record) bool
		change  func(r *kgo.Record) []*kgo.Record
		detail  string
	}{
		{"entry written twice", ExactlyOnce, isLedger("d2"), func(r *kgo.Record) []*kgo.Record {
			again := *r
			again.Value = []byte(strings.Replace(string(r.Value), `"w":"`, `"w":"again-`, 1))
			return []*kgo.Record{r, &again}
		}, "command d2 (transfer 30 from b1a1) has two committed ledger entries"},
		{"entry missing", ExactlyOnce, isLedger("d3"), func(*kgo.Record) []*kgo.Record { return nil },
			"command d3 at payments/1@2 is in no committed ledger entry"},
		{"transfer credits more than it debits", Conservation, isLedger("d2"), func(r *kgo.Record) []*kgo.Record {
			r.Value = []byte(strings.Replace(string(r.Value), `{"a":"b1a2","d":30,"b":30}`, `{"a":"b1a2","d":31,"b":31}`, 1))
			return []*kgo.Record{r}
		}, "leg 1 moves +31 on b1a2, want +30 on b1a2"},
		{"state topic disagrees", Conservation, func(r *kgo.Record) bool {
			b, ok := decode[balance](string(r.Value))
			return r.Topic == cfg.Balances && ok && b.Cmd == "d3"
		}, func(r *kgo.Record) []*kgo.Record {
			r.Value = []byte(strings.Replace(string(r.Value), `"b":20`, `"b":25`, 1))
			return []*kgo.Record{r}
		}, "the state topic says b1a2 is 25 after command d3"},
		{"overdraft applied", NegativeBalance, isLedger("d4"), func(r *kgo.Record) []*kgo.Record {
			r.Value = []byte(strings.Replace(string(r.Value), `"d":-60,"b":-60`, `"d":-160,"b":-160`, 1))
			return []*kgo.Record{r}
		}, "takes account b1a0 to -160, below its floor -100"},
		{"sliding alert missing", FraudAlerts, func(r *kgo.Record) bool {
			al, ok := decode[alert](string(r.Value))
			return r.Topic == cfg.Alerts && ok && al.Cmd == "c12"
		}, func(*kgo.Record) []*kgo.Record { return nil }, "no alert sliding b0a1 at c12"},
		{"tumbling alert again", FraudAlerts, func(r *kgo.Record) bool {
			al, ok := decode[alert](string(r.Value))
			return r.Topic == cfg.Alerts && ok && al.Rule == "tumbling"
		}, func(r *kgo.Record) []*kgo.Record {
			again := *r
			again.Value = []byte(strings.Replace(string(r.Value), `"w":"`, `"w":"again-`, 1))
			return []*kgo.Record{r, &again}
		}, "alert tumbling b0a1 window 0 raised twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := judge(t, cfg, runScript(t, cfg, edit(c.match, c.change)))
			ws := v.Anomalies[c.anomaly]
			if len(ws) == 0 {
				t.Fatalf("no %s:\n%s", c.anomaly, v.Summary())
			}
			if !slices.ContainsFunc(ws, func(w checker.Witness) bool { return strings.Contains(w.Detail, c.detail) }) {
				t.Errorf("no %s witness says %q:\n%s", c.anomaly, c.detail, v.Summary())
			}
			for _, w := range ws {
				if len(w.Ops) == 0 {
					t.Errorf("witness without ops: %s", w.Detail)
				}
			}
		})
	}
}

// TestUnjudgedWithoutFinals: a history whose final reads are missing is
// never valid.
func TestUnjudgedWithoutFinals(t *testing.T) {
	cfg := testConfig(Defects{})
	h := runScript(t, cfg, nil)
	var cut []history.Op
	for _, op := range h {
		if op.F == history.FnFinal || op.Process >= 1<<30 {
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
// commands with no entry cannot be judged: unknown, never valid.
func TestUnjudgedWithoutBarrier(t *testing.T) {
	cfg := testConfig(Defects{})
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	for p, cmds := range [][]command{script0, script1} {
		for _, x := range cmds {
			b, _ := branchOf(x.Acct)
			pr.Send(cfg.Topic, int32(p), b, x.String())
		}
	}
	pl.Member().Batch(0, 3, streamtest.Commit)
	for i, topic := range []string{cfg.Topic, cfg.Ledger, cfg.Balances, cfg.Alerts} {
		c.Final(i, topic, cfg.Partitions, i > 0)
	}
	v := judge(t, cfg, c.Ops())
	if v.Outcome != checker.Unknown || !v.UnknownBecause(checker.ProcessingIncomplete) {
		t.Fatalf("judged without a barrier's answer:\n%s", v.Summary())
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add(cmd("p1.1", "transfer", "b0a1", "b0a2", 30, 1000).String())
	f.Add("cmd|x|withdraw|a||-5|")
	f.Add("barrier|0|1")
	f.Fuzz(func(t *testing.T, v string) {
		c, ok := parseCommand(v)
		if !ok {
			return
		}
		if again, ok := parseCommand(c.String()); !ok || again != c {
			t.Fatalf("%q parsed as %+v, which prints as %q and parses as %+v", v, c, c.String(), again)
		}
		branchOf(c.Acct)
	})
}

// randomRun runs a correct or defective processor on commands and a
// schedule drawn from d.
func randomRun(cfg Config, d streamtest.Draws) []history.Op {
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	kinds := []string{"deposit", "withdraw", "withdraw", "transfer"}
	var sends []func()
	ms := int64(0)
	for i := range d.IntRange(0, 30, "commands") {
		p := d.IntRange(0, 1, "partition")
		from := d.IntRange(0, 3, "account") * d.IntRange(0, 1, "busy") // account 0 of a branch half the time
		to := (from + d.IntRange(1, 3, "to")) % 4
		ms = max(0, ms+int64(d.IntRange(-30_000, 90_000, "event time step")))
		x := cmd(fmt.Sprintf("c%d", i), kinds[d.IntRange(0, len(kinds)-1, "kind")], account(p, from), "", int64(d.IntRange(1, 150, "amount")), ms)
		if x.Kind == "transfer" {
			x.To = account(p, to)
		}
		sends = append(sends, func() { pr.Send(cfg.Topic, int32(p), fmt.Sprintf("b%d", p), x.String()) })
	}
	streamtest.RandomRun(d, pl, sends, barrierValue)
	return c.Ops()
}

// TestRandomSchedulesValid: a correct processor under any schedule of
// batches, aborts, crashes and takeovers (drawn by rapid) is judged
// valid: the checkers have no false positives on what the pipeline can
// do.
func TestRandomSchedulesValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := testConfig(Defects{})
		h := randomRun(cfg, streamtest.Rapid(t))
		if err := history.Validate(h); err != nil {
			t.Fatal(err)
		}
		w, _ := New(cfg)
		if v := checker.Check(h, w.Opts()); v.Outcome != checker.Valid {
			t.Fatalf("a correct processor judged:\n%s", v.Summary())
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
		{Defects{NoTransaction: true}, ExactlyOnce},
		{Defects{KeepStateOnAbort: true}, Conservation},
		{Defects{ReadUncommitted: true}, checker.AbortedRead},
		{Defects{ReadUncommitted: true}, checker.PrecommittedRead},
		{Defects{StaleBalance: true}, NegativeBalance},
		{Defects{FraudAtLimit: true}, FraudAlerts},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			cfg := testConfig(c.defect)
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
