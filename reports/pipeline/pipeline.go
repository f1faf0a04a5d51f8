package pipeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/hist"
	"github.com/weir-dev/weir/workloads/registry"
)

// Sample is one input record's trip through the pipeline.
type Sample struct {
	At      time.Duration // when its first committed output was acknowledged, virtual time since the run began
	Latency time.Duration // from its send's acknowledgement to At
}

// Measure is one workload's pipeline in one run.
type Measure struct {
	Workload      string
	Input, Output string // topics
	// Definition says, for the page, what a sample measures.
	Definition string
	// Samples by At; Unprocessed counts acknowledged input records of the
	// final read with no committed output.
	Samples     []Sample
	Unprocessed int
	// Acked are the acknowledgement times of the input sends, in order.
	Acked []time.Duration
	// Alerts (vitals only): each alert's delay, at its commit; AlertBound
	// is the bound the checker judges them against (0: none).
	Alerts     []Sample
	AlertBound time.Duration
}

// Histogram returns s's latencies as an HdrHistogram (nanoseconds, three
// significant digits, up to an hour; longer ones are recorded as an hour).
func Histogram(s []Sample) *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, int64(time.Hour), 3)
	for _, x := range s {
		h.RecordValue(min(max(int64(x.Latency), 1), int64(time.Hour)))
	}
	return h
}

// Origin is the history time at which the run began: 0 for a history
// whose times already count from the start (format 2), the simulated
// guest's time origin for an older simulation history, the first op's
// time for a history from a real clock.
func Origin(ops []history.Op) int64 {
	if len(ops) == 0 {
		return 0
	}
	const limit = int64(1e6 * float64(time.Second))
	if ops[0].Time >= 0 && ops[0].Time < limit {
		return 0
	}
	base := runfolder.GuestTimeOrigin().UnixNano()
	if first := ops[0].Time - base; first < 0 || first > limit {
		return ops[0].Time
	}
	return base
}

// Read measures every stream workload the run's parameters (header.json's
// params) name. A run without workload parameters (the simulator's queue)
// has none.
func Read(params json.RawMessage, ops []history.Op) ([]Measure, error) {
	if len(params) == 0 {
		return nil, nil
	}
	rp, err := registry.ReadRunParams(params)
	if err != nil || rp.Workload == "" {
		return nil, nil // not a registry run: nothing to measure
	}
	names := strings.Split(rp.Workload, ",")
	var out []Measure
	for _, name := range registry.Names() {
		if !slices.Contains(names, name) {
			continue
		}
		s, ok, err := shapeOf(name, rp.WorkloadParams[name])
		if err != nil {
			return out, fmt.Errorf("workload %s: %w", name, err)
		}
		if ok {
			out = append(out, measure(s, ops))
		}
	}
	return out, nil
}

// shape is what measure needs to know of a workload.
type shape struct {
	name, input, output, alerts string
	alertBound                  time.Duration
	definition                  string
	isInput                     func(value string) bool
	// inputs are the input positions an output record names (its own
	// partition given); none for a record that is no output (a barrier).
	inputs func(part int32, value string) (int32, []int64)
}

// measure reads the pipeline of s from ops.
func measure(s shape, ops []history.Op) Measure {
	origin := Origin(ops)
	at := func(t int64) time.Duration { return time.Duration(t - origin) }
	m := Measure{Workload: s.name, Input: s.input, Output: s.output, Definition: s.definition, AlertBound: s.alertBound}
	sends := hist.Sends(ops)
	in, out := hist.FinalLog(ops, s.input), hist.FinalLog(ops, s.output)
	// acked: when each input position's send was acknowledged.
	type pos struct {
		p int32
		o int64
	}
	acked := map[pos]int64{}
	byID := map[string]int64{} // vitals: reading id -> ack time
	for _, sd := range sends {
		if sd.Send.Topic == s.input && sd.Acked() && s.isInput(sd.Send.Value) {
			m.Acked = append(m.Acked, at(ops[sd.Op].Time))
		}
	}
	slices.Sort(m.Acked)
	for p, rs := range in.Records {
		for _, e := range rs {
			sd := sends[e.Value]
			if !s.isInput(e.Value) || sd == nil || !sd.Acked() {
				continue
			}
			acked[pos{p, e.Offset}] = ops[sd.Op].Time
			if id, ok := inputID(e.Value); ok {
				byID[id] = ops[sd.Op].Time
			}
		}
	}
	first := map[pos]int64{} // input position -> earliest output ack
	for p, rs := range out.Records {
		for _, e := range rs {
			w := sends[e.Value]
			if w == nil || w.Type != history.OK {
				continue
			}
			ip, offs := s.inputs(p, e.Value)
			for _, o := range offs {
				k := pos{ip, o}
				if t, seen := first[k]; !seen || ops[w.Op].Time < t {
					first[k] = ops[w.Op].Time
				}
			}
		}
	}
	for k, start := range acked {
		end, ok := first[k]
		if !ok {
			m.Unprocessed++
			continue
		}
		m.Samples = append(m.Samples, Sample{At: at(end), Latency: time.Duration(end - start)})
	}
	sortSamples(m.Samples)
	if s.alerts != "" {
		m.Alerts = alertDelays(s, ops, sends, byID, at)
	}
	return m
}

// alertDelays measures each committed alert of the alerts topic: from
// its reading's acknowledgement to its transaction's commit request.
func alertDelays(s shape, ops []history.Op, sends map[string]*hist.Sent, readAck map[string]int64, at func(int64) time.Duration) []Sample {
	log := hist.FinalLog(ops, s.alerts)
	seen := map[string]bool{}
	var out []Sample
	for _, p := range slices.Sorted(mapKeys(log.Records)) {
		for _, e := range log.Records[p] {
			var a struct {
				Rule    string `json:"rule"`
				Reading string `json:"reading"`
			}
			w := sends[e.Value]
			if json.Unmarshal([]byte(e.Value), &a) != nil || a.Rule == "" || w == nil || w.Type != history.OK {
				continue
			}
			start, ok := readAck[a.Reading]
			if !ok || seen[a.Rule+"/"+a.Reading] {
				continue
			}
			seen[a.Rule+"/"+a.Reading] = true
			end := ops[w.Op].Time
			if w.Txn != nil && w.Txn.CommitTime > 0 {
				end = w.Txn.CommitTime
			}
			out = append(out, Sample{At: at(end), Latency: time.Duration(end - start)})
		}
	}
	sortSamples(out)
	return out
}

func sortSamples(s []Sample) {
	slices.SortFunc(s, func(a, b Sample) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Latency, b.Latency))
	})
}

func mapKeys[K cmp.Ordered, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// inputID is the id of a payments command or a vitals reading
// ("cmd|<id>|...", "rd|<id>|...").
func inputID(v string) (string, bool) {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) < 3 {
		return "", false
	}
	return parts[1], true
}
