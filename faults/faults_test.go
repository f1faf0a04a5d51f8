package faults_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
		"a crash inside a lone-leader window": {Duration: time.Minute, Events: []faults.Event{
			{At: 1, Op: faults.OpLoneLeader, Keep: 0.5}, {At: 2, Op: faults.OpCrash, Node: "n2"},
			{At: 3, Op: faults.OpRestart, Node: "n2"}, {At: 4, Op: faults.OpLoneLeaderHeal}}},
		"an unhealed lone-leader window": {Duration: time.Minute, Events: []faults.Event{{At: 1, Op: faults.OpLoneLeader}}},
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

// Crashes are aimed where bugs live: the generated crash windows hold
// every shape (at a time, after an fsync inside and past it, during a roll
// when segments roll, short restarts, crashes during recovery, back-to-back
// crashes), and every schedule stays inside the atlas.
func TestCrashShapes(t *testing.T) {
	const sync, net = 3 * time.Millisecond, 2 * time.Millisecond
	counts := map[string]int{}
	for seed := range uint64(300) {
		cfg := faults.Config{Nodes: names(1), Kinds: faults.SetOf(faults.Crash), Duration: time.Minute,
			SyncLatency: sync, NetLatency: net, SegmentRolls: seed%2 == 0}
		s := faults.Generate(rand.New(rand.NewPCG(seed, 5)), cfg)
		if err := s.Check(faults.AtlasFor(1), cfg.Nodes); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, s)
		}
		var lastRestart time.Duration = -1
		for _, e := range s.Events {
			switch {
			case e.Op == faults.OpCrash && e.Trigger == faults.TriggerAt:
				counts["at"]++
			case e.Op == faults.OpCrash && e.Trigger == faults.TriggerSync:
				if e.Nth < 1 || e.Lag < 0 || e.Lag > sync+2*net {
					t.Fatalf("seed %d: %v: Nth or Lag out of range", seed, e)
				}
				if e.Lag < sync {
					counts["inside fsync"]++
				} else {
					counts["after fsync"]++
				}
			case e.Op == faults.OpCrash && e.Trigger == faults.TriggerRoll:
				if !cfg.SegmentRolls {
					t.Fatalf("seed %d: %v: a roll trigger where segments never roll", seed, e)
				}
				counts["roll"]++
			case e.Op == faults.OpRestart && e.Ops > 0:
				counts["during recovery"]++
			case e.Op == faults.OpRestart:
				lastRestart = e.At
			}
			if e.Op == faults.OpCrash && e.Down > 0 {
				if e.Down > 2*time.Second {
					t.Fatalf("seed %d: %v: a short downtime of %v", seed, e, e.Down)
				}
				counts["restarting itself"]++
			}
			if e.Op == faults.OpCrash && lastRestart >= 0 && e.At-lastRestart < time.Second {
				counts["back to back"]++
			}
		}
		for i, e := range s.Events {
			if e.Op == faults.OpCrash && i+1 < len(s.Events) && s.Events[i+1].At-e.At <= 2*time.Second {
				counts["short"]++
			}
		}
	}
	for _, shape := range []string{"at", "inside fsync", "after fsync", "roll", "during recovery", "back to back", "short", "restarting itself"} {
		if counts[shape] == 0 {
			t.Errorf("300 schedules hold no crash %s: %v", shape, counts)
		}
	}
}

