package checker

import (
	"strings"
	"testing"
)

func TestAddFound(t *testing.T) {
	v := Check(nil, Opts{})
	if v.Outcome == Invalid {
		t.Fatalf("an empty history is invalid: %+v", v)
	}
	v.AddFound("metadata", nil)
	if v.Outcome == Invalid {
		t.Fatal("a clean external check made the verdict invalid")
	}
	v.AddFound("metadata", []string{"two-leaders: term 3: node 1 and node 2"})
	if v.Outcome != Invalid || v.Counts["metadata"] != 1 || !strings.Contains(v.Summary(), "two-leaders") {
		t.Fatalf("a found external anomaly: outcome %s, summary %q", v.Outcome, v.Summary())
	}
	w := Check(nil, Opts{Allowed: []string{"metadata"}})
	before := w.Outcome
	w.AddFound("metadata", []string{"x"})
	if w.Outcome != before {
		t.Fatalf("an allowed external anomaly changed the outcome from %s to %s", before, w.Outcome)
	}
}
