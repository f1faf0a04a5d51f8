package plot

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	s := func(sec float64) time.Duration { return time.Duration(math.Round(sec * 1e9)) }
	tests := []struct {
		name  string
		trace string
		want  []Fault
	}{
		{
			name: "crash and restart",
			trace: `
       1989000 world        0.001982s safety phase: 2 fault events over 1m0s
    5000000000 nemesis  scheduled +5.000000s crash n1 keep=0.60
   12300000000 world       12.300000s apply +12.298000s crash n1 keep=0.60
   13000000000 world       13.000000s crash n1 (incarnation 1) keep=0.60
   20000000000 world       20.000000s apply +19.998000s restart n1
`,
			want: []Fault{{Kind: "crash", Target: "n1", Start: s(12.3), End: s(20), Healed: true}},
		},
		{
			name: "overlapping kinds and nodes",
			trace: `
   1000000000 world        1.000000s apply +1.000000s isolate n1
   2000000000 world        2.000000s apply +2.000000s crash n2 keep=0.10
   3000000000 world        3.000000s apply +3.000000s crash n1 keep=0.20
   4000000000 world        4.000000s apply +4.000000s restart n2
   5000000000 world        5.000000s apply +5.000000s rejoin n1
   6000000000 world        6.000000s apply +6.000000s restart n1
`,
			want: []Fault{
				{Kind: "isolate", Target: "n1", Start: s(1), End: s(5), Healed: true},
				{Kind: "crash", Target: "n2", Start: s(2), End: s(4), Healed: true},
				{Kind: "crash", Target: "n1", Start: s(3), End: s(6), Healed: true},
			},
		},
		{
			name: "partition, cut, pause, disk, clock, flaky",
			trace: `
   1000000000 world        1.000000s apply +1.000000s partition [n1] [n2 n3]
   2000000000 world        2.000000s apply +2.000000s heal-partition
   3000000000 world        3.000000s apply +3.000000s cut n1->n2
   3500000000 world        3.500000s apply +3.500000s uncut n1->n2
   4000000000 world        4.000000s apply +4.000000s pause n3
   4100000000 world        4.100000s apply +4.100000s resume n3
   5000000000 world        5.000000s apply +5.000000s disk-faults n2 p=0.10 max=3 flips p=0.01 max=1
   5500000000 world        5.500000s apply +5.500000s disk-heal n2
   6000000000 world        6.000000s apply +6.000000s clock-jump n1 by=-3s
   6200000000 world        6.200000s apply +6.200000s clock-jump n1 by=5s
   6500000000 world        6.500000s apply +6.500000s clock-reset n1
   7000000000 world        7.000000s apply +7.000000s flaky n2 p=0.050
   7200000000 world        7.200000s apply +7.200000s flaky-heal n2
`,
			want: []Fault{
				{Kind: "partition", Target: "[n1] [n2 n3]", Start: s(1), End: s(2), Healed: true},
				{Kind: "cut", Target: "n1->n2", Start: s(3), End: s(3.5), Healed: true},
				{Kind: "pause", Target: "n3", Start: s(4), End: s(4.1), Healed: true},
				{Kind: "disk-faults", Target: "n2", Start: s(5), End: s(5.5), Healed: true},
				{Kind: "clock-jump", Target: "n1", Start: s(6), End: s(6.5), Healed: true},
				{Kind: "flaky", Target: "n2", Start: s(7), End: s(7.2), Healed: true},
			},
		},
		{
			name: "a new partition replaces the split",
			trace: `
   1000000000 world        1.000000s apply +1.000000s partition [n1] [n2 n3]
   2000000000 world        2.000000s apply +2.000000s partition [n1 n2] [n3]
   3000000000 world        3.000000s apply +3.000000s heal-partition
`,
			want: []Fault{
				{Kind: "partition", Target: "[n1] [n2 n3]", Start: s(1), End: s(2)},
				{Kind: "partition", Target: "[n1 n2] [n3]", Start: s(2), End: s(3), Healed: true},
			},
		},
		{
			name: "open faults end at the liveness phase, or the trace's end",
			trace: `
   1000000000 world        1.000000s apply +1.000000s crash n1 keep=0.5
   2000000000 world        2.000000s apply +2.000000s restart n9
   9000000000 world        9.000000s liveness phase: heal everything, restart every node
   9500000000 world        9.500000s apply +9.500000s pause n2
   9900000000 checker  done
`,
			want: []Fault{
				{Kind: "crash", Target: "n1", Start: s(1), End: s(9)},
				{Kind: "pause", Target: "n2", Start: s(9.5), End: s(9.9)},
			},
		},
		{
			name:  "no faults; junk lines",
			trace: "garbage\n\n  12 x\n   5 world 0.1s apply failed: boom\n",
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFaults(strings.NewReader(tt.trace))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d faults %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("fault %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFaultLabel(t *testing.T) {
	if l := (Fault{Kind: "crash", Target: "n1"}).Label(); l != "crash n1" {
		t.Errorf("label %q", l)
	}
	if l := (Fault{Kind: "partition"}).Label(); l != "partition" {
		t.Errorf("label %q", l)
	}
}
