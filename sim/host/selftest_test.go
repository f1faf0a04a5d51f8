package host

import (
	"slices"
	"strings"
	"testing"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/workloads/registry"
)

// The full selftest plants every defect the guest knows, the broker's and
// the workloads', each with what it should be caught by; a workload's
// defect runs its workload (instead of the queue).
func TestFullSelftestCasesCoverEveryDefect(t *testing.T) {
	cases := FullSelftestCases(7)
	if len(cases) != len(broker.DefectCatalog())+len(registry.DefectCatalog()) {
		t.Fatalf("%d cases for %d broker and %d workload defects", len(cases), len(broker.DefectCatalog()), len(registry.DefectCatalog()))
	}
	for _, c := range cases {
		breaks, expected := defectInfo(c.Defect)
		if breaks == "" || len(expected) == 0 || c.Seeds != 7 {
			t.Errorf("%s: breaks %q, expected %v, seeds %d", c.Defect, breaks, expected, c.Seeds)
		}
		d, isWorkload := registry.LookupDefect(c.Defect)
		i := slices.Index(c.Args, "--workload")
		switch {
		case isWorkload && (i < 0 || c.Args[i+1] != d.Workload):
			t.Errorf("%s runs with %v, not its workload %s", c.Defect, c.Args, d.Workload)
		case !isWorkload && i >= 0:
			t.Errorf("broker defect %s runs with %v", c.Defect, c.Args)
		case c.Defect == broker.GroupStaleEpochCommit && !slices.Equal(c.Args, []string{"--group", "on,consumer"}),
			c.Defect == broker.GroupAssignUnreleased && !slices.Equal(c.Args, []string{"--group", "on,consumer"}),
			c.Defect == broker.GroupStaticUnfenced && !slices.Equal(c.Args, []string{"--group", "on,classic,static"}),
			c.Defect == broker.GroupForgetParkedSync && !slices.Equal(c.Args, []string{"--group", "on,classic,dynamic"}),
			c.Defect == broker.GroupOneAssignment && !slices.Equal(c.Args, []string{"--group", "on,classic"}),
			c.Defect == broker.GroupAcceptStaleCommit && !slices.Equal(c.Args, []string{"--group", "on,classic"}),
			broker.IsGroupDefect(c.Defect) && (len(c.Args) != 2 || c.Args[0] != "--group" || !strings.HasPrefix(c.Args[1], "on")):
			// Its runs without the defect must be group runs too.
			t.Errorf("group defect %s runs with %v", c.Defect, c.Args)
		case broker.IsCompactionDefect(c.Defect) && !slices.Equal(c.Args, []string{"--compaction", "on"}):
			// Its runs without the defect must be compaction runs too.
			t.Errorf("compaction defect %s runs with %v", c.Defect, c.Args)
		}
	}
}

func TestOverrideFlags(t *testing.T) {
	got := overrideFlags([]string{"--workload", "payments", "--duration", "20s"}, []string{"--duration", "10s", "--faults", "crash"})
	if want := []string{"--workload", "payments", "--duration", "10s", "--faults", "crash"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := overrideFlags(nil, nil); len(got) != 0 {
		t.Errorf("got %v", got)
	}
	// A boolean flag stands alone: it is kept, and so is the flag after
	// it with its value (elect-outside-isr's --lone-leader was dropped so).
	lone := DefectArgs("elect-outside-isr")
	if got := overrideFlags(lone, nil); !slices.Equal(got, lone) {
		t.Errorf("got %v, want %v", got, lone)
	}
	got = overrideFlags([]string{"--lone-leader", "--faults", "crash,partition", "--x=1"}, []string{"--faults", "crash", "--x=2"})
	if want := []string{"--lone-leader", "--faults", "crash", "--x=2"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A negative value is a value, not a flag: it goes with its flag.
	got = overrideFlags([]string{"--rate", "-1", "--duration", "-5s", "--lone-leader"}, []string{"--rate", "200"})
	if want := []string{"--duration", "-5s", "--lone-leader", "--rate", "200"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A case with Want counts a seed as catching its defect only when one of
// those checkers caught it: no-kip890's hanging transaction (liveness)
// alone does not, its anomalies do; a case without Want takes any verdict.
func TestSelftestCaseWant(t *testing.T) {
	var kip SelftestCase
	for _, c := range FullSelftestCases(3) {
		if c.Defect == "no-kip890" {
			kip = c
		}
	}
	if len(kip.Want) == 0 || slices.Contains(kip.Want, "liveness") {
		t.Fatalf("no-kip890's case wants %v", kip.Want)
	}
	if kip.catches([]string{"liveness"}) {
		t.Error("a liveness failure alone caught no-kip890")
	}
	for _, a := range []string{"aborted-read", "torn-transaction", "precommitted-read", "lost-write"} {
		if !kip.catches([]string{a, "liveness"}) {
			t.Errorf("%s did not catch no-kip890", a)
		}
		if !slices.Contains(kip.expected(), a) {
			t.Errorf("%s is not among no-kip890's expected %v", a, kip.expected())
		}
	}
	plain := SelftestCase{Defect: "no-epoch-bump"}
	if !plain.catches([]string{"liveness"}) || len(plain.expected()) == 0 {
		t.Errorf("a case without Want: catches %v, expected %v", plain.catches([]string{"liveness"}), plain.expected())
	}
}
