package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/internal/invariants"
	"github.com/weir-dev/weir/runfolder"
)

// addBreaches makes each invariant the brokers found broken (the guest is
// built with -tags invariants) an anomaly of the verdict under its own name
// (undurable-read, ...), with its detail as the witness: a breach makes the
// run invalid, whatever the history shows. Each invariant also becomes a
// check of the verdict, clean or found. It returns the summary's lines for
// the breaches.
func addBreaches(v *checker.Verdict, breaches []invariants.Breach) {
	if !invariants.Enabled && len(breaches) == 0 {
		return
	}
	for _, b := range breaches {
		if v.Counts[b.Name] < 32 {
			v.Anomalies[b.Name] = append(v.Anomalies[b.Name], checker.Witness{Ops: []int64{}, Times: []float64{}, Detail: b.Node + ": " + b.Detail})
		}
		if v.Counts[b.Name] == 0 {
			v.Seen = append(v.Seen, b.Name)
		}
		v.Counts[b.Name]++
		v.Outcome = checker.Invalid
	}
	for _, name := range invariants.Names() {
		res := checker.CheckResult{Name: name, Status: checker.StatusClean, Note: "an invariant the brokers check as they run"}
		if n := v.Counts[name]; n > 0 {
			res.Status, res.Count = checker.StatusFound, n
		}
		v.Checks = append(v.Checks, res)
	}
}

// checkNames are the checks behind a world run's verdict: the history
// checkers, then the brokers' invariants when the guest has them.
func checkNames() []string {
	names := checker.Anomalies()
	if invariants.Enabled {
		names = append(names, invariants.Names()...)
	}
	return names
}

// faultSummary says which faults a run applied, for its FAULTS= line:
// each fault (heals left out) with its count, then the triggered crashes
// that never came.
func faultSummary(fs []runfolder.Fault) string {
	counts := map[string]int{}
	var order []string
	dropped := 0
	for _, f := range fs {
		switch {
		case f.Status == runfolder.FaultDropped && f.Op == faults.OpRestart.String() && strings.Contains(f.Detail, "never came"):
			dropped++
		case f.Heals || f.Status != "" || f.Error != "":
		default:
			if counts[f.Op] == 0 {
				order = append(order, f.Op)
			}
			counts[f.Op]++
		}
	}
	if len(order) == 0 && dropped == 0 {
		return "none"
	}
	parts := make([]string, 0, len(order)+1)
	for _, op := range order {
		parts = append(parts, fmt.Sprintf("%s×%d", op, counts[op]))
	}
	if dropped > 0 {
		parts = append(parts, fmt.Sprintf("(%d triggered crash(es) never came)", dropped))
	}
	return strings.Join(parts, " ")
}

// faultsJSONL is faults.jsonl: one runfolder.Fault a line.
func faultsJSONL(fs []runfolder.Fault) []byte {
	var b []byte
	for _, f := range fs {
		j, err := json.Marshal(f)
		if err != nil {
			panic(err) // a Fault always encodes
		}
		b = append(append(b, j...), '\n')
	}
	return b
}
