package main

import (
	"fmt"
	"strings"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/internal/invariants"
)

// addBreaches makes each invariant the brokers found broken (the guest is
// built with -tags invariants) an anomaly of the verdict under its own name
// (undurable-read, ...), with its detail as the witness: a breach makes the
// run invalid, whatever the history shows. It returns the summary's lines
// for them.
func addBreaches(v *checker.Verdict, breaches []invariants.Breach) string {
	for _, b := range breaches {
		if v.Counts[b.Name] < 32 {
			v.Anomalies[b.Name] = append(v.Anomalies[b.Name], checker.Witness{Ops: []int64{}, Detail: b.Node + ": " + b.Detail})
		}
		v.Counts[b.Name]++
		v.Valid = false
	}
	var s strings.Builder
	for _, name := range invariants.Names() {
		if ws := v.Anomalies[name]; len(ws) > 0 {
			fmt.Fprintf(&s, "  %s ×%d (invariant), e.g. %s\n", name, v.Counts[name], ws[0].Detail)
		}
	}
	return s.String()
}
