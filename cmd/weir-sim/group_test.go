package main

import (
	"strconv"
	"testing"
)

// --group on and off force the consumer-group mode and change nothing
// else a seed draws: a seed that draws the mode gets the same group with
// --group on, and every other parameter stays the seed's.
func TestGroupFlag(t *testing.T) {
	derive := func(seed int, args ...string) *worldParams {
		f, err := parseFlags(append([]string{"--seed", strconv.Itoa(seed)}, args...))
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"]).World
	}
	drawn := 0
	for seed := 1; seed <= 300; seed++ {
		byseed, on, off := derive(seed), derive(seed, "--group", "on"), derive(seed, "--group", "off")
		if on.GroupBalancer == "" || off.GroupBalancer != "" {
			t.Fatalf("seed %d: --group on gives %q, off %q", seed, on.GroupBalancer, off.GroupBalancer)
		}
		if byseed.GroupBalancer != "" {
			drawn++
			if *on != *byseed {
				t.Fatalf("seed %d: --group on %+v, the seed's own group %+v", seed, on, byseed)
			}
		}
		// Without the group's own fields the worlds are the seed's.
		for _, w := range []*worldParams{on, off} {
			c, b := *w, *byseed
			c.GroupBalancer, c.GroupAssignDelayNs, b.GroupBalancer, b.GroupAssignDelayNs = "", 0, "", 0
			c.Consumers, b.Consumers = 0, 0
			if c != b {
				t.Fatalf("seed %d: %+v differs from the seed's %+v", seed, c, b)
			}
		}
	}
	if drawn < 70 || drawn > 130 {
		t.Errorf("%d of 300 seeds drew the group mode, want about a third", drawn)
	}
	if _, err := parseFlags([]string{"--group", "sometimes"}); err == nil {
		t.Error("--group sometimes accepted")
	}
	if _, err := parseFlags([]string{"--group", "off", "--defect", "group-one-assignment"}); err == nil {
		t.Error("--group off accepted with a group coordinator's defect")
	}
}
