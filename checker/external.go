package checker

import "slices"

// AddFound records a check made outside the history, whose evidence the
// caller gathered elsewhere: the metadata quorum's log (metadata), the
// broker's own invariant checks in the simulator. Each detail is one
// witness. With details it is an anomaly (the verdict becomes Invalid
// unless the configuration allows it); with none the check is listed as
// clean, so the summary says it ran.
func (v *Verdict) AddFound(name string, details []string) {
	res := CheckResult{Name: name, Allowed: slices.Contains(v.Allowed, name)}
	if len(details) == 0 {
		res.Status = StatusClean
		v.Checks = append(v.Checks, res)
		return
	}
	res.Status, res.Count = StatusFound, len(details)
	v.Checks = append(v.Checks, res)
	ws := make([]Witness, 0, min(len(details), 32))
	for _, d := range details[:min(len(details), 32)] {
		ws = append(ws, Witness{Ops: []int64{}, Detail: d})
	}
	v.Anomalies[name], v.Counts[name] = ws, len(details)
	v.Seen = append(v.Seen, name)
	if !res.Allowed {
		v.Outcome = Invalid
	}
}
