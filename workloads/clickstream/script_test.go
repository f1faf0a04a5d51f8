package clickstream

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream/streamtest"
)

// The tests here run the sessionizer's real code (app) on a scripted
// batch, crash and takeover in an in-memory cluster (streamtest), so the
// history each defect is judged on is the same on every run. Against a
// real broker a defect shows only when a crash or a partition move lands
// where it matters (SkipRestore, for one, needs a takeover while a session
// that began before the committed offset has closed and another is still
// open), which is chance timing; here the script puts it there.

func scriptConfig(d Defects) Config {
	cfg, err := Config{Partitions: 1, Producers: 1, Users: 3, Gap: 500 * time.Millisecond, Defects: d, Seed: 1}.WithDefaults()
	if err != nil {
		panic(err)
	}
	return cfg
}

// clickScript is one partition's events. With a 500ms window the log's
// sessions are u1@0 {0,2}, u2@1 {1,3,4,5} and u3@6 {6}.
var clickScript = []event{
	{User: "u1", Seq: 1, Kind: "view", Ms: 0},
	{User: "u2", Seq: 1, Kind: "view", Ms: 300},
	{User: "u1", Seq: 2, Kind: "click", Ms: 350},
	{User: "u2", Seq: 2, Kind: "view", Ms: 700},
	{User: "u2", Seq: 3, Kind: "view", Ms: 1000}, // closes u1@0 (650ms after its last event)
	{User: "u2", Seq: 4, Kind: "click", Ms: 950}, // a device clock behind: u2's events out of event-time order
	{User: "u3", Seq: 1, Kind: "view", Ms: 2000}, // closes u2@1
}

// runClickScript: member 1 processes offsets 0-4 (writes u1@0, commits 1,
// the first event of the open u2@1), then crashes before writing the
// batch of offsets 5-6; member 2 takes the partition over and replays
// from the committed offset; then the drain and the final reads.
func runClickScript(t *testing.T, cfg Config) []history.Op {
	t.Helper()
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	for _, e := range clickScript {
		pr.Send(cfg.Topic, 0, e.User, e.String())
	}
	m1 := pl.Member()
	m1.Batch(0, 5, streamtest.Commit)
	m1.Batch(0, 2, streamtest.CrashBeforeWrite)
	m2 := pl.Member()
	m2.Drain(0, 10)
	pl.Finish(barrierValue)
	h := c.Ops()
	if err := history.Validate(h); err != nil {
		t.Fatal(err)
	}
	return h
}

func judgeClicks(t *testing.T, cfg Config, h []history.Op) checker.Verdict {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return checker.Check(h, w.Opts())
}

