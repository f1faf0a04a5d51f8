package recovery

import (
	"slices"
	"sort"
	"time"
)

// partitionState is what the trace said last about a partition.
type partitionState struct {
	leader   int32
	isr      []int32
	replicas []int32
}

// pending is a recovery under way: since when, and what ends it.
type pending struct {
	measure string
	since   time.Duration
	done    func(s *tracker) bool
}

// tracker replays the events.
type tracker struct {
	parts map[string]*partitionState
	// last fence, unfence and registration of each broker
	fenced, unfenced, registered map[int32]time.Duration
	open                         []pending
	samples                      *Measures
}

// Measure computes a run's measures from its trace events and the sorted
// completion times of its acknowledged sends.
func Measure(events []Event, acks []time.Duration) *Measures {
	t := &tracker{
		parts:  map[string]*partitionState{},
		fenced: map[int32]time.Duration{}, unfenced: map[int32]time.Duration{}, registered: map[int32]time.Duration{},
		samples: newMeasures(),
	}
	for _, e := range events {
		if e.Kind == "safety-end" {
			break
		}
		t.apply(e)
		t.settle(e.At)
		switch e.Kind {
		case "crash":
			t.crashed(e, acks)
		case "restart":
			t.restarted(e)
		}
	}
	for _, p := range t.open {
		t.samples.Unfinished[p.measure]++
	}
	return t.samples
}

func (t *tracker) apply(e Event) {
	switch e.Kind {
	case "fence":
		t.fenced[e.Node] = e.At
	case "unfence":
		t.unfenced[e.Node] = e.At
	case "register":
		t.registered[e.Node] = e.At
	case "partition":
		p := t.parts[e.Partition]
		if p == nil {
			p = &partitionState{leader: -1}
			t.parts[e.Partition] = p
		}
		if e.HasLeader {
			p.leader = e.Leader
		}
		if e.HasISR {
			p.isr = e.ISR
		}
		if e.Replicas != nil {
			p.replicas = e.Replicas
		}
	}
}

// settle ends every recovery that the state now shows done.
func (t *tracker) settle(at time.Duration) {
	kept := t.open[:0]
	for _, p := range t.open {
		if p.done(t) {
			t.samples.Samples[p.measure] = append(t.samples.Samples[p.measure], at-p.since)
		} else {
			kept = append(kept, p)
		}
	}
	t.open = kept
}

// crashed starts the recoveries a crash of e.Node begins: a failover for
// every partition it led, its fencing, and the acknowledgement gap.
func (t *tracker) crashed(e Event, acks []time.Duration) {
	n := e.Node
	for _, name := range t.sortedPartitions() {
		if t.parts[name].leader != n {
			continue
		}
		t.open = append(t.open, pending{measure: LeaderFailover, since: e.At, done: func(s *tracker) bool {
			l := s.parts[name].leader
			return l >= 0 && l != n
		}})
	}
	since := e.At
	t.open = append(t.open, pending{measure: FencedAfter, since: since, done: func(s *tracker) bool {
		return s.fenced[n] >= since || s.registered[n] >= since
	}})
	i := sort.Search(len(acks), func(i int) bool { return acks[i] > e.At })
	switch {
	case i == 0 || len(acks) == 0:
		// No acknowledgement before the crash: no gap to measure.
	case i == len(acks):
		t.samples.Unfinished[AckGap]++
	default:
		t.samples.Samples[AckGap] = append(t.samples.Samples[AckGap], acks[i]-acks[i-1])
	}
}

// restarted starts the recoveries a restart of e.Node begins: its
// unfencing and its return to every ISR of a partition it replicates
// (after that unfencing: until then, an ISR may still name the crashed
// incarnation).
func (t *tracker) restarted(e Event) {
	n, since := e.Node, e.At
	t.open = append(t.open, pending{measure: UnfencedAfter, since: since, done: func(s *tracker) bool { return s.unfenced[n] >= since }})
	t.open = append(t.open, pending{measure: ISRRejoin, since: since, done: func(s *tracker) bool {
		if s.unfenced[n] < since {
			return false
		}
		for _, p := range s.parts {
			if slices.Contains(p.replicas, n) && !slices.Contains(p.isr, n) {
				return false
			}
		}
		return true
	}})
}

func (t *tracker) sortedPartitions() []string {
	names := make([]string, 0, len(t.parts))
	for k := range t.parts {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Percentile returns the p-th percentile (0-100) of samples (nearest
// rank), or 0 for none.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
