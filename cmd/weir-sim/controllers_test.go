package main

import (
	"strings"
	"testing"
)

// The seed puts the metadata quorum on dedicated controllers on about a
// third of the seeds, --controllers forces either mode, and the draw
// changes nothing else the seed decides.
func TestSeedDrawsControllers(t *testing.T) {
	const n = 1500
	dedicated := 0
	for s := uint64(1); s <= n; s++ {
		derive := func(mode string) params {
			f, err := parseFlags([]string{"--seed", "0", "--controllers", mode})
			if err != nil {
				t.Fatal(err)
			}
			f.seed = s
			return deriveParams(f, scenarios["world"])
		}
		seed, comb, ded := derive(modeSeed), derive(modeCombined), derive(modeDedicated)
		if comb.World.ControllerMode != modeCombined || comb.World.Controllers != 0 ||
			ded.World.ControllerMode != modeDedicated || ded.World.Controllers != dedicatedControllers {
			t.Fatalf("seed %d: --controllers not obeyed: combined %+v, dedicated %+v", s, comb.World, ded.World)
		}
		switch seed.World.ControllerMode {
		case modeDedicated:
			dedicated++
		case modeCombined:
		default:
			t.Fatalf("seed %d: controller mode %q", s, seed.World.ControllerMode)
		}
		// Everything else is what the combined cluster drew.
		w := *ded.World
		w.ControllerMode, w.Controllers = modeCombined, 0
		if w != *comb.World {
			t.Fatalf("seed %d: the mode changed other parameters:\n%+v\n%+v", s, w, *comb.World)
		}
		if s <= 3 {
			if got := clusterLine(ded.World); !strings.Contains(got, "3 dedicated controllers") {
				t.Errorf("CLUSTER= line %q", got)
			}
			if got := clusterLine(comb.World); !strings.Contains(got, "combined mode") {
				t.Errorf("CLUSTER= line %q", got)
			}
		}
	}
	if dedicated < n/4 || dedicated > n*2/5 {
		t.Errorf("%d of %d seeds dedicated, want about a third", dedicated, n)
	}
	if _, err := parseFlags([]string{"--controllers", "both"}); err == nil {
		t.Error("--controllers both accepted")
	}
}
