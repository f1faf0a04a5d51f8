package payments_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/payments"
	"github.com/weir-dev/weir/workloads/stream/streamtest"
)

// run runs the workload against a fresh broker and judges its history.
func run(t *testing.T, cfg payments.Config) (checker.Verdict, []history.Op) {
	t.Helper()
	addr := brokertest.StartConfig(t, func(c *broker.Config) { c.Groups.Coordinator.InitialRebalanceDelayMs = 200 })
	cfg.Client = gen.ClientConfig{Bootstrap: []string{addr}, PollTimeout: 200 * time.Millisecond, OpTimeout: 5 * time.Second}
	w, err := payments.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := w.Run(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx, rec); err != nil {
		t.Fatal(err)
	}
	h := rec.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	return checker.Check(h, w.Opts()), h
}

func TestRunAgainstWeir(t *testing.T) {
	v, h := run(t, payments.Config{Duration: 5 * time.Second, Seed: 1, Partitions: 3, Members: 2,
		Lifetime: 2 * time.Second, CrashShare: 0.5, CrashChance: 0.05})
	t.Logf("%d ops\n%s", len(h), v.Summary())
	if v.Outcome != checker.Valid {
		t.Fatalf("a correct processor judged:\n%s", v.Summary())
	}
	count := map[string]int{}
	for _, op := range h {
		if op.Txn != nil && op.Type != history.Invoke {
			count["txn "+string(op.Type)]++
		}
		if op.Send != nil && op.Type == history.OK {
			count["command"]++
		}
	}
	t.Logf("%v", count)
	streamtest.RequireGroupJudged(t, v, h)
	// Only what no timing can prevent: how many batches, aborts and
	// crashes a run gets depends on the machine (the scripted tests in
	// checkers_test.go cover each of them deterministically).
	if count["command"] < 100 || count["txn ok"] == 0 {
		t.Errorf("too little happened: %v", count)
	}
	for _, name := range []string{checker.PrecommittedRead, checker.TornTransaction, checker.AbortedRead} {
		for _, c := range v.Checks {
			if c.Name == name && c.Status != checker.StatusClean {
				t.Errorf("%s: %s", name, c.Status)
			}
		}
	}
}

// TestDefectsCaughtRealtime plants each defect of the processor against a
// real broker and requires the checker named for it to fire within a few
// short runs. The crashes, aborts and batch boundaries that expose a
// defect come at real-time moments, so this runs on request only; the
// deterministic proof is TestDefectsCaught (checkers_test.go).
func TestDefectsCaughtRealtime(t *testing.T) {
	if testing.Short() || os.Getenv("WEIR_REALTIME_DEFECTS") == "" {
		t.Skip("set WEIR_REALTIME_DEFECTS=1 to run (timing-dependent)")
	}
	churn := payments.Config{Lifetime: 2 * time.Second, CrashShare: 0.5, CrashChance: 0.1, AbortChance: 0.2}
	aborts := payments.Config{AbortChance: 0.3}
	for _, c := range []struct {
		defect  payments.Defects
		anomaly string
		cfg     payments.Config
	}{
		{payments.Defects{NoTransaction: true}, payments.ExactlyOnce, churn},
		{payments.Defects{NoTransaction: true}, checker.AbortedRead, aborts},
		{payments.Defects{KeepStateOnAbort: true}, payments.Conservation, aborts},
		{payments.Defects{StaleBalance: true}, payments.NegativeBalance, churn},
		{payments.Defects{FraudAtLimit: true}, payments.FraudAlerts, churn},
		{payments.Defects{ReadUncommitted: true}, checker.AbortedRead, aborts},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				cfg := c.cfg
				cfg.Duration, cfg.Seed, cfg.Partitions, cfg.Members, cfg.Defects = 6*time.Second, seed, 2, 2, c.defect
				v, _ := run(t, cfg)
				if v.Counts[c.anomaly] > 0 {
					t.Logf("seed %d: %s\n%s", seed, c.anomaly, v.Summary())
					if v.Outcome != checker.Invalid {
						t.Errorf("caught but not invalid:\n%s", v.Summary())
					}
					return
				}
				t.Logf("seed %d did not show %s:\n%s", seed, c.anomaly, v.Summary())
			}
			t.Errorf("%+v not caught in 3 runs", c.defect)
		})
	}
}
