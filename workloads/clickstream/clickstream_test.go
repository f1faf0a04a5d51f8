package clickstream_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/brokertest"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/clickstream"
	"github.com/weir-dev/weir/workloads/gen"
)

// run runs the workload against a fresh broker and judges its history.
func run(t *testing.T, cfg clickstream.Config) (checker.Verdict, []history.Op) {
	t.Helper()
	addr := brokertest.StartConfig(t, func(c *broker.Config) { c.Groups.Coordinator.InitialRebalanceDelayMs = 200 })
	cfg.Client = gen.ClientConfig{Bootstrap: []string{addr}, PollTimeout: 200 * time.Millisecond, OpTimeout: 5 * time.Second}
	w, err := clickstream.New(cfg)
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
	v, h := run(t, clickstream.Config{Duration: 4 * time.Second, Seed: 1, Partitions: 3, Members: 2,
		Lifetime: 1500 * time.Millisecond, CrashShare: 0.5})
	t.Logf("%d ops\n%s", len(h), v.Summary())
	if v.Outcome != checker.Valid {
		t.Fatalf("a correct pipeline judged:\n%s", v.Summary())
	}
	var sessions, restores, events int
	for _, op := range h {
		if op.Type == history.OK && op.Txn != nil {
			sessions += len(op.Txn.Mops)
		}
		if op.Type == history.OK && op.Assign != nil && op.Assign.Topic == "sessions" && op.Process < gen.FinalProcess {
			restores++
		}
		if op.Type == history.OK && op.Send != nil {
			events++
		}
	}
	t.Logf("%d events, %d summaries written, %d restores", events, sessions, restores)
	// Restores happen only when a member takes a partition over, which
	// real timing may not bring in a short run (seen: 0 to 5); the
	// scripted tests cover restores deterministically.
	if events < 100 || sessions < 10 {
		t.Errorf("too little happened: %d events, %d summaries, %d restores", events, sessions, restores)
	}
}

// TestDefectsCaughtRealtime plants each defect of the processing
// application against a real broker and requires the checker named for it
// to fire within a few short runs. Whether a crash or a partition move
// lands where a defect shows depends on real time (SkipRestore was caught
// at seed 1 on one run and in none of 8 on another of the same commit), so
// this runs on request only; the deterministic proof is
// TestDefectsCaughtScripted (script_test.go), which puts the crash and the
// takeover where each defect shows.
func TestDefectsCaughtRealtime(t *testing.T) {
	if testing.Short() || os.Getenv("WEIR_REALTIME_DEFECTS") == "" {
		t.Skip("set WEIR_REALTIME_DEFECTS=1 to run (timing-dependent)")
	}
	for _, c := range []struct {
		defect  clickstream.Defects
		anomaly string
	}{
		{clickstream.Defects{CommitBeforeWrite: true}, clickstream.LostEvent},
		{clickstream.Defects{SkipRestore: true}, clickstream.DoubleCount},
		{clickstream.Defects{EventTimeOrder: true}, clickstream.Order},
		{clickstream.Defects{GapFromFirst: true}, clickstream.SessionWindow},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			for seed := uint64(1); seed <= 8; seed++ {
				v, _ := run(t, clickstream.Config{Duration: 6 * time.Second, Seed: seed, Partitions: 2, Members: 2,
					Lifetime: 2 * time.Second, CrashShare: 0.5, CrashChance: 0.2, Defects: c.defect})
				if v.Counts[c.anomaly] > 0 {
					t.Logf("seed %d: %s\n%s", seed, c.anomaly, v.Summary())
					if v.Outcome != checker.Invalid {
						t.Errorf("caught but not invalid:\n%s", v.Summary())
					}
					return
				}
				t.Logf("seed %d did not show %s:\n%s", seed, c.anomaly, v.Summary())
			}
			t.Errorf("%+v not caught in 8 runs", c.defect)
		})
	}
}