func TestCheckCrashTriggers(t *testing.T) {
	atlas, nodes := faults.AtlasFor(1), names(1)
	sched := func(events ...faults.Event) faults.Schedule {
		return faults.Schedule{Duration: time.Minute, Events: events}
	}
	crash := func(e faults.Event) faults.Event { e.At, e.Op, e.Node = 1, faults.OpCrash, "n1"; return e }
	restart := func(at time.Duration, ops int) faults.Event {
		return faults.Event{At: at, Op: faults.OpRestart, Node: "n1", Ops: ops}
	}
	for name, tc := range map[string]struct {
		s  faults.Schedule
		ok bool
	}{
		"sync trigger":                    {sched(crash(faults.Event{Trigger: faults.TriggerSync, Nth: 2, Lag: time.Millisecond}), restart(2, 0)), true},
		"sync trigger without Nth":        {sched(crash(faults.Event{Trigger: faults.TriggerSync}), restart(2, 0)), false},
		"roll trigger":                    {sched(crash(faults.Event{Trigger: faults.TriggerRoll, Ops: 3}), restart(2, 0)), true},
		"roll trigger without Ops":        {sched(crash(faults.Event{Trigger: faults.TriggerRoll}), restart(2, 0)), false},
		"unknown trigger":                 {sched(crash(faults.Event{Trigger: 99}), restart(2, 0)), false},
		"timed crash with Down":           {sched(crash(faults.Event{Down: time.Second}), restart(2, 0)), false},
		"sync trigger with Down":          {sched(crash(faults.Event{Trigger: faults.TriggerSync, Nth: 1, Down: time.Second}), restart(2, 0)), true},
		"crash during recovery, healed":   {sched(crash(faults.Event{}), restart(2, 5), restart(3, 0)), true},
		"crash during recovery, unhealed": {sched(crash(faults.Event{}), restart(2, 5)), false},
	} {
		if err := tc.s.Check(atlas, nodes); (err == nil) != tc.ok {
			t.Errorf("%s: Check = %v, want ok=%v", name, err, tc.ok)
		}
	}
	e := faults.Event{At: time.Second, Op: faults.OpCrash, Node: "n1", Keep: 0.5, Trigger: faults.TriggerSync, Nth: 3, Lag: 1500 * time.Microsecond}
	if got, want := e.String(), "+1.000000s crash n1 keep=0.50 at=sync#3+1.5ms"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	e = faults.Event{At: time.Second, Op: faults.OpRestart, Node: "n1", Keep: 0.25, Ops: 7}
	if got, want := e.String(), "+1.000000s restart n1 crash-after=7ops keep=0.25"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// With client hosts, partitions also cut clients off: from everyone, from
// one node, or some clients from the whole cluster; never anything but a
// network fault touches a client.
func TestClientPartitions(t *testing.T) {
	clients := []string{"c1", "c2", "c3"}
	seen := map[string]bool{}
	for seed := range uint64(200) {
		for size := 1; size <= 3; size++ {
			cfg := faults.Config{Nodes: names(size), Clients: clients, Kinds: faults.All, Duration: time.Minute}
			s := faults.Generate(rand.New(rand.NewPCG(seed, uint64(size))), cfg)
			if err := s.Check(faults.AtlasFor(size), cfg.Nodes, clients...); err != nil {
				t.Fatalf("size %d seed %d: %v\n%s", size, seed, err, s)
			}
			for _, e := range s.Events {
				switch {
				case e.Op == faults.OpIsolate && strings.HasPrefix(e.Node, "c"):
					seen["isolate-client"] = true
				case e.Op == faults.OpCut && strings.HasPrefix(e.From, "c"):
					seen["cut-client"] = true
				case e.Op == faults.OpPartition && strings.HasPrefix(e.Groups[len(e.Groups)-1][0], "c"):
					seen["split-clients"] = true
				}
			}
		}
	}
	for _, shape := range []string{"isolate-client", "cut-client", "split-clients"} {
		if !seen[shape] {
			t.Errorf("no %s in 600 schedules", shape)
		}
	}
	bad := faults.Schedule{Duration: time.Minute, Events: []faults.Event{
		{At: 1, Op: faults.OpCrash, Node: "c1"}, {At: 2, Op: faults.OpRestart, Node: "c1"}}}
	if err := bad.Check(faults.AtlasFor(1), names(1), clients...); err == nil {
		t.Fatal("Check accepted a crash of a client host")
	}
	if err := (faults.Schedule{Duration: time.Minute, Events: []faults.Event{
		{At: 1, Op: faults.OpIsolate, Node: "c1"}, {At: 2, Op: faults.OpRejoin, Node: "c1"}}}).Check(faults.AtlasFor(1), names(1)); err == nil {
		t.Fatal("Check accepted a client it was not told of")
	}
}

// TestLoneLeaderWindows: with LoneLeader, some crash windows aim at a lone
// leader; each is long enough for the ISR to shrink, the leader to write
// alone and stay down past LeaderDown, ends inside the phase, and holds
// the down track (Check: one node down at a time). Off, the schedule is
// the one drawn without the option's fields.
func TestLoneLeaderWindows(t *testing.T) {
	lone := 0
	for seed := range uint64(100) {
		cfg := faults.Config{Nodes: names(3), Kinds: faults.SetOf(faults.Crash, faults.Partition), Duration: 60 * time.Second}
		plain := faults.Generate(rand.New(rand.NewPCG(seed, 9)), cfg)
		cfg.ReplicaLag, cfg.LeaderDown = []time.Duration{5 * time.Second, 10 * time.Second}[seed%2], 12*time.Second
		if off := faults.Generate(rand.New(rand.NewPCG(seed, 9)), cfg); off.String() != plain.String() {
			t.Fatalf("seed %d: ReplicaLag and LeaderDown without LoneLeader changed the schedule", seed)
		}
		cfg.LoneLeader = true
		s := faults.Generate(rand.New(rand.NewPCG(seed, 9)), cfg)
		if err := s.Check(faults.AtlasFor(3), cfg.Nodes); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, s)
		}
		// The first crash window is a lone-leader one wherever the
		// longest such window (2 s for a first write alone, 2 s of
		// lone writes) fits.
		longest := cfg.ReplicaLag*3/2 + time.Second + 2*time.Second + 2*time.Second + cfg.LeaderDown
		for _, e := range s.Events {
			if e.Op == faults.OpLoneLeader {
				break
			}
			if e.Op == faults.OpCrash && e.At+longest <= cfg.Duration {
				t.Fatalf("seed %d: the first crash window, at %v, is not a lone-leader window\n%s", seed, e.At, s)
			}
		}
		for i, e := range s.Events {
			if e.Op != faults.OpLoneLeader {
				continue
			}
			lone++
			j := i + 1
			for j < len(s.Events) && s.Events[j].Op != faults.OpLoneLeaderHeal {
				j++
			}
			if j == len(s.Events) {
				t.Fatalf("seed %d: %v is never healed", seed, e)
			}
			// The ISR shrinks between the lag and 1.5 times the lag
			// after the cut (a check every half lag), then the
			// controller answers; then 2 s for a first write alone.
			if need := cfg.ReplicaLag*3/2 + time.Second + 2*time.Second + e.Lag + cfg.LeaderDown; s.Events[j].At-e.At < need {
				t.Fatalf("seed %d: %v healed after %v, needs %v", seed, e, s.Events[j].At-e.At, need)
			}
		}
	}
	if lone < 50 {
		t.Fatalf("%d lone-leader windows in 100 schedules", lone)
	}
}