func TestScriptValid(t *testing.T) {
	cfg := scriptConfig(Defects{})
	h := runClickScript(t, cfg)
	v := judgeClicks(t, cfg, h)
	if v.Outcome != checker.Valid {
		t.Fatalf("a correct sessionizer judged:\n%s", v.Summary())
	}
	var got []string
	for _, s := range analyze(cfg, h).sessions {
		got = append(got, s.sum.SID+" "+offsets(s.sum.Offs))
	}
	if want := "u1@0 0,2|u2@1 1,3,4,5|u3@6 6"; strings.Join(got, "|") != want {
		t.Errorf("sessions %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestDefectsCaughtScripted plants each defect in the scripted run and
// requires the anomaly named for it, with the witness that shows it.
func TestDefectsCaughtScripted(t *testing.T) {
	for _, c := range []struct {
		defect  Defects
		anomaly string
		detail  string
	}{
		{Defects{CommitBeforeWrite: true}, LostEvent, "ev|u2|1|view|300"},
		{Defects{SkipRestore: true}, DoubleCount, "sessions u1@0 (offsets 0,2) and u1@2 (offsets 2) both count it"},
		{Defects{EventTimeOrder: true}, Order, "session u2@1 of user u2 lists input offsets 1,3,5,4"},
		{Defects{GapFromFirst: true}, SessionWindow, "session u2@1 counts input offsets 1,3"},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			cfg := scriptConfig(c.defect)
			v := judgeClicks(t, cfg, runClickScript(t, cfg))
			if v.Counts[c.anomaly] == 0 || v.Outcome != checker.Invalid {
				t.Fatalf("%+v: no %s:\n%s", c.defect, c.anomaly, v.Summary())
			}
			found := false
			for _, w := range v.Anomalies[c.anomaly] {
				found = found || strings.Contains(w.Detail, c.detail)
			}
			if !found {
				t.Errorf("no witness says %q:\n%s", c.detail, v.Summary())
			}
		})
	}
}

// TestInputOrderForged: a history in which one client's events of a user
// sit in the input the other way round from the order the client was
// given them (as a broker that reordered a producer's batches would
// leave it) is an order violation, with both events named.
func TestInputOrderForged(t *testing.T) {
	cfg := scriptConfig(Defects{})
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	events := append([]event(nil), clickScript...)
	events[3], events[4] = events[4], events[3] // u2's seq 3 lands before its seq 2
	for _, e := range events {
		pr.Send(cfg.Topic, 0, e.User, e.String())
	}
	pl.Finish(barrierValue)
	v := judgeClicks(t, cfg, c.Ops())
	want := "user u2: client 1 was given ev|u2|2|view|700 before ev|u2|3|view|1000"
	found := false
	for _, w := range v.Anomalies[Order] {
		found = found || strings.Contains(w.Detail, want)
	}
	if !found || v.Outcome != checker.Invalid {
		t.Fatalf("no %s witness says %q:\n%s", Order, want, v.Summary())
	}
}

// randomRun runs a correct or defective sessionizer on events and a
// schedule drawn from d.
func randomRun(cfg Config, d streamtest.Draws) []history.Op {
	c := streamtest.NewCluster()
	pl := streamtest.NewPipeline(c, streamtest.From(cfg.processor(&gen.Procs{}, &gen.Counter{})))
	pr := c.Producer()
	var sends []func()
	seq := map[string]int{}
	ms := int64(0)
	for range d.IntRange(0, 30, "events") {
		u := d.IntRange(0, 3, "user")
		user := fmt.Sprintf("u%d", u)
		seq[user]++
		ms = max(0, ms+int64(d.IntRange(-200, 900, "event time step")))
		e := event{User: user, Seq: seq[user], Kind: "view", Ms: ms}
		sends = append(sends, func() { pr.Send(cfg.Topic, int32(u%2), e.User, e.String()) })
	}
	streamtest.RandomRun(d, pl, sends, barrierValue)
	return c.Ops()
}

func randomConfig(d Defects) Config {
	cfg := scriptConfig(d)
	cfg.Partitions = 2
	return cfg
}

// TestRandomSchedulesValid: a correct sessionizer under any schedule of
// batches, crashes and takeovers (drawn by rapid) is judged valid: the
// checkers have no false positives on what the pipeline can do.
func TestRandomSchedulesValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := randomConfig(Defects{})
		h := randomRun(cfg, streamtest.Rapid(t))
		if err := history.Validate(h); err != nil {
			t.Fatal(err)
		}
		w, _ := New(cfg)
		if v := checker.Check(h, w.Opts()); v.Outcome != checker.Valid {
			t.Fatalf("a correct sessionizer judged:\n%s", v.Summary())
		}
	})
}

// TestDefectsFoundBySeededSchedules: each planted defect is found by a
// search over seeded random schedules within 100 seeds (SkipRestore
// within 300: it needs a takeover right after a session that reached past
// the committed offset closed), the same seed on
// every run (no timing: the schedule is the seed's), on a schedule the
// correct application passes.
func TestDefectsFoundBySeededSchedules(t *testing.T) {
	for _, c := range []struct {
		defect  Defects
		anomaly string
	}{
		{Defects{CommitBeforeWrite: true}, LostEvent},
		{Defects{SkipRestore: true}, DoubleCount},
		{Defects{EventTimeOrder: true}, Order},
		{Defects{GapFromFirst: true}, SessionWindow},
	} {
		t.Run(c.anomaly, func(t *testing.T) {
			cfg := randomConfig(c.defect)
			w, _ := New(cfg)
			correct := cfg
			correct.Defects = Defects{}
			for seed := uint64(1); seed <= 300; seed++ {
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
			t.Errorf("%+v: no %s in 300 seeded schedules", c.defect, c.anomaly)
		})
	}
}
