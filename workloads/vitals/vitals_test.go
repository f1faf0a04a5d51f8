package vitals_test

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
	// A crashed member holds its partitions for its session timeout (6s)
	// and its open transaction holds their restore back for the
	// transaction timeout (10s): two crashes in a row on a loaded machine
	// can delay an alert past the default 30s, which is the workload's
	// promise only for a cluster that answers. The bound here leaves
	// room for that; TestLatencyBound and the planted HoldAlerts show the
	// check itself.
	v, h := run(t, vitals.Config{Duration: 5 * time.Second, Seed: 1, Partitions: 3, Members: 2,
		Lifetime: 2 * time.Second, CrashShare: 0.5, CrashChance: 0.05, AlertBound: 90 * time.Second})
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

// TestDefectsCaughtRealtime plants each defect of the monitor against a
// real broker and requires the checker named for it to fire within a few
// short runs. Whether a run holds the readings that expose a defect
// depends on timing, so this runs on request only; the deterministic
// proof is TestDefectsCaught (checkers_test.go).
func TestDefectsCaughtRealtime(t *testing.T) {
	if testing.Short() || os.Getenv("WEIR_REALTIME_DEFECTS") == "" {
		t.Skip("set WEIR_REALTIME_DEFECTS=1 to run (timing-dependent)")
	}
	base := vitals.Config{LateShare: 0.3, SpikeShare: 0.1}
	// Few readings per patient, so heart rates are far apart in event
	// time, and a low threshold, so the invented ones breach it.
	sparse := vitals.Config{Rate: 10, HRHigh: 70, Patients: 10, TimeScale: 30}
	for _, c := range []struct {
		defect  vitals.Defects
		anomaly string
		cfg     vitals.Config
	}{
		{vitals.Defects{SkipLateAlerts: true}, vitals.Alerts, base},
		// The drain is a new processor: alerts held by the run's members
		// never come out (TestDefectsCaught shows them coming out late).
		{vitals.Defects{HoldAlerts: true}, vitals.Alerts, base},
		{vitals.Defects{NoLateCheck: true}, vitals.EventOrder, base},
		{vitals.Defects{Interpolate: true}, vitals.UnackedAlert, sparse},
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
