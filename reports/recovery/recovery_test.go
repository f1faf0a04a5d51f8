package recovery_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/reports/recovery"
)

// A trace in the guest's format: n3 leads partition t/1, crashes at 12s,
// the controller moves t/1 to n1 at 12.9s, n3 restarts at 13s, registers
// again at 13.1s (offline: 1.1s after the crash), is unfenced at 13.2s
// and back in every ISR at 13.4s; a second crash after the liveness phase
// began is not measured.
const trace = `     900000000 metadata 9: topic t id=abc
    1000000000 metadata 10: partition abc/0 replicas=[1 2 3] isr=[1 2 3] leader=1 epoch=0 pepoch=0
    1000000001 metadata 10: partition abc/1 replicas=[3 1 2] isr=[3 1 2] leader=3 epoch=0 pepoch=0
   12000000000 world       12.000000s crash n3 (incarnation 1) keep=0.68
   12900000000 metadata 12: change abc/1 leader=1 isr=[1 2] epoch=1 pepoch=1
   13000000000 world       13.000000s restart n3 (incarnation 2) listening on n3:9092
   13100000000 metadata 13: register broker=3 epoch=13 rack="" PLAINTEXT://n3:9092
   13100000001 metadata 13: change abc/0 isr=[1 2] epoch=0 pepoch=1
   13200000000 metadata 14: unfence broker=3 epoch=13
   13300000000 metadata 15: change abc/0 isr=[1 2 3] epoch=0 pepoch=2
   13400000000 metadata 16: change abc/1 isr=[1 2 3] epoch=1 pepoch=2
   20000000000 world       20.000000s liveness phase: heal everything, restart every node
   20100000000 world       20.100000s crash n1 (incarnation 1) keep=0.95: power loss
`

func TestMeasure(t *testing.T) {
	events, err := recovery.ParseTrace(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	// Acknowledgements on t/0 around the crash, on t/1 before it and
	// after the failover.
	acks := recovery.Acks{
		All: []time.Duration{11 * time.Second, 11500 * time.Millisecond, 11900 * time.Millisecond, 12950 * time.Millisecond, 13500 * time.Millisecond},
		ByPartition: map[string][]time.Duration{
			"t/0": {11900 * time.Millisecond, 12950 * time.Millisecond},
			"t/1": {11 * time.Second, 11500 * time.Millisecond, 13500 * time.Millisecond},
		},
	}
	m := recovery.Measure(events, acks)
	want := map[string][]time.Duration{
		recovery.LeaderFailover: {900 * time.Millisecond},
		recovery.FencedAfter:    {1100 * time.Millisecond},
		recovery.UnfencedAfter:  {200 * time.Millisecond},
		recovery.ISRRejoin:      {400 * time.Millisecond},
		recovery.AckGap:         {1050 * time.Millisecond},
		recovery.LeaderAckGap:   {2 * time.Second}, // t/1's, which n3 led
	}
	for _, name := range recovery.Names() {
		got := m.Samples[name]
		if len(got) != len(want[name]) || (len(got) > 0 && got[0] != want[name][0]) {
			t.Errorf("%s = %v, want %v", name, got, want[name])
		}
	}
	if len(m.Unfinished) != 0 {
		t.Errorf("unfinished %v", m.Unfinished)
	}
}

// A crash whose recoveries have not happened when the safety phase ends
// is counted unfinished, never as a sample: an acknowledgement in the
// liveness phase ends no gap.
func TestUnfinished(t *testing.T) {
	events, err := recovery.ParseTrace(strings.NewReader(`     900000000 metadata 9: topic t id=abc
    1000000001 metadata 10: partition abc/1 replicas=[3] isr=[3] leader=3 epoch=0 pepoch=0
   12000000000 world       12.000000s crash n3 (incarnation 1) keep=0.68
   20000000000 world       20.000000s liveness phase: heal everything, restart every node
`))
	if err != nil {
		t.Fatal(err)
	}
	acks := []time.Duration{time.Second, 21 * time.Second}
	m := recovery.Measure(events, recovery.Acks{All: acks, ByPartition: map[string][]time.Duration{"t/1": acks}})
	if m.Unfinished[recovery.LeaderFailover] != 1 || m.Unfinished[recovery.FencedAfter] != 1 || m.Unfinished[recovery.AckGap] != 1 ||
		m.Unfinished[recovery.LeaderAckGap] != 1 || len(m.Samples) != 0 {
		t.Fatalf("samples %v, unfinished %v", m.Samples, m.Unfinished)
	}
}

func TestPercentile(t *testing.T) {
	s := []time.Duration{5, 1, 4, 2, 3}
	if p := recovery.Percentile(s, 50); p != 3 {
		t.Errorf("p50 = %v", p)
	}
	if p := recovery.Percentile(s, 100); p != 5 {
		t.Errorf("p100 = %v", p)
	}
	if p := recovery.Percentile(nil, 50); p != 0 {
		t.Errorf("p50 of nothing = %v", p)
	}
}
