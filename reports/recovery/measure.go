package recovery

import (
	"math"
	"slices"
	"sort"
	"strings"
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
	topics                       map[string]string // topic id to name
	// safetyEnd is when the safety phase ended (the run's end when the
	// trace does not say): an acknowledgement after it ends no recovery.
	safetyEnd time.Duration
	open      []pending
	samples   *Measures
}

// Measure computes a run's measures from its trace events and the
// completion times of its acknowledged sends.
func Measure(events []Event, acks Acks) *Measures {
	t := &tracker{
		parts:  map[string]*partitionState{},
		fenced: map[int32]time.Duration{}, unfenced: map[int32]time.Duration{}, registered: map[int32]time.Duration{},
		topics:    map[string]string{},
		safetyEnd: time.Duration(math.MaxInt64),
		samples:   newMeasures(),
	}
	if i := slices.IndexFunc(events, func(e Event) bool { return e.Kind == "safety-end" }); i >= 0 {
		t.safetyEnd = events[i].At
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
	case "topic":
		t.topics[e.Partition] = e.Topic
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
// every partition it led, its fencing, and the acknowledgement gaps, of
// the whole cluster and of every partition it led.
func (t *tracker) crashed(e Event, acks Acks) {
	n := e.Node
	for _, name := range t.sortedPartitions() {
		if t.parts[name].leader != n {
			continue
		}
		t.open = append(t.open, pending{measure: LeaderFailover, since: e.At, done: func(s *tracker) bool {
			l := s.parts[name].leader
			return l >= 0 && l != n
		}})
		if topicID, index, ok := strings.Cut(name, "/"); ok && t.topics[topicID] != "" {
			t.ackGap(LeaderAckGap, e.At, acks.ByPartition[t.topics[topicID]+"/"+index])
		}
	}
	since := e.At
	t.open = append(t.open, pending{measure: FencedAfter, since: since, done: func(s *tracker) bool {
		return s.fenced[n] >= since || s.registered[n] >= since
	}})
	t.ackGap(AckGap, e.At, acks.All)
}

// ackGap samples, for a crash at, the gap in the sorted acknowledgement
// times acks from the last before the crash to the first after; none when
// nothing was acknowledged before it, unfinished when nothing was after,
// within the safety phase.
func (t *tracker) ackGap(measure string, at time.Duration, acks []time.Duration) {
	i := sort.Search(len(acks), func(i int) bool { return acks[i] > at })
	switch {
	case i == 0:
		// No acknowledgement before the crash: no gap to measure.
	case i == len(acks) || acks[i] > t.safetyEnd:
		t.samples.Unfinished[measure]++
	default:
		t.samples.Samples[measure] = append(t.samples.Samples[measure], acks[i]-acks[i-1])
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