// With dedicated controllers among the nodes, a cut between a client and
// a node aims only at the nodes clients talk to (ClientTargets); without
// targets the schedule is what it was.
func TestClientCutsAimAtTargets(t *testing.T) {
	nodes := []string{"k1", "k2", "k3", "n1", "n2"}
	clients := []string{"producer-0", "consumer-0"}
	cuts := map[string]int{}
	for seed := range uint64(300) {
		cfg := faults.Config{Nodes: nodes, Clients: clients, ClientTargets: []string{"n1", "n2"}, Kinds: faults.SetOf(faults.Partition), Duration: time.Minute}
		s := faults.Generate(rand.New(rand.NewPCG(seed, 1)), cfg)
		for _, e := range s.Events {
			if e.Op == faults.OpCut && slices.Contains(clients, e.From) {
				cuts[e.To]++
			}
		}
		plain := cfg
		plain.ClientTargets = nil
		all := cfg
		all.ClientTargets = nodes
		if a, b := faults.Generate(rand.New(rand.NewPCG(seed, 1)), plain), faults.Generate(rand.New(rand.NewPCG(seed, 1)), all); a.String() != b.String() {
			t.Fatalf("seed %d: every node as a target changed the schedule:\n%s\n%s", seed, a, b)
		}
	}
	if cuts["n1"] == 0 || cuts["n2"] == 0 || cuts["k1"]+cuts["k2"]+cuts["k3"] != 0 {
		t.Fatalf("client cuts by node: %v; want only n1 and n2", cuts)
	}
}
