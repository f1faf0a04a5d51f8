package faults_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/faults"
)

// TestLateAlterWindows: each window crashes one broker and then another,
// each back within a second, and holds every other broker's next
// AlterPartition 9-13 s from the first crash to the second, landing within
// the safety phase; merged into a generated schedule the two never have
// more than one node down at once; the draw is a function of the seed.
func TestLateAlterWindows(t *testing.T) {
	nodes := []string{"c1", "c2", "c3", "n1", "n2", "n3", "n4"}
	brokers := nodes[3:]
	one := faults.AtlasFor(len(nodes))
	one.MaxDown = 1
	windows := 0
	for seed := range uint64(40) {
		base := faults.Generate(rand.New(rand.NewPCG(seed, 2)), faults.Config{Nodes: nodes, Kinds: faults.All, Duration: time.Minute})
		cfg := faults.AlterWindowConfig{Brokers: brokers, AlterPartition: kmsg.AlterPartition.Int16(), Duration: time.Minute, Busy: base}
		late := faults.LateAlterWindows(rand.New(rand.NewPCG(seed, 1)), cfg)
		again := faults.LateAlterWindows(rand.New(rand.NewPCG(seed, 1)), cfg)
		if len(late) != len(again) {
			t.Fatalf("seed %d: %d then %d events", seed, len(late), len(again))
		}
		for i := range late {
			if late[i].String() != again[i].String() {
				t.Fatalf("seed %d: event %d: %v, then %v", seed, i, late[i], again[i])
			}
		}
		if err := base.Merge(late).Check(one, nodes); err != nil {
			t.Fatalf("seed %d: %v\n%v", seed, err, late)
		}
		windows += checkAlterWindows(t, seed, late, brokers, time.Minute)
	}
	if windows < 20 {
		t.Errorf("%d windows over 40 seeds", windows)
	}
}

// checkAlterWindows checks the shape of each window of events (sorted)
// and returns how many there are.
func checkAlterWindows(t *testing.T, seed uint64, events []faults.Event, brokers []string, d time.Duration) int {
	t.Helper()
	var crashes []faults.Event
	restarted := map[string]time.Duration{}
	for _, e := range events {
		switch e.Op {
		case faults.OpCrash:
			crashes = append(crashes, e)
		case faults.OpRestart:
			restarted[e.Node] = e.At
		}
	}
	if len(crashes)%2 != 0 {
		t.Fatalf("seed %d: %d crashes", seed, len(crashes))
	}
	for i := 0; i < len(crashes); i += 2 {
		x, m := crashes[i], crashes[i+1]
		if x.Node == m.Node || !slices.Contains(brokers, x.Node) || !slices.Contains(brokers, m.Node) {
			t.Errorf("seed %d: crashes %v, %v", seed, x, m)
		}
		var arms, heals []faults.Event
		for _, e := range events {
			switch {
			case e.Op == faults.OpLateRequest && e.At == x.At:
				arms = append(arms, e)
			case e.Op == faults.OpLateRequestHeal && e.At == m.At:
				heals = append(heals, e)
			}
		}
		if len(arms) != len(brokers)-2 || len(heals) != len(arms) {
			t.Errorf("seed %d: window at %v: %d arms, %d heals for %d brokers", seed, x.At, len(arms), len(heals), len(brokers))
		}
		for _, a := range arms {
			if a.Node == x.Node || a.Node == m.Node || a.Request != kmsg.AlterPartition.Int16() ||
				a.Hold < 9*time.Second || a.Hold > 13*time.Second || m.At+a.Hold > d {
				t.Errorf("seed %d: %v in the window of %v and %v", seed, a, x, m)
			}
		}
		if m.At-x.At < 3*time.Second || m.At-x.At > 6*time.Second {
			t.Errorf("seed %d: %v then %v", seed, x, m)
		}
	}
	return len(crashes) / 2
}

// Fewer than three brokers, or a schedule with a node always down, leave
// no room for a window.
func TestLateAlterWindowsNeedRoom(t *testing.T) {
	cfg := faults.AlterWindowConfig{Brokers: []string{"n1", "n2"}, AlterPartition: kmsg.AlterPartition.Int16(), Duration: time.Minute}
	if w := faults.LateAlterWindows(rand.New(rand.NewPCG(1, 1)), cfg); w != nil {
		t.Errorf("two brokers: %v", w)
	}
	cfg.Brokers = []string{"n1", "n2", "n3"}
	if w := faults.LateAlterWindows(rand.New(rand.NewPCG(1, 1)), cfg); len(w) == 0 {
		t.Error("three brokers and a quiet schedule: no window")
	}
	cfg.Busy = faults.Schedule{Duration: time.Minute, Events: []faults.Event{
		{At: 0, Op: faults.OpPause, Node: "n1"}, {At: time.Minute, Op: faults.OpResume, Node: "n1"},
	}}
	if w := faults.LateAlterWindows(rand.New(rand.NewPCG(1, 1)), cfg); w != nil {
		t.Errorf("a node down all along: %v", w)
	}
}
