package vitals_test

import (
	"context"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/vitals"
)

// run runs the workload against a fresh broker and judges its history.
func run(t *testing.T, cfg vitals.Config) (checker.Verdict, []history.Op) {
	t.Helper()
	addr := brokertest.StartConfig(t, func(c *broker.Config) { c.Groups.Coordinator.InitialRebalanceDelayMs = 200 })
	cfg.Client = gen.ClientConfig{Bootstrap: []string{addr}, PollTimeout: 200 * time.Millisecond, OpTimeout: 5 * time.Second}
	w, err := vitals.New(cfg)
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
	v, h := run(t, vitals.Config{Duration: 5 * time.Second, Seed: 1, Partitions: 3, Members: 2,
		Lifetime: 2 * time.Second, CrashShare: 0.5, CrashChance: 0.05})
	t.Logf("%d ops\n%s", len(h), v.Summary())
	if v.Outcome != checker.Valid {
		t.Fatalf("a correct monitor judged:\n%s", v.Summary())
	}
	count := map[string]int{}
	for _, op := range h {
		if op.Txn != nil && op.Type != history.Invoke {
			count["txn "+string(op.Type)]++
		}
		if op.Send != nil && op.Type == history.OK {
			count["reading"]++
		}
		if op.Txn != nil && op.Type == history.OK {
			for _, s := range op.Txn.Mops {
				if s.Send != nil && s.Send.Topic == "vitals-alerts" {
					count["alert"]++
				}
			}
		}
	}
	t.Logf("%v", count)
	// Only what no timing can prevent: how many batches, aborts and
	// crashes a run gets depends on the machine (the scripted tests in
	// checkers_test.go cover each of them deterministically).
	if count["reading"] < 100 || count["txn ok"] == 0 {
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
