package vitals

import (
	"fmt"

	"github.com/weir-dev/weir/checker"
)

// alertViolations finds breaches not alerted exactly once. The breaches
// are defined on the complete final read of the input, replayed per
// partition in offset order with doc.go's rules (this file's own reading
// of them, not the processor's code): every heart rate above HRHigh and
// SpO2 below SpO2Low, late or not; every in-order heart rate at least
// Rise above an earlier in-order heart rate of its patient within
// RiseWithin of event time (a reading is late when its event time is
// before its patient's latest in-order reading). Then:
//   - a breach below a barrier the processor answered with no committed
//     alert is missing;
//   - an alert raised twice is a duplicate;
//   - an alert for a reading of the input that is no breach is spurious
//     (an alert for a reading the input does not hold is
//     vitals-unacked-alert's).
func alertViolations(a *analysis) checker.Finding {
	var f checker.Finding
	if u := a.unjudged(Alerts, a.in, a.alertLog); len(u) > 0 {
		f.Unjudged = u
		return f
	}
	expected := map[string]inputReading{}
	for p := range a.cfg.Partitions {
		for id, r := range breaches(a, p) {
			expected[id] = r
		}
	}
	seen := map[string]raised{}
	for _, x := range a.alerts {
		id := x.al.id()
		at := pos(a.cfg.Alerts, x.part, x.at)
		if _, known := a.readings[x.al.Reading]; !known {
			continue
		}
		if prev, twice := seen[id]; twice {
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{pos(a.cfg.Alerts, prev.part, prev.at), at},
				Values:    []string{prev.at.Value, x.at.Value},
				Ops:       uniq(append(a.ops(prev.at), a.ops(x.at)...)),
				Detail:    fmt.Sprintf("patient %s: alert %s raised twice, at %s and %s", x.al.Patient, id, pos(a.cfg.Alerts, prev.part, prev.at), at),
			})
			continue
		}
		seen[id] = x
		if _, ok := expected[id]; !ok {
			r := a.readings[x.al.Reading]
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{at, pos(a.cfg.Topic, r.part, r.at)},
				Values:    []string{x.at.Value, r.at.Value},
				Ops:       uniq(append(a.ops(x.at), a.ops(r.at)...)),
				Detail:    fmt.Sprintf("patient %s: alert %s at %s, but reading %s is no such breach", x.al.Patient, id, at, r.at.Value),
			})
		}
	}
	incomplete := map[int32]bool{}
	for _, id := range sortedKeys(expected) {
		if _, ok := seen[id]; ok {
			continue
		}
		r := expected[id]
		b, answered := a.barrier[r.part]
		switch {
		case !answered:
			if !incomplete[r.part] {
				incomplete[r.part] = true
				f.Unjudged = append(f.Unjudged, checker.Unjudged{Reason: checker.ProcessingIncomplete, Check: Alerts,
					Detail: fmt.Sprintf("no answer to a barrier of %s/%d came out: how far the processor got is unknown", a.cfg.Topic, r.part)})
			}
		case r.at.Offset < b:
			f.Witnesses = append(f.Witnesses, checker.Witness{
				Positions: []checker.Position{pos(a.cfg.Topic, r.part, r.at)},
				Values:    []string{r.at.Value},
				Ops:       uniq(append(a.ops(r.at), a.barrierAt[r.part].Op, a.alertLog.Op)),
				Detail:    fmt.Sprintf("patient %s: no alert %s for reading %s at %s, though the processor answered the barrier at offset %d after it", r.r.Patient, id, r.at.Value, pos(a.cfg.Topic, r.part, r.at), b),
			})
		}
	}
	return f
}

// breaches replays partition p of the input and returns its breaches by
// alert id.
func breaches(a *analysis, p int32) map[string]inputReading {
	type hr struct {
		ms int64
		v  int
	}
	type state struct {
		seen bool
		last int64
		hrs  []hr
	}
	cfg := &a.cfg
	within := cfg.RiseWithin.Milliseconds()
	patients := map[string]*state{}
	out := map[string]inputReading{}
	for _, at := range a.in.Records[p] {
		r, ok := parseReading(at.Value)
		if !ok {
			continue
		}
		in := inputReading{r, p, at}
		if (r.Kind == HeartRate && r.V > cfg.HRHigh) || (r.Kind == SpO2 && r.V < cfg.SpO2Low) {
			rule := RuleHRHigh
			if r.Kind == SpO2 {
				rule = RuleSpO2Low
			}
			out[alert{Rule: rule, Reading: r.ID}.id()] = in
		}
		s := patients[r.Patient]
		if s == nil {
			s = &state{}
			patients[r.Patient] = s
		}
		if s.seen && r.Ms < s.last {
			continue // late: outside the ordered stream
		}
		s.seen, s.last = true, r.Ms
		if r.Kind != HeartRate {
			continue
		}
		for _, q := range s.hrs {
			if q.ms >= r.Ms-within && r.V-q.v >= cfg.Rise {
				out[alert{Rule: RuleHRRise, Reading: r.ID}.id()] = in
				break
			}
		}
		s.hrs = append(s.hrs, hr{r.Ms, r.V})
	}
	return out
}
