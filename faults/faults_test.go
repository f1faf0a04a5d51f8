package faults_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/faults"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"partition,crash,disk", "partition,crash,disk"},
		{" Crash , partition ", "partition,crash"},
		{"all", "partition,crash,pause,disk,clock,flaky"},
		{"", "none"},
		{"none", "none"},
	} {
		s, err := faults.Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if s.String() != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, s, tc.want)
		}
		if back, err := faults.Parse(s.String()); err != nil || back != s {
			t.Errorf("Parse(%q) does not round-trip: %v, %v", s, back, err)
		}
	}
	if _, err := faults.Parse("crash,meteor"); err == nil || !strings.Contains(err.Error(), "meteor") {
		t.Fatalf("Parse of an unknown kind: %v", err)
	}
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

func TestGenerateIsAFunctionOfTheSeed(t *testing.T) {
	cfg := faults.Config{Nodes: names(3), Kinds: faults.All, Duration: 60 * time.Second}
	a := faults.Generate(rand.New(rand.NewPCG(42, 0)), cfg).String()
	b := faults.Generate(rand.New(rand.NewPCG(42, 0)), cfg).String()
	c := faults.Generate(rand.New(rand.NewPCG(43, 0)), cfg).String()
	if a != b {
		t.Fatalf("same seed, different schedules:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("seeds 42 and 43 gave the same schedule:\n%s", a)
	}
	// Node order in the config must not matter.
	cfg.Nodes = []string{"n3", "n1", "n2"}
	if d := faults.Generate(rand.New(rand.NewPCG(42, 0)), cfg).String(); d != a {
		t.Fatalf("node order changed the schedule:\n%s\n%s", a, d)
	}
}

// TestGenerateStaysInsideTheAtlas over many seeds and cluster sizes.
func TestGenerateStaysInsideTheAtlas(t *testing.T) {
	for size := 1; size <= 5; size++ {
		for seed := range uint64(200) {
			cfg := faults.Config{Nodes: names(size), Kinds: faults.All, Duration: 30 * time.Second}
			s := faults.Generate(rand.New(rand.NewPCG(seed, uint64(size))), cfg)
			if err := s.Check(faults.AtlasFor(size), cfg.Nodes); err != nil {
				t.Fatalf("size %d seed %d: %v\n%s", size, seed, err, s)
			}
			for _, e := range s.Events {
				if size == 1 && (e.Op == faults.OpPartition || e.Op == faults.OpCut) {
					t.Fatalf("size 1 seed %d: %v needs two nodes", seed, e)
				}
			}
		}
	}
}

func TestGenerateOnlyEnabledKinds(t *testing.T) {
	kinds := faults.SetOf(faults.Crash, faults.Disk)
	seen := map[faults.Kind]int{}
	for seed := range uint64(50) {
		s := faults.Generate(rand.New(rand.NewPCG(seed, 9)), faults.Config{Nodes: names(1), Kinds: kinds, Duration: 60 * time.Second})
		for _, e := range s.Events {
			if !kinds.Has(e.Op.Kind()) {
				t.Fatalf("seed %d: %v is not enabled (%s)", seed, e, kinds)
			}
			seen[e.Op.Kind()]++
		}
	}
	if seen[faults.Crash] == 0 || seen[faults.Disk] == 0 {
		t.Fatalf("50 seeds produced %v: an enabled kind never appears", seen)
	}
	if s := faults.Generate(rand.New(rand.NewPCG(1, 1)), faults.Config{Nodes: names(3), Duration: time.Minute}); len(s.Events) != 0 {
		t.Fatalf("no kinds enabled, got %v", s)
	}
}

func TestCheckRejects(t *testing.T) {
	atlas := faults.AtlasFor(3)
	nodes := names(3)
	for name, s := range map[string]faults.Schedule{
		"unhealed": {Duration: time.Minute, Events: []faults.Event{{At: time.Second, Op: faults.OpCrash, Node: "n1"}}},
		"two down": {Duration: time.Minute, Events: []faults.Event{
			{At: 1, Op: faults.OpCrash, Node: "n1"}, {At: 2, Op: faults.OpPause, Node: "n2"},
			{At: 3, Op: faults.OpRestart, Node: "n1"}, {At: 4, Op: faults.OpResume, Node: "n2"}}},
		"unknown node": {Duration: time.Minute, Events: []faults.Event{{At: 1, Op: faults.OpIsolate, Node: "x"}, {At: 2, Op: faults.OpRejoin, Node: "x"}}},
		"too many disk errors": {Duration: time.Minute, Events: []faults.Event{
			{At: 1, Op: faults.OpDiskFaults, Node: "n1", Prob: 0.1, Count: 99}, {At: 2, Op: faults.OpDiskHeal, Node: "n1"}}},
		"out of order": {Duration: time.Minute, Events: []faults.Event{
			{At: 2, Op: faults.OpIsolate, Node: "n1"}, {At: 1, Op: faults.OpRejoin, Node: "n1"}}},
		"clock jump too far": {Duration: time.Minute, Events: []faults.Event{
			{At: 1, Op: faults.OpClockJump, Node: "n1", Offset: time.Hour}, {At: 2, Op: faults.OpClockReset, Node: "n1"}}},
	} {
		if err := s.Check(atlas, nodes); err == nil {
			t.Errorf("%s: Check accepted\n%s", name, s)
		}
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    faults.Event
		want string
	}{
		{faults.Event{At: 12500 * time.Millisecond, Op: faults.OpCrash, Node: "n1", Keep: 0.42}, "+12.500000s crash n1 keep=0.42"},
		{faults.Event{At: time.Second, Op: faults.OpPartition, Groups: [][]string{{"n1"}, {"n2", "n3"}}}, "+1.000000s partition [n1] [n2 n3]"},
		{faults.Event{At: 0, Op: faults.OpCut, From: "n1", To: "n2"}, "+0.000000s cut n1->n2"},
		{faults.Event{At: 0, Op: faults.OpDiskFaults, Node: "n2", Prob: 0.25, Count: 2}, "+0.000000s disk-faults n2 p=0.25 max=2"},
		{faults.Event{At: 0, Op: faults.OpHealSplit}, "+0.000000s heal-partition"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestReadFlips(t *testing.T) {
	e := faults.Event{At: 0, Op: faults.OpDiskFaults, Node: "n1", Prob: 0.25, Count: 2, FlipProb: 0.1, Flips: 3}
	if got, want := e.String(), "+0.000000s disk-faults n1 p=0.25 max=2 flips p=0.10 max=3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	e = faults.Event{At: 0, Op: faults.OpDiskFaults, Node: "n1", FlipProb: 0.1, Flips: 3}
	if got, want := e.String(), "+0.000000s disk-faults n1 flips p=0.10 max=3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	atlas := faults.AtlasFor(1)
	window := func(e faults.Event) faults.Schedule {
		e.At, e.Op, e.Node = 1, faults.OpDiskFaults, "n1"
		return faults.Schedule{Duration: time.Minute, Events: []faults.Event{e, {At: 2, Op: faults.OpDiskHeal, Node: "n1"}}}
	}
	for name, tc := range map[string]struct {
		e  faults.Event
		ok bool
	}{
		"flips only":         {faults.Event{FlipProb: 0.1, Flips: 2}, true},
		"errors and flips":   {faults.Event{Prob: 0.1, Count: 1, FlipProb: 0.2, Flips: atlas.MaxReadFlips}, true},
		"nothing":            {faults.Event{}, false},
		"too many flips":     {faults.Event{FlipProb: 0.1, Flips: atlas.MaxReadFlips + 1}, false},
		"flip p too high":    {faults.Event{FlipProb: atlas.MaxFlipProb + 0.01, Flips: 1}, false},
		"flips with no p":    {faults.Event{Flips: 1}, false},
		"negative flips":     {faults.Event{Prob: 0.1, Count: 1, FlipProb: 0.1, Flips: -1}, false},
		"errors with no p":   {faults.Event{Count: 1}, false},
		"too many errors":    {faults.Event{Prob: 0.1, Count: atlas.MaxDiskErrors + 1}, false},
		"errors, p too high": {faults.Event{Prob: atlas.MaxDiskProb + 0.1, Count: 1}, false},
	} {
		if err := window(tc.e).Check(atlas, []string{"n1"}); (err == nil) != tc.ok {
			t.Errorf("%s: Check = %v, want ok=%v", name, err, tc.ok)
		}
	}
	// Generated disk windows draw flips in some windows, not all.
	withFlips, without := 0, 0
	for seed := range uint64(100) {
		s := faults.Generate(rand.New(rand.NewPCG(seed, 3)), faults.Config{Nodes: names(1), Kinds: faults.SetOf(faults.Disk), Duration: time.Minute})
		for _, e := range s.Events {
			if e.Op != faults.OpDiskFaults {
				continue
			}
			if e.Flips > 0 {
				withFlips++
			} else {
				without++
			}
		}
	}
	if withFlips == 0 || without == 0 {
		t.Fatalf("disk windows with flips: %d, without: %d; want both", withFlips, without)
	}
	// An atlas without write errors still gets flip-only windows.
	a := atlas
	a.MaxDiskErrors = 0
	s := faults.Generate(rand.New(rand.NewPCG(1, 1)), faults.Config{Nodes: names(1), Kinds: faults.SetOf(faults.Disk), Duration: time.Minute, Atlas: a})
	if len(s.Events) == 0 {
		t.Fatal("no disk windows with MaxDiskErrors 0")
	}
	if err := s.Check(a, names(1)); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.Events {
		if e.Op == faults.OpDiskFaults && (e.Count != 0 || e.Flips == 0) {
			t.Fatalf("%v: want flips only", e)
		}
	}
}
